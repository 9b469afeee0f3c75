"""Multi-person PCKh matching and average precision, as poseval's ``assignGTmulti`` and ``evaluateAP``.

Per frame, for every (prediction, ground-truth person, joint) where both have the joint, the distance is
normalised by the ground-truth head size (0.6 x head-box diagonal) and a joint is correct at ``d <= 0.5``.
People are assigned without scores: each prediction keeps only its best ground truth (highest fraction of that
person's annotated joints it hits, ties to the lower index), then each ground truth takes the best prediction
among those that chose it; a prediction not taken is entirely false positive (it never falls back to its
second choice). AP is VOC "all points" over all frames and sequences, per joint.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .prepare import NUM_JOINTS, EvalFrame

DIST_THRESHOLD = 0.5


@dataclass
class FrameMatch:
    dist: np.ndarray     # (P, G, 15) normalised distance, inf where a side lacks the joint
    labels: np.ndarray   # (P, 15) bool: predicted joint counted as a true positive for AP


def match_frame(fr: EvalFrame) -> FrameMatch:
    p, g = len(fr.pr_xy), len(fr.gt_xy)
    if p == 0 or g == 0:  # poseval's "else" branch: no GT left means every predicted joint is a false positive
        return FrameMatch(np.full((p, g, NUM_JOINTS), np.inf), np.zeros((p, NUM_JOINTS), dtype=bool))
    both = fr.pr_has[:, None, :] & fr.gt_has[None, :, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.linalg.norm(fr.pr_xy[:, None] - fr.gt_xy[None], axis=-1) / fr.head_size[None, :, None]
    dist = np.where(both, d, np.inf)
    match = dist <= DIST_THRESHOLD
    n_gt = fr.gt_has.sum(1)
    pck = match.sum(2).astype(np.float64)
    pck = np.where(n_gt[None, :] > 0, pck / np.maximum(n_gt, 1)[None, :], pck)
    best_gt = pck.argmax(1)
    kept = np.zeros_like(pck)
    rows = np.arange(p)
    kept[rows, best_gt] = pck[rows, best_gt]
    gt_to_pr = kept.argmax(0)
    gt_to_pr[kept.max(0) == 0] = -1
    pr_to_gt = np.full(p, -1)
    taken = gt_to_pr >= 0
    pr_to_gt[gt_to_pr[taken]] = np.flatnonzero(taken)
    assigned = pr_to_gt >= 0
    labels = np.zeros((p, NUM_JOINTS), dtype=bool)
    labels[assigned] = match[rows[assigned], pr_to_gt[assigned]]
    return FrameMatch(dist, labels & fr.pr_has)


def average_precision(scores: np.ndarray, labels: np.ndarray, n_gt: float) -> tuple[float, float, float]:
    """poseval's ``computeRPC`` + ``VOCap`` for one joint: (AP, final precision, final recall), x100.

    With no prediction at all the joint scores 0 (not NaN) as in poseval; with predictions but no annotated
    joint, the recall is 0/0 and the AP NaN, which the total then skips.
    """
    if len(scores) == 0:
        return 0.0, 0.0, 0.0
    # The same (unstable) argsort on the same array order as poseval, so that equal scores rank alike.
    order = np.asarray(scores, dtype=np.float64).argsort()[::-1]
    tp = np.cumsum(np.asarray(labels)[order] == 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp / np.float64(n_gt)
    precision = tp / np.arange(1, len(tp) + 1)
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    with np.errstate(invalid="ignore"):
        ap = np.sum((mrec[i] - mrec[i - 1]) * mpre[i])
    return float(ap * 100), float(precision[-1] * 100), float(recall[-1] * 100)


def joint_aps(scores: np.ndarray, labels: np.ndarray, has: np.ndarray, n_gt: np.ndarray) -> dict:
    """Per-joint AP, precision and recall from stacked ``(N, 15)`` predicted-joint rows (frame order kept)."""
    out = {"ap": np.zeros(NUM_JOINTS), "precision": np.zeros(NUM_JOINTS), "recall": np.zeros(NUM_JOINTS)}
    for j in range(NUM_JOINTS):
        sel = has[:, j]
        out["ap"][j], out["precision"][j], out["recall"][j] = average_precision(scores[sel, j], labels[sel, j],
                                                                                n_gt[j])
    return out
