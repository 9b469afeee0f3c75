"""CSV export of a tracked sequence: one row per frame, track and joint present in the result.

Columns: ``frame`` (index in the video, 0-based), ``time_s`` (``frame / fps``; empty when no frame rate is
known), ``track_id`` (contiguous from 0 in order of first appearance: a track first seen earlier, or earlier in
the same frame, gets the smaller number), ``original_track_id`` (the id in the JSON), ``joint`` (PoseTrack 2018
joint name), ``x``, ``y`` (pixels), ``score``, ``interpolated`` (1 for a joint filled in by gap filling).
Rows come in frame order, then the people's order in the frame, then joint order. Joints absent from the JSON
(written ``0, 0, 0``) have no row. Coordinates keep 3 decimals (what a run writes), scores 4.
"""
from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from ..atomic import atomic_path
from ..errors import write_error
from ..layouts import get_layout
from ..types import Sequence
from .people import People

COLUMNS = ("frame", "time_s", "track_id", "original_track_id", "joint", "x", "y", "score", "interpolated")


def contiguous_ids(people: People) -> dict[int, int]:
    """Original track id -> 0, 1, 2, ... in order of first appearance."""
    return {int(people.track[rows[0]]): i for i, rows in enumerate(people.tracks())}


def csv_lines(seq: Sequence, fps: float | Fraction | None = None):
    """The CSV text of ``seq``, line by line (header first), each ending in a newline."""
    people = People.of(seq)
    names = get_layout(seq.layout).joints
    new_ids = contiguous_ids(people)
    order = np.lexsort((people.row, people.frame))
    present = people.present
    yield ",".join(COLUMNS) + "\n"
    rate = float(fps) if fps else None
    for p in order.tolist():
        frame = int(people.frame[p])
        original = int(people.track[p])
        head = f"{frame},{'' if rate is None else f'{frame / rate:.6f}'},{new_ids.get(original, -1)},{original},"
        kp, marks = people.keypoints[p], people.interpolated[p]
        for j in np.flatnonzero(present[p]).tolist():
            yield f"{head}{names[j]},{kp[j, 0]:.3f},{kp[j, 1]:.3f},{kp[j, 2]:.4f},{int(marks[j])}\n"


def write_csv(path: str | os.PathLike, seq: Sequence, fps: float | Fraction | None = None) -> int:
    """Write ``seq`` as CSV to ``path`` (atomically); returns the number of joint rows."""
    rows = -1
    try:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
            for rows, line in enumerate(csv_lines(seq, fps)):
                f.write(line)
    except OSError as err:
        raise write_error(path, err, "the CSV") from None
    return rows
