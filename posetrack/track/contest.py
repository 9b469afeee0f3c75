"""Contested matches weighed by colour (issue 14; beyond the paper).

Algorithm 1 matches poses to tracks by pose similarity alone. When two people cross, one half hidden behind the
other, a pose can be nearly as like the other person's track as its own, and the greedy match then swaps their ids;
re-linking cannot undo that (both tracks stay alive). So where a match is *contested*, a pose with a second track
nearly as similar as its best (at least ``relink_contest_ratio`` of it) or a track with a second pose nearly as
similar, the similarity of every such pair is multiplied by the colour similarity of the pose and the track
(``appearance.histogram_similarity`` of the pose's histograms and the track's running average) raised to
``relink_contest_power``; uncontested pairs keep their similarity, so the colours decide only between look-alike
poses, and histograms are computed only for the poses of contested pairs. Measured on the occlusion scenario through
``posetrack run --poses`` (README, "Re-linking").
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..config.tracker import TrackerConfig
from .appearance import colour_histograms, histogram_similarity
from .relink import STRIDE


def contested(similarity: np.ndarray, threshold: float, ratio: float) -> np.ndarray:
    """``(T, N)`` mask of the matchable pairs (similarity >= ``threshold``) whose pose or track has a second
    matchable pair at least ``ratio`` times as similar as its best."""
    matchable = similarity >= threshold
    s = np.where(matchable, similarity, 0.0)
    near_col = matchable & (s >= ratio * s.max(0, keepdims=True))
    near_row = matchable & (s >= ratio * s.max(1, keepdims=True))
    return matchable & ((near_col.sum(0) >= 2)[None, :] | (near_row.sum(1) >= 2)[:, None])


def weigh_contested(similarity: np.ndarray, track_ids: np.ndarray, appearance: Callable[[int], np.ndarray | None],
                    frame: np.ndarray | None, keypoints: np.ndarray, config: TrackerConfig) -> np.ndarray:
    """``similarity`` (tracks x poses) with each contested pair's entry times its colour similarity to the power
    ``relink_contest_power``; ``appearance(track id)`` gives a track's colours (None: none yet; such tracks, and
    pairs that share no body region, keep their similarity)."""
    c = config
    if frame is None or c.relink_contest_ratio >= 1 or not similarity.size:
        return similarity
    mask = contested(similarity, c.match_threshold, c.relink_contest_ratio)
    if not mask.any():
        return similarity
    ids = np.asarray(track_ids).tolist()
    known = [appearance(t) if row_contested else None for t, row_contested in zip(ids, mask.any(1).tolist())]
    mask &= np.array([k is not None for k in known], bool)[:, None]
    if not mask.any():
        return similarity
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    # Sampled as re-linking samples them (relink.STRIDE), so the two kinds of colours compare like for like.
    hist = colour_histograms(frame, keypoints[cols], min_score=c.joint_threshold, layout=c.layout, stride=STRIDE)
    known_hist = np.stack([known[r] for r in rows.tolist()])
    colour = np.nan_to_num(histogram_similarity(known_hist, hist), nan=1.0).clip(0, 1)
    block = similarity[np.ix_(rows, cols)]
    out = similarity.astype(np.float32, copy=True)
    out[np.ix_(rows, cols)] = np.where(mask[np.ix_(rows, cols)], block * colour ** c.relink_contest_power, block)
    return out
