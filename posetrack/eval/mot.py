"""Per-joint CLEAR-MOT, as poseval's ``evaluateTracking``: one accumulator per joint and sequence.

For each frame and joint the objects are the ground-truth people having that joint, the hypotheses the predicted
people having it (ids = track ids) and the distance is the PCKh distance where it is <= 0.5, NaN (not pairable)
elsewhere. Two engines give the same events:

* ``"motmetrics"`` feeds ``motmetrics.MOTAccumulator`` exactly as poseval does;
* ``"fast"`` (default) replays motmetrics 1.4's ``MOTAccumulator.update`` without building its pandas event
  table: keep the previous correspondences that are still pairable, solve the rest with the same
  ``motmetrics.lap.linear_sum_assignment`` on the same matrix, and call a match a SWITCH when the object was last
  matched to another hypothesis. ``tests/test_eval.py::test_fast_mot_engine_equals_motmetrics`` checks the two
  agree event count for event count.

Identity measures (IDF1, IDP, IDR, see ``identity``) come from the same problems: both engines count, per
(object id, hypothesis id) pair, the frames where it was pairable; ``"motmetrics"`` asks motmetrics' own
``idtp``/``idfp``/``idfn`` of the accumulator.

MOTP: poseval sums ``acc.events['D']``, which with motmetrics >= 1.2 also holds the RAW rows (every finite
candidate pair) and the TRANSFER/ASCEND/MIGRATE rows, so its printed MOTP is too low. We report the CLEAR-MOT
MOTP (distances of MATCH and SWITCH events only) as ``motp`` and poseval's figure as ``motp_poseval``.
"""
from __future__ import annotations

import numpy as np
from motmetrics.lap import linear_sum_assignment

from .ap import DIST_THRESHOLD, FrameMatch
from .identity import ID_COUNTS, PairCounts
from .prepare import NUM_JOINTS, EvalFrame

CLEAR_COUNTS = ("misses", "switches", "false_positives", "objects", "detections", "sum_d", "sum_d_poseval")
COUNTS = CLEAR_COUNTS + ID_COUNTS


def joint_problems(fr: EvalFrame, fm: FrameMatch) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(object ids, hypothesis ids, distances)`` per joint for one frame, as poseval builds ``motAll``."""
    if fr.mot_fake:
        # poseval feeds one fake object (id 0) and one fake hypothesis (id 0), never pairable, when the frame
        # has no GT or no prediction left: 1 miss + 1 false positive per joint, whatever the real numbers.
        fake = (np.zeros(1, np.int64), np.zeros(1, np.int64), np.full((1, 1), np.nan))
        return [fake] * NUM_JOINTS
    d = np.where(fm.dist <= DIST_THRESHOLD, fm.dist, np.nan).transpose(2, 1, 0)  # (15, G, P)
    gt_has, pr_has = fr.gt_has.T, fr.pr_has_mot.T
    return [(fr.gt_ids[gt_has[j]], fr.pr_ids[pr_has[j]], d[j][gt_has[j]][:, pr_has[j]]) for j in range(NUM_JOINTS)]


class ClearMot:
    """Replays ``motmetrics.MOTAccumulator.update`` (motmetrics 1.4, ``max_switch_time=inf``) for one joint of
    one sequence, keeping only the counts poseval reads."""

    def __init__(self):
        self.m = {}            # object id -> hypothesis id of its last match
        self.res_m = {}        # hypothesis id -> object id of its last match in step 2
        self.hyp_seen = set()  # hypotheses matched at least once (motmetrics' hypHistory)
        self.obj_seen = set()  # objects matched at least once (motmetrics' last_match)
        self.counts = dict.fromkeys(CLEAR_COUNTS, 0.0)
        self.ids = PairCounts()  # for the identity measures

    def update(self, oids: np.ndarray, hids: np.ndarray, dists: np.ndarray) -> None:
        c = self.counts
        olist, hlist = oids.tolist(), hids.tolist()
        no, nh = len(olist), len(hlist)
        c["objects"] += no
        finite = np.isfinite(dists)
        pairable = bool(no and nh and finite.any())
        self.matched_h = np.zeros(nh, dtype=bool)  # which hypotheses of this frame were matched (box MOTA reads it)
        # Plain Python on these few-element rows is faster than numpy.
        rows = dists.tolist() if pairable else None
        self.ids.add(olist, hlist, rows)
        if not pairable:  # every object missed, every hypothesis a false positive
            c["misses"] += no
            c["false_positives"] += nh
            return
        c["sum_d_poseval"] += float(dists[finite].sum())  # the RAW events
        # 1. Carry forward correspondences that are still pairable, in object order. Hypothesis ids are unique
        # within a frame (checked on loading), so motmetrics' "first unmatched hypothesis with that id" is the one
        # position of that id.
        position = {h: j for j, h in enumerate(hlist)}
        matched_o, matched_h = [False] * no, [False] * nh
        for i, o in enumerate(olist):
            h = self.m.get(o)
            j = position.get(h)
            if j is not None and not matched_h[j] and rows[i][j] == rows[i][j]:  # d == d: not NaN
                matched_o[i] = matched_h[j] = True
                self.hyp_seen.add(h)
                self.obj_seen.add(o)
                c["detections"] += 1
                c["sum_d"] += rows[i][j]
                c["sum_d_poseval"] += rows[i][j]
        n_matched = sum(matched_o)
        self.matched_h = np.array(matched_h)
        if n_matched < min(no, nh):
            n_matched += self._assign_rest(oids, hids, dists, np.array(matched_o), self.matched_h)
        c["misses"] += no - n_matched
        c["false_positives"] += nh - n_matched

    def _assign_rest(self, oids, hids, dists, matched_o, matched_h) -> int:
        """2. Minimum-distance assignment of the rest, on the very matrix motmetrics would solve."""
        c = self.counts
        dists = dists.copy()
        dists[matched_o, :] = np.nan
        dists[:, matched_h] = np.nan
        newly = matched_h.copy()
        n = 0
        if np.isfinite(dists).any():
            for i, j in zip(*linear_sum_assignment(dists)):
                d = dists[i, j]
                if not np.isfinite(d):
                    continue
                o, h = int(oids[i]), int(hids[j])
                if o in self.m and self.m[o] != h:
                    c["switches"] += 1
                    if h not in self.hyp_seen:  # motmetrics adds an ASCEND row
                        c["sum_d_poseval"] += d
                if h in self.res_m and self.res_m[h] != o:  # a TRANSFER row (and a MIGRATE row for a new object)
                    c["sum_d_poseval"] += d * (1 if o in self.obj_seen else 2)
                self.hyp_seen.add(h)
                self.obj_seen.add(o)
                c["detections"] += 1
                c["sum_d"] += d
                c["sum_d_poseval"] += d
                self.m[o] = h
                self.res_m[h] = o
                newly[j] = True
                n += 1
        matched_h[:] = newly
        return n

    def result(self) -> dict:
        """The CLEAR-MOT counts and the identity counts (``COUNTS``) of the frames seen so far."""
        return {**self.counts, **self.ids.counts(self.counts["objects"])}


def motmetrics_accumulator(problems):
    """The ``motmetrics.MOTAccumulator`` poseval builds from one joint's ``(oids, hids, dists)`` per frame."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for oids, hids, dists in problems:
        acc.update(oids, hids, dists)
    return acc


def _motmetrics_counts(problems) -> dict:
    import motmetrics as mm

    acc = motmetrics_accumulator(problems)
    mid = mm.metrics.create().compute(acc, metrics=["num_misses", "num_switches", "num_false_positives",
                                                    "num_objects", "num_detections", *ID_COUNTS],
                                      return_dataframe=False, name="acc")
    ev = acc.events
    return {"misses": mid["num_misses"], "switches": mid["num_switches"],
            "false_positives": mid["num_false_positives"], "objects": mid["num_objects"],
            "detections": mid["num_detections"],
            "sum_d": float(ev.loc[ev.Type.isin(["MATCH", "SWITCH"]), "D"].sum()),
            "sum_d_poseval": float(ev["D"].sum()), **{k: float(mid[k]) for k in ID_COUNTS}}


def sequence_counts(problems_per_frame: list[list[tuple]], engine: str = "fast") -> np.ndarray:
    """``(len(COUNTS), 15)`` event counts of one sequence. poseval skips the last frame of every sequence
    (``imgidxs[:-1]`` in ``evaluateTracking.computeMetrics``); the caller passes the frames it keeps."""
    out = np.zeros((len(COUNTS), NUM_JOINTS))
    for j in range(NUM_JOINTS):
        per_joint = [frame[j] for frame in problems_per_frame]
        if engine == "motmetrics":
            counts = _motmetrics_counts(per_joint) if per_joint else dict.fromkeys(COUNTS, 0.0)
        elif engine == "fast":
            acc = ClearMot()
            for oids, hids, dists in per_joint:
                acc.update(oids, hids, dists)
            counts = acc.result()
        else:
            raise ValueError(f"unknown MOT engine {engine!r}")
        out[:, j] = [counts[k] for k in COUNTS]
    return out


def mot_metrics(counts: np.ndarray) -> dict:
    """poseval's per-joint MOTA / MOTP / precision / recall (x100) from summed ``(len(COUNTS), 15)`` counts."""
    c = dict(zip(COUNTS, counts))
    with np.errstate(divide="ignore", invalid="ignore"):
        objects = np.where(c["objects"] > 0, c["objects"], np.nan)
        det, fp = c["detections"], c["false_positives"]
        mota = 100 * (1 - (c["misses"] + c["switches"] + fp) / objects)
        motp = np.where(det > 0, 100 * (1 - c["sum_d"] / np.where(det > 0, det, 1)), np.nan)
        # poseval prints 0 where nothing was detected, and sums every 'D' row (see module docstring).
        motp_poseval = np.where(det > 0, 100 * (1 - c["sum_d_poseval"] / np.where(det > 0, det, 1)), 0.0)
        pre = 100 * det / np.where(det + fp > 0, det + fp, np.nan)
        rec = 100 * det / objects
    return {"mota": mota, "motp": motp, "motp_poseval": motp_poseval, "precision": pre, "recall": rec}
