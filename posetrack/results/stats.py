"""Per-track numbers of a tracked sequence: lifetimes, gaps, jitter.

Jitter is the mean joint acceleration: for a joint seen in three consecutive frames of its track,
``|x(t+1) - 2 x(t) + x(t-1)|`` in pixels per frame squared. Real motion accelerates too, but frame-to-frame
noise dominates it, so it is what smoothing lowers (``scripts/bench_smooth.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import Sequence
from .people import People


@dataclass
class TrackStats:
    """One track: its id, first and last frame, frames it is seen in, gaps (runs of missing frames) and jitter."""

    track_id: int
    first: int
    last: int
    frames: int
    gaps: list[tuple[int, int]]  # (first missing frame, last missing frame) inside the track's life
    jitter: float                # mean joint acceleration, px/frame^2 (NaN when no joint was seen 3 frames running)

    @property
    def span(self) -> int:
        return self.last - self.first + 1


def joint_accelerations(people: People, rows: np.ndarray) -> np.ndarray:
    """Acceleration magnitudes of every joint of one track (``rows`` in frame order) seen three frames running."""
    frames = people.frame[rows]
    seen = people.present[rows]
    xy = people.keypoints[rows, :, :2]
    if len(rows) < 3:
        return np.zeros(0)
    run = (np.diff(frames[:-1]) == 1) & (np.diff(frames[1:]) == 1)
    ok = run[:, None] & seen[:-2] & seen[1:-1] & seen[2:]
    acc = np.linalg.norm(xy[2:] - 2 * xy[1:-1] + xy[:-2], axis=-1)
    return acc[ok]


def mean_acceleration(seq: Sequence) -> float:
    """Mean joint acceleration over every track and joint of ``seq`` (px/frame^2; NaN when nothing qualifies)."""
    people = People.of(seq)
    parts = [joint_accelerations(people, rows) for rows in people.tracks()]
    values = np.concatenate(parts) if parts else np.zeros(0)
    return float(values.mean()) if values.size else float("nan")


def track_stats(people: People) -> list[TrackStats]:
    """Every track of ``people``, in order of first appearance."""
    out = []
    for rows in people.tracks():
        frames = people.frame[rows]
        holes = np.flatnonzero(np.diff(frames) > 1)
        acc = joint_accelerations(people, rows)
        out.append(TrackStats(int(people.track[rows[0]]), int(frames[0]), int(frames[-1]), len(rows),
                              [(int(frames[h]) + 1, int(frames[h + 1]) - 1) for h in holes],
                              float(acc.mean()) if acc.size else float("nan")))
    return out


def people_per_frame(people: People, num_frames: int) -> np.ndarray:
    """``(T,)`` number of tracked people in each frame."""
    return np.bincount(people.frame[people.track >= 0], minlength=num_frames)
