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
from typing import Iterable, Iterator

import numpy as np

from ..atomic import atomic_path
from ..errors import write_error
from ..layouts import get_layout
from ..formats import present_joints
from ..formats.common import interpolated_marks
from ..types import Frame, Sequence

COLUMNS = ("frame", "time_s", "track_id", "original_track_id", "joint", "x", "y", "score", "interpolated")


def first_appearance(frames: Iterable[Frame]) -> dict[int, int]:
    """Original track id -> 0, 1, 2, ... in order of first appearance (frame order, then order in the frame)."""
    ids: dict[int, int] = {}
    for f in frames:
        for tid in np.asarray(f.track_ids, np.int64).reshape(-1).tolist():
            ids.setdefault(tid, len(ids))
    return ids


def header_line() -> str:
    return ",".join(COLUMNS) + "\n"


def frame_lines(index: int, frame: Frame, names, fps, new_ids: dict[int, int]) -> Iterator[str]:
    """The rows of frame ``index``: its people in order, each present joint in joint order."""
    n = len(frame)
    if n == 0:
        return
    kpts = np.asarray(frame.keypoints, np.float64).reshape(n, -1, 3)
    marks = interpolated_marks(frame)
    present = present_joints(kpts)
    time = "" if not fps else f"{index / float(fps):.6f}"
    for p, original in enumerate(np.asarray(frame.track_ids, np.int64).reshape(-1).tolist()):
        head = f"{index},{time},{new_ids.get(original, -1)},{original},"
        kp = kpts[p]
        for j in np.flatnonzero(present[p]).tolist():
            yield f"{head}{names[j]},{kp[j, 0]:.3f},{kp[j, 1]:.3f},{kp[j, 2]:.4f},{int(marks[p, j])}\n"


def csv_lines(seq: Sequence, fps: float | Fraction | None = None) -> Iterator[str]:
    """The CSV text of ``seq``, line by line (header first), each ending in a newline."""
    names = get_layout(seq.layout).joints
    new_ids = first_appearance(seq.frames)
    yield header_line()
    for index, frame in enumerate(seq.frames):
        yield from frame_lines(index, frame, names, fps, new_ids)


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
