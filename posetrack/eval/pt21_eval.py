"""``evaluate_pt21``: keypoint HOTA (DetA, AssA, LocA, ...) and keypoint mAP as the official PoseTrack21 kit.

Equal to ``scripts/run_posetrack_challenge.py`` (HOTA) and ``scripts/run_pose_estimation.py`` (mAP) of
``anDoer/PoseTrack21`` on every input the kit scores, quirks included (see ``hota``; loading and refusals in
``pt21``). mAP is poseval's algorithm (``ap.match_frame``, ``ap.average_precision``) with the kit's two
differences: the kit's frames and joint existence (``pt21``), and a recall denominator of at least 1, so a joint
predicted but never annotated scores 0 instead of NaN.

The result: ``hota``, ``deta``, ``assa``, ``loca``, ``detre``, ``detpr``, ``assre``, ``asspr`` and ``ap``, each
``{"head", "shoulder", ..., "ankle", "total"}`` in percent. ``total`` is the kit's reported number (its
``Total`` column); a group is the mean of its joints' values (the kit prints per joint: ``per_joint`` keeps them,
in poseval's joint order ``joints``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..formats.common import load_json
from ..formats.posetrack21 import is_posetrack21
from ..layouts import EVAL_GROUPS, POSETRACK15
from . import hota
from .ap import average_precision, match_frame
from .pt21 import empty_prediction, prepare, read_file

METRICS = ("hota", "deta", "assa", "loca", "detre", "detpr", "assre", "asspr")


def load_folder(gt_path, pred_path, missing_as_empty: bool = False) -> list[tuple[str, dict, dict]]:
    """``(name, ground truth, prediction)`` read with ``pt21.read_file`` for two folders or two files."""
    gt_path, pred_path = Path(gt_path), Path(pred_path)
    if not gt_path.exists():
        raise PosetrackError(f"{gt_path}: ground truth not found")
    if gt_path.is_dir():
        gt_files = sorted(gt_path.glob("*.json"))
        if not gt_files:
            raise PosetrackError(f"{gt_path}: no .json ground-truth files in this folder")
        if not pred_path.is_dir():
            raise PosetrackError(f"{pred_path}: expected a folder of per-sequence prediction files, as the ground "
                                 f"truth {gt_path} is a folder")
        names = {g.name for g in gt_files}
        others = sorted(p.name for p in pred_path.glob("*.json") if p.name not in names)
        if others:
            raise PosetrackError(f"{pred_path}: {len(others)} prediction file(s) are not sequences of {gt_path} "
                                 f"(e.g. {others[0]}): files of another split? Keep one folder per split")
        pairs = [(g, pred_path / g.name) for g in gt_files]
    else:
        pairs = [(gt_path, pred_path / gt_path.name if pred_path.is_dir() else pred_path)]
    out = []
    for g, p in pairs:
        gt = read_file(load_json(g), g, is_gt=True)
        if p.is_file():
            pred = read_file(load_json(p), p, is_gt=False)
        elif missing_as_empty:
            pred = empty_prediction(gt)
        else:
            raise PosetrackError(f"{p}: prediction file missing for ground truth {g.name}; write one file per "
                                 "sequence with the same name (or pass --missing-as-empty to score it empty)")
        out.append((g.stem, gt, pred))
    return out


def _group_row(per_joint: np.ndarray, total: float) -> dict:
    row = {g: float(np.mean(per_joint[list(idx)])) for g, idx in EVAL_GROUPS.items()}
    row["total"] = float(total)
    return row


def _report(h: hota.HotaCounts, ap: np.ndarray | None) -> dict:
    s = hota.summary(h)
    out = {k: _group_row(s[k][:15], s[k][15]) for k in METRICS}
    out["per_joint"] = {"joints": list(POSETRACK15.joints), **{k: s[k][:15].tolist() for k in METRICS}}
    if ap is not None:
        out["ap"] = _group_row(ap, ap.mean())
        out["per_joint"]["ap"] = ap.tolist()
    return out


class _ApRows:
    def __init__(self):
        self.scores, self.labels, self.has, self.n_gt = [], [], [], np.zeros(15)

    def add(self, fr, fm) -> None:
        self.scores.append(fr.pr_score)
        self.labels.append(fm.labels)
        self.has.append(fr.pr_has)
        self.n_gt += fr.gt_has.sum(0)

    def aps(self) -> np.ndarray:
        stack = lambda xs, dt: np.concatenate(xs) if xs else np.zeros((0, 15), dt)  # noqa: E731
        scores, labels, has = stack(self.scores, float), stack(self.labels, bool), stack(self.has, bool)
        return np.array([average_precision(scores[has[:, j], j], labels[has[:, j], j], max(self.n_gt[j], 1))[0]
                         for j in range(15)])


def evaluate_pt21(pairs: list[tuple[str, dict, dict]], fix_known_bugs: bool = False,
                  per_sequence: bool = False) -> dict:
    """Score ``(name, ground truth, prediction)`` pairs (``pt21.read_file`` dicts), sequences in name order."""
    if not pairs:
        raise PosetrackError("no ground-truth sequence to evaluate")
    seq_counts, sequences, total_ap = [], {}, _ApRows()
    for name, gt, pred in sorted(pairs, key=lambda p: p[0]):
        seq = prepare(gt, pred, name)
        ap_rows, dists = _ApRows(), []
        for fr in seq.frames:
            fm = match_frame(fr)
            if np.isnan(fm.dist).any():
                raise PosetrackError(f"sequence {name}: a ground-truth head box has size 0 (bbox_head width and "
                                     "height 0) and a prediction on that very point; PCKh is undefined there")
            dists.append(fm.dist.transpose(1, 0, 2))
            ap_rows.add(fr, fm)
            total_ap.add(fr, fm)
        counts = hota.keypoint_sequence(seq.frames, dists, seq.num_gt_ids, seq.num_pr_ids, fix_known_bugs)
        seq_counts.append(counts)
        if per_sequence:
            sequences[name] = _report(counts, ap_rows.aps())
    result = {"benchmark": "posetrack21", "fix_known_bugs": fix_known_bugs,
              **_report(hota.combine(seq_counts), total_ap.aps())}
    if per_sequence:
        result["sequences"] = sequences
    return result


def detect_benchmark(gt_path) -> str:
    """``posetrack21-mot`` for the kit's MOT layout, ``posetrack21`` for PoseTrack21 sequence files (see
    ``formats.posetrack21.is_posetrack21``), ``posetrack18`` (poseval) otherwise."""
    gt_path = Path(gt_path)
    if gt_path.is_dir():
        if (gt_path / "image_info.json").is_file() or any(gt_path.glob("*/image_info.json")):
            return "posetrack21-mot"
        files = sorted(gt_path.glob("*.json"))
        if not files:
            return "posetrack18"
        gt_path = files[0]
    if not gt_path.is_file():
        return "posetrack18"
    return "posetrack21" if is_posetrack21(load_json(gt_path)) else "posetrack18"


_ROWS = (("HOTA", "hota"), ("DetA", "deta"), ("AssA", "assa"), ("LocA", "loca"), ("DetRe", "detre"),
         ("DetPr", "detpr"), ("AssRe", "assre"), ("AssPr", "asspr"))
_HEADER = "      & Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total\\\\"


def _cells(row: dict) -> str:
    return " &".join("{:>5}".format("%1.1f" % row[g]) for g in (*EVAL_GROUPS, "total"))


def format_pt21(result: dict, title: str | None = None) -> str:
    """The table ``posetrack eval --benchmark posetrack21`` prints (cells in percent, one decimal)."""
    head = "Keypoint HOTA (PoseTrack21 kit" + (", kit issue 10 fixed: --fix-known-bugs" if
                                              result.get("fix_known_bugs") else "") + "):"
    lines = [title] if title else []
    lines += [head, _HEADER] + [f"{label:<6}&{_cells(result[key])} \\\\" for label, key in _ROWS]
    if "ap" in result:
        lines += ["Average Precision (AP) metric:", _HEADER, f"{'AP':<6}&{_cells(result['ap'])} \\\\"]
    return "\n".join(lines)


def run_pt21(benchmark: str, gt, pred, missing_as_empty: bool = False, per_sequence: bool = False,
             fix_known_bugs: bool = False, use_ignore_regions: bool = False) -> tuple[str, dict]:
    """What ``posetrack eval --benchmark posetrack21 | posetrack21-mot`` prints, and its ``--json`` result."""
    if benchmark == "posetrack21-mot":
        from .box_mot import evaluate_box_mot, format_box, load_mot

        if fix_known_bugs:
            raise PosetrackError("--fix-known-bugs applies to the keypoint benchmark (posetrack21) only")
        result = evaluate_box_mot(load_mot(gt, pred, missing_as_empty), use_ignore_regions, per_sequence)
        return format_box(result), result
    if use_ignore_regions:
        raise PosetrackError("--use-ignore-regions applies to posetrack21-mot (box MOTA/IDF1) only; keypoint "
                             "HOTA and mAP always use the ignore regions")
    result = evaluate_pt21(load_folder(gt, pred, missing_as_empty), fix_known_bugs, per_sequence)
    lines = [format_pt21(r, f"Sequence {name}") + "\n" for name, r in result.get("sequences", {}).items()]
    n = len(result.get("sequences", {})) or None
    lines.append(format_pt21(result, f"Total ({n} sequences)" if n else None))
    return "\n".join(lines), result
