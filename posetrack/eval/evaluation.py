"""``evaluate(gt_sequences, pred_sequences)``: the PoseTrack numbers (mAP, MOTA, MOTP, precision, recall), and
the identity measures (IDF1, IDP, IDR, id switches) that poseval does not print.

Equal to the official poseval (``python -m poseval.evaluate -e -t``) on the inputs it accepts, quirks included
(see ``prepare``, ``ap`` and ``mot``), and refuses the inputs it would mis-score. The result uses poseval's
table columns: ``{"ap": {"head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "total"}, "mota": {...},
"motp": {"total"}, "precision": {"total"}, "recall": {"total"}}``; a column is the plain mean of its joints,
``total`` the mean of the 15 joints that are not NaN. ``idf1``, ``idp``, ``idr`` and ``num_switches`` (the
per-joint MOTA switch counts) have the same columns, so a person whose id changes once in every joint counts one
switch in ``num_switches.total``.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from ..errors import PosetrackError
from ..formats import prediction_template
from ..layouts import EVAL_GROUPS
from ..types import Sequence
from .ap import joint_aps, match_frame
from .identity import identity_metrics
from .mot import COUNTS, joint_problems, mot_metrics, sequence_counts
from .prepare import NUM_JOINTS, EvalSequence, check_pair, prepare_sequence

from .names import GROUPS


def _by_name(sequences, kind: str) -> dict[str, Sequence]:
    if isinstance(sequences, Sequence):
        sequences = [sequences]
    if isinstance(sequences, Mapping):
        return dict(sequences)
    out = {}
    for seq in sequences:
        if seq.name in out:
            raise PosetrackError(f"two {kind} sequences are named {seq.name!r}; sequence names must be unique")
        out[seq.name] = seq
    return out


def summarise(per_joint: np.ndarray) -> dict:
    """poseval's table row: the 7 column means and the total (mean over the non-NaN joints)."""
    per_joint = np.asarray(per_joint, dtype=np.float64)
    row = {g: float(np.mean(per_joint[list(EVAL_GROUPS[g])])) for g in GROUPS}
    valid = per_joint[~np.isnan(per_joint)]
    row["total"] = float(valid.mean()) if valid.size else float("nan")
    return row


def _total(per_joint: np.ndarray) -> dict:
    return {"total": summarise(per_joint)["total"]}


class _Accumulated:
    """Predicted-joint rows (for AP) and MOT counts of some sequences."""

    def __init__(self):
        self.scores, self.labels, self.has = [], [], []
        self.n_gt = np.zeros(NUM_JOINTS)
        self.counts = np.zeros((len(COUNTS), NUM_JOINTS))

    def result(self) -> dict:
        rows = lambda xs, dt: np.concatenate(xs) if xs else np.zeros((0, NUM_JOINTS), dt)  # noqa: E731
        ap = joint_aps(rows(self.scores, float), rows(self.labels, bool), rows(self.has, bool), self.n_gt)
        mot = mot_metrics(self.counts)
        c = dict(zip(COUNTS, self.counts))
        ids = identity_metrics(c["idtp"], c["idfp"], c["idfn"])
        return {
            "ap": summarise(ap["ap"]), "mota": summarise(mot["mota"]), "motp": _total(mot["motp"]),
            "precision": _total(mot["precision"]), "recall": _total(mot["recall"]),
            "motp_poseval": _total(mot["motp_poseval"]),
            "per_joint": {"ap": ap["ap"].tolist(), "ap_precision": ap["precision"].tolist(),
                          "ap_recall": ap["recall"].tolist(), "mota": mot["mota"].tolist(),
                          "motp": mot["motp"].tolist(), "precision": mot["precision"].tolist(),
                          "recall": mot["recall"].tolist(), "idf1": ids["idf1"].tolist(),
                          "idp": ids["idp"].tolist(), "idr": ids["idr"].tolist(),
                          "num_switches": c["switches"].tolist()},
            "idf1": summarise(ids["idf1"]), "idp": summarise(ids["idp"]), "idr": summarise(ids["idr"]),
            "num_switches": summarise(c["switches"]),
        }


def _score_sequence(seq: EvalSequence, engine: str) -> _Accumulated:
    acc = _Accumulated()
    problems = []
    for fr in seq.frames:
        fm = match_frame(fr)
        acc.scores.append(fr.pr_score)
        acc.labels.append(fm.labels)
        acc.has.append(fr.pr_has)
        acc.n_gt += fr.gt_has.sum(0)
        problems.append(joint_problems(fr, fm))
    # poseval drops the last evaluated frame of every sequence from the MOT metrics (imgidxs[:-1]).
    acc.counts = sequence_counts(problems[:-1], engine)
    return acc


def evaluate(gt_sequences: Iterable[Sequence] | Mapping[str, Sequence],
             pred_sequences: Iterable[Sequence] | Mapping[str, Sequence], *,
             min_joint_score: float | None = None, missing_as_empty: bool = False, per_sequence: bool = False,
             mot_engine: str = "fast", scoreless: Mapping[str, list] | None = None) -> dict:
    """Score predictions against ground truth, sequences paired by name (``Sequence.name``).

    ``min_joint_score`` drops predicted joints scoring below it for the MOT metrics only (poseval counts every
    written joint, so writers usually threshold; this does it at evaluation time). ``missing_as_empty`` scores
    a ground-truth sequence without prediction as if nothing was predicted, instead of refusing it.
    ``per_sequence`` adds ``"sequences": {name: result}``. ``mot_engine`` is ``"fast"`` or ``"motmetrics"``.
    """
    gts, preds = _by_name(gt_sequences, "ground-truth"), _by_name(pred_sequences, "prediction")
    if not gts:
        raise PosetrackError("no ground-truth sequence to evaluate")
    total = _Accumulated()
    sequences = {}
    for name in sorted(gts):
        gt = gts[name]
        pred = preds.get(name)
        if pred is None:
            if not missing_as_empty:
                raise PosetrackError(f"sequence {name}: no prediction; write one file per ground-truth sequence "
                                     "(or pass --missing-as-empty to score it as empty)")
            pred = prediction_template(gt)
        check_pair(gt, pred, f"sequence {name}")
        prepared = prepare_sequence(gt, pred, name, min_joint_score,
                                    scoreless.get(name) if scoreless else None)
        acc = _score_sequence(prepared, mot_engine)
        total.scores += acc.scores
        total.labels += acc.labels
        total.has += acc.has
        total.n_gt += acc.n_gt
        total.counts += acc.counts
        if per_sequence:
            sequences[name] = acc.result()
    result = total.result()
    if per_sequence:
        result["sequences"] = sequences
    return result
