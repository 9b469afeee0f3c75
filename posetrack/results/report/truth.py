"""With ground truth: which predicted person is which real person, which flags mark real errors, and how well
the flags find the real id switches.

Predicted and ground-truth people of a frame are paired by the Hungarian method on their mean joint distance
(over the joints both have, at least 3) divided by the ground-truth person's height; pairs farther than
``MATCH_DISTANCE`` heights stay unpaired. A *real id switch* is a ground-truth person whose predicted id changes
from one paired frame to the next one (across unpaired frames too): the tracker lost them or gave their id to
someone else. A ``switch`` flag (A ends, B starts) is real when ground truth has such a change from A to B.
The other kinds are real when the ids involved are unpaired there (a false person), or the person they are paired
with is also covered by another id (``short``: a fragment), or a jumping joint is off by more than
``MATCH_DISTANCE`` heights from the truth in one of the two frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..people import People
from .flags import Flag, heights

MATCH_DISTANCE = 0.25


@dataclass
class Truth:
    gt_of: np.ndarray        # (P,) ground-truth track id each predicted row is paired with, -1 if none
    error: np.ndarray        # (P,) mean joint distance to it, in ground-truth heights (inf if none)
    switches: list[tuple[int, int, int, int]]  # (gt id, id before, id after, frame of the change)


def pair_people(pred: People, gt: People) -> Truth:
    gt_of = np.full(len(pred), -1, np.int64)
    error = np.full(len(pred), np.inf)
    gt_h = heights(gt)
    frames = np.unique(pred.frame)
    for t in frames:
        p = np.flatnonzero(pred.frame == t)
        g = np.flatnonzero(gt.frame == t)
        if not len(p) or not len(g):
            continue
        both = pred.present[p][:, None] & gt.present[g][None]
        d = np.linalg.norm(pred.keypoints[p][:, None, :, :2] - gt.keypoints[g][None, :, :, :2], axis=-1)
        shared = both.sum(-1)
        cost = np.where(shared >= 3, (d * both).sum(-1) / np.maximum(shared, 1) / gt_h[g][None], np.inf)
        finite = np.where(np.isfinite(cost), cost, 1e6)
        for i, j in zip(*linear_sum_assignment(finite)):
            if cost[i, j] <= MATCH_DISTANCE:
                gt_of[p[i]] = gt.track[g[j]]
                error[p[i]] = cost[i, j]
    switches = []
    paired = np.flatnonzero(gt_of >= 0)
    order = paired[np.lexsort((pred.frame[paired], gt_of[paired]))]
    for a, b in zip(order[:-1], order[1:]):
        if gt_of[a] == gt_of[b] and pred.track[a] != pred.track[b]:
            switches.append((int(gt_of[a]), int(pred.track[a]), int(pred.track[b]), int(pred.frame[b])))
    return Truth(gt_of, error, switches)


CROSS_WINDOW = 10  # frames around a crossing in which a real switch counts as flagged by it


def switch_found(flag: Flag, switch: tuple) -> bool:
    _, a, b, frame = switch
    if "cross" in flag.detail:
        return bool({a, b} & set(flag.tracks)) and \
            flag.frames[0] - CROSS_WINDOW <= frame <= flag.frames[-1] + CROSS_WINDOW
    return (flag.tracks[0], flag.tracks[1]) == (a, b)


def mark_flags(flags: list[Flag], pred: People, truth: Truth) -> None:
    """Set ``flag.real`` on every flag."""
    covered = {}  # gt id -> predicted ids paired with it
    for track, g in zip(pred.track.tolist(), truth.gt_of.tolist()):
        if g >= 0:
            covered.setdefault(g, set()).add(track)
    for flag in flags:
        rows = np.asarray(flag.rows, np.int64)
        if flag.kind == "switch":
            flag.real = any(switch_found(flag, s) for s in truth.switches)
        elif flag.kind == "short":
            rows = np.flatnonzero(pred.track == flag.tracks[0])
            gts = truth.gt_of[rows]
            flag.real = bool((gts < 0).mean() > 0.5 or any(len(covered.get(g, ())) > 1 for g in gts[gts >= 0]))
        elif flag.kind == "jump":
            g = truth.gt_of[rows]
            flag.real = bool((g < 0).any() or g[0] != g[1] or (truth.error[rows] > MATCH_DISTANCE).any())
        else:  # duplicate: only one of the two can be the person
            flag.real = bool((truth.gt_of[rows] < 0).any())


def switch_scores(flags: list[Flag], truth: Truth) -> dict:
    """Precision and recall of the ``switch`` flags against the real id switches."""
    flagged = [f for f in flags if f.kind == "switch"]
    found = sum(any(switch_found(f, s) for f in flagged) for s in truth.switches)
    return {"flagged": len(flagged), "real_flags": sum(bool(f.real) for f in flagged),
            "switches": len(truth.switches), "found": found,
            "precision": sum(bool(f.real) for f in flagged) / len(flagged) if flagged else float("nan"),
            "recall": found / len(truth.switches) if truth.switches else float("nan")}


def idf1(pred: People, truth: Truth, gt: People) -> float:
    """IDF1 (Ristani et al. 2016) of the predicted ids against ground truth, people paired as above
    (motmetrics' ``idf1`` on the same pairing distances)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for t in range(int(max(pred.frame.max(initial=-1), gt.frame.max(initial=-1))) + 1):
        p = np.flatnonzero(pred.frame == t)
        g = np.flatnonzero(gt.frame == t)
        d = np.full((len(g), len(p)), np.nan)
        for j, row in enumerate(p):
            if truth.gt_of[row] >= 0:
                d[np.flatnonzero(gt.track[g] == truth.gt_of[row]), j] = truth.error[row]
        acc.update(gt.track[g].tolist(), pred.track[p].tolist(), d)
    summary = mm.metrics.create().compute(acc, metrics=["idf1"], return_dataframe=False, name="acc")
    return float(summary["idf1"]) * 100
