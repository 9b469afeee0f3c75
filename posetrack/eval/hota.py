"""HOTA (Luiten et al., IJCV 2020) as the PoseTrack21 kit computes it: per keypoint, and per box.

Both follow TrackEval's ``metrics/hota.py``: for each of the 19 thresholds ``alpha = 0.05, 0.10, ..., 0.95``
a matched pair is a true positive when its similarity is ``>= alpha``; ``DetA = TP / (TP + FN + FP)``;
``AssA`` averages, over the true positives, the Jaccard index of the two ids' whole tracks
(``M / (gt_count + pr_count - M)``, ``M`` the pair's matches); ``LocA`` is the mean similarity of the true
positives; ``HOTA = sqrt(DetA * AssA)``; the reported number is the mean over the alphas.

Keypoint HOTA (kit ``metrics/hota_pose.py``, ``HOTAeypoints``), with the kit's quirks kept because published
numbers carry them:

* each joint is its own detection problem: per labeled frame and joint, one Hungarian solve on the plain
  similarity ``max(0, 1 - d / 0.5001)`` (``d`` the head-normalised distance), not on TrackEval's
  alignment-weighted score, so track ids never steer the matching (quirk 3), and the similarity is 0 from
  PCKh 0.5 on, so even alpha = 0.05 asks for ``d <= 0.475`` (kit issue 11);
* a labeled frame with ground truth but no prediction adds the **whole sequence's** ground-truth joint count to
  FN (kit issue 10; ``fix_known_bugs`` adds the frame's own count);
* ``LocA`` is 1 for a joint or alpha without true positives (``1e-10 / 1e-10``);
* a sequence's ``total`` column is the mean over the 15 joints of each ratio and the sum of the counts; the data
  set total sums the counts, weights each sequence's joint-mean ``AssA`` by its TP count, and recomputes
  ``DetA`` from the pooled counts, so the total HOTA is not the mean of the per-joint HOTAs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

ALPHAS = np.arange(0.05, 0.99, 0.05)  # TrackEval's array_labels: 19 thresholds
EPS = np.finfo("float").eps
PCKH_SLOPE = -1 / 0.5001  # the kit's distance2sim: similarity 0 from d = 0.5001 head sizes on


@dataclass
class HotaCounts:
    """Per alpha (rows) and column (joints, or a single box column): the counts and the association terms."""

    tp: np.ndarray
    fn: np.ndarray
    fp: np.ndarray
    loca: np.ndarray
    assa: np.ndarray
    assre: np.ndarray
    asspr: np.ndarray

    def fields(self) -> dict[str, np.ndarray]:
        """Every reported ratio, per alpha and column (the kit's ``_compute_final_fields``)."""
        deta = self.tp / np.maximum(1, self.tp + self.fn + self.fp)
        return {"hota": np.sqrt(deta * self.assa), "deta": deta, "assa": self.assa, "loca": self.loca,
                "detre": self.tp / np.maximum(1, self.tp + self.fn),
                "detpr": self.tp / np.maximum(1, self.tp + self.fp), "assre": self.assre, "asspr": self.asspr}


def finish(tp, fn, fp, loc_sum, matches, gt_count, pr_count) -> HotaCounts:
    """Association terms from ``matches`` ``(A, G, P, C)`` and the ids' ``(G, C)`` / ``(P, C)`` counts."""
    m = matches
    gt_c, pr_c = gt_count[None, :, None, :], pr_count[None, None, :, :]
    tp_ = np.maximum(1, tp)
    assa = (m * (m / np.maximum(1, gt_c + pr_c - m))).sum((1, 2)) / tp_
    assre = (m * (m / np.maximum(1, gt_c))).sum((1, 2)) / tp_
    asspr = (m * (m / np.maximum(1, pr_c))).sum((1, 2)) / tp_
    loca = np.maximum(1e-10, loc_sum) / np.maximum(1e-10, tp)
    return HotaCounts(tp, fn, fp, loca, assa, assre, asspr)


def combine(sequences: list[HotaCounts]) -> HotaCounts:
    """The data set total: counts summed, AssA/AssRe/AssPr and LocA weighted by each sequence's TP count."""
    tp = sum(s.tp for s in sequences)
    weighted = lambda name: sum(getattr(s, name) * s.tp for s in sequences)  # noqa: E731
    return HotaCounts(tp, sum(s.fn for s in sequences), sum(s.fp for s in sequences),
                      np.maximum(1e-10, weighted("loca")) / np.maximum(1e-10, tp),
                      weighted("assa") / np.maximum(1.0, tp), weighted("assre") / np.maximum(1.0, tp),
                      weighted("asspr") / np.maximum(1.0, tp))


def with_total(h: HotaCounts) -> HotaCounts:
    """Append the kit's per-sequence ``total`` column: ratios averaged over the joints, counts summed."""
    def mean(x):
        return np.append(x, x.mean(1, keepdims=True), axis=1)

    def total(x):
        return np.append(x, x.sum(1, keepdims=True), axis=1)

    return HotaCounts(total(h.tp), total(h.fn), total(h.fp), mean(h.loca), mean(h.assa), mean(h.assre),
                      mean(h.asspr))


def keypoint_similarity(dist: np.ndarray) -> np.ndarray:
    """The kit's ``distance2sim``: ``max(0, 1 - d / 0.5001)``, 0 where a side lacks the joint (``d = inf``)."""
    return np.maximum(PCKH_SLOPE * dist + 1, 0)


def keypoint_sequence(frames, dists, num_gt_ids: int, num_pr_ids: int, fix_known_bugs: bool = False) -> HotaCounts:
    """Keypoint HOTA counts of one sequence, ``(19, 16)`` with the total column.

    ``frames`` are ``EvalFrame``\\ s (ids relabelled 0..n-1), ``dists[i]`` the ``(G, P, J)`` head-normalised
    distances of frame i (inf where a side lacks the joint).
    """
    a, j_count = len(ALPHAS), frames[0].gt_has.shape[1] if frames else 15
    tp, fn, fp, loc = (np.zeros((a, j_count)) for _ in range(4))
    matches = np.zeros((a, num_gt_ids, num_pr_ids, j_count))
    gt_count, pr_count = np.zeros((num_gt_ids, j_count)), np.zeros((num_pr_ids, j_count))
    for f in frames:
        gt_count[f.gt_ids] += f.gt_has
        pr_count[f.pr_ids] += f.pr_has
    seq_gt_joints, seq_pr_joints = gt_count.sum(0), pr_count.sum(0)
    if not any(len(f.pr_ids) for f in frames):  # the kit returns early: every ground-truth joint missed
        fn += seq_gt_joints
        return with_total(finish(tp, fn, fp, loc, matches, gt_count, pr_count))
    for f, dist in zip(frames, dists):
        if len(f.gt_ids) == 0:  # refused on loading (the kit crashes earlier); kept as the kit's branch
            fp += f.pr_has.sum(0) if fix_known_bugs else seq_pr_joints
            continue
        if len(f.pr_ids) == 0:
            fn += f.gt_has.sum(0) if fix_known_bugs else seq_gt_joints
            continue
        sim = keypoint_similarity(dist)
        # A joint whose positive similarities share no row or column is solved without the Hungarian step:
        # every optimal assignment takes all those pairs (zero pairs are never true positives). Only joints
        # with competing pairs go through the solver, on the very matrix the kit solves, so ties break alike.
        pos = sim > 0
        simple = (pos.sum(0) <= 1).all(0) & (pos.sum(1) <= 1).all(0)
        gi, pi, ji = np.nonzero(pos & simple[None, None, :])
        pairs = [(gi, pi, ji)]
        for j in np.flatnonzero(~simple):
            rows, cols = linear_sum_assignment(-sim[:, :, j])
            pairs.append((rows, cols, np.full(len(rows), j)))
        gi, pi, ji = (np.concatenate(x) for x in zip(*pairs))
        value = sim[gi, pi, ji]
        ok = value[None, :] >= ALPHAS[:, None] - EPS
        k = np.zeros((a, j_count))
        np.add.at(k, (slice(None), ji), ok)
        np.add.at(loc, (slice(None), ji), ok * value)
        tp += k
        fn += f.gt_has.sum(0) - k
        fp += f.pr_has.sum(0) - k
        ai, mi = np.nonzero(ok)
        matches[ai, f.gt_ids[gi[mi]], f.pr_ids[pi[mi]], ji[mi]] += 1
    return with_total(finish(tp, fn, fp, loc, matches, gt_count, pr_count))


def box_sequence(gt_ids: list[np.ndarray], pr_ids: list[np.ndarray], sims: list[np.ndarray],
                 num_gt_ids: int, num_pr_ids: int) -> HotaCounts:
    """Box HOTA counts of one sequence, ``(19, 1)``: TrackEval's HOTA, whose Hungarian solve maximises the
    similarity weighted by the ids' global alignment score."""
    a = len(ALPHAS)
    tp, fn, fp, loc = (np.zeros((a, 1)) for _ in range(4))
    matches = np.zeros((a, num_gt_ids, num_pr_ids, 1))
    n_gt, n_pr = sum(len(g) for g in gt_ids), sum(len(p) for p in pr_ids)
    if n_pr == 0 or n_gt == 0:  # TrackEval's early returns (LocA 1, as without true positives)
        fn[:], fp[:] = (n_gt, 0) if n_pr == 0 else (0, n_pr)
        return finish(tp, fn, fp, loc, matches, np.zeros((num_gt_ids, 1)), np.zeros((num_pr_ids, 1)))
    potential = np.zeros((num_gt_ids, num_pr_ids))
    gt_count, pr_count = np.zeros((num_gt_ids, 1)), np.zeros((1, num_pr_ids))
    for g, p, s in zip(gt_ids, pr_ids, sims):
        denom = s.sum(0)[None, :] + s.sum(1)[:, None] - s
        sim_iou = np.zeros_like(s)
        mask = denom > 0 + EPS
        sim_iou[mask] = s[mask] / denom[mask]
        potential[g[:, None], p[None, :]] += sim_iou
        gt_count[g] += 1
        pr_count[0, p] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        alignment = potential / (gt_count + pr_count - potential)
    for g, p, s in zip(gt_ids, pr_ids, sims):
        if len(g) == 0 or len(p) == 0:
            fp += len(p)
            fn += len(g)
            continue
        rows, cols = linear_sum_assignment(-(alignment[g[:, None], p[None, :]] * s))
        value = s[rows, cols]
        ok = value[None, :] >= ALPHAS[:, None] - EPS
        k = ok.sum(1)[:, None]
        tp += k
        fn += len(g) - k
        fp += len(p) - k
        loc[:, 0] += (ok * value).sum(1)
        ai, mi = np.nonzero(ok)
        matches[ai, g[rows[mi]], p[cols[mi]], 0] += 1
    return finish(tp, fn, fp, loc, matches, gt_count, pr_count.T)


def summary(h: HotaCounts) -> dict[str, np.ndarray]:
    """Each field averaged over the alphas, x100 (what the kit prints), per column."""
    return {k: 100 * v.mean(0) for k, v in h.fields().items()}
