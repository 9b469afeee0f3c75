"""``fill_gaps``: joints a track lost for a few frames, filled in by linear interpolation and marked.

Per track and joint: where the joint is seen in frames ``a`` and ``b`` and missing in between, with
``b - a - 1 <= max_gap``, the frames in between get the straight line from ``a`` to ``b`` (x, y) and the lower of
the two scores. A frame where the whole track is missing gets a new person carrying the filled-in joints, a box
interpolated between the track's boxes and the lower person score. Every filled-in joint is marked in
``Frame.interpolated``, which the PoseTrack writers save as an extra per-person key and the CSV export as a
column. Gaps at the start or end of a track are not extrapolated.
"""
from __future__ import annotations

import numpy as np

from ..types import Sequence
from .people import People


def fill_gaps(seq: Sequence, max_gap: int) -> Sequence:
    """A copy of ``seq`` with gaps of at most ``max_gap`` frames filled in per track and joint (0: unchanged)."""
    if max_gap <= 0:
        return seq
    people = People.of(seq)
    present = people.present
    k = people.keypoints.shape[1]
    added, fills = [], []  # new people; (target row, joint, row before, row after) of every filled joint
    next_row = len(people)
    for rows in people.tracks():
        frames = people.frame[rows]
        span = frames[-1] - frames[0] + 1
        if span == len(rows) and present[rows].all():
            continue  # seen in every frame with every joint it has: nothing to fill
        slot = np.full(span, -1, np.int64)  # position in the track's span -> row of the track there
        slot[frames - frames[0]] = rows
        seen = np.zeros((span, k), bool)
        seen[frames - frames[0]] = present[rows]
        fill, ends = _fillable(seen, max_gap)
        if not fill.any():
            continue
        new = np.flatnonzero(fill.any(1) & (slot < 0))  # frames where the whole track is missing
        if new.size:
            t = new + frames[0]
            lo, hi = rows[np.searchsorted(frames, t) - 1], rows[np.searchsorted(frames, t)]
            w = ((t - people.frame[lo]) / (people.frame[hi] - people.frame[lo]))[:, None]
            added.append(People(
                frame=t, row=np.full(len(t), -1, np.int64), track=people.track[lo],
                keypoints=np.zeros((len(t), k, 3)), boxes=(1 - w) * people.boxes[lo] + w * people.boxes[hi],
                scores=np.minimum(people.scores[lo], people.scores[hi]), interpolated=np.zeros((len(t), k), bool)))
            slot[new] = next_row + np.arange(len(new))
            next_row += len(new)
        pos, joint = np.nonzero(fill)
        fills.append(np.stack([slot[pos], joint, slot[ends[pos, joint, 0]], slot[ends[pos, joint, 1]]], 1))
    if not fills:
        return seq
    people = People.concat([people, *added])
    target, joint, a, b = np.concatenate(fills).T
    w = ((people.frame[target] - people.frame[a]) / (people.frame[b] - people.frame[a]))[:, None]
    ka, kb = people.keypoints[a, joint], people.keypoints[b, joint]
    people.keypoints[target, joint, :2] = (1 - w) * ka[:, :2] + w * kb[:, :2]
    people.keypoints[target, joint, 2] = np.minimum(ka[:, 2], kb[:, 2])
    people.interpolated[target, joint] = True
    return people.to_sequence(seq)


def _fillable(seen: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """For a ``(S, K)`` seen mask: which cells lie in a gap of at most ``max_gap`` between two seen cells, and for
    each cell the positions of the seen cells before and after it."""
    s = len(seen)
    pos = np.arange(s)[:, None]
    before = np.maximum.accumulate(np.where(seen, pos, -1), axis=0)
    after = np.minimum.accumulate(np.where(seen, pos, s)[::-1], axis=0)[::-1]
    fill = ~seen & (before >= 0) & (after < s) & (after - before - 1 <= max_gap)
    return fill, np.stack([before, after], -1)
