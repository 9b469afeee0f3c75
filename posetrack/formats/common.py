"""What the PoseTrack and COCO readers and writers share: JSON in and out, joint presence, sequence names.

Joint presence follows the official evaluation (poseval ``convert.py``): a joint is absent iff it is written as
``x == 0 and y == 0 and v == 0``; anything else is a joint, whatever its visibility flag or score. In memory a
joint is absent iff ``x == y == score == 0`` (or its coordinates are NaN), so a writer can drop a joint by zeroing
it and a reader keeps every joint poseval would read.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import PosetrackError

# poseval (posetrack18_id2fname.fname2id) parses ``<digits>_<mpii|bonn|mpiinew>[_...]`` folder names and an integer
# file stem below 10000; anything else crashes it.
_SEQUENCE_DIR = re.compile(r"^(\d+)_(mpii|bonn|mpiinew)(_.*)?$")
_SOURCE_INDEX = {"mpii": 1, "bonn": 2, "mpiinew": 3}
MAX_TRACK_ID = 10000  # poseval asserts track_id < 10000 (it offsets ids by sequence index * 10000)


def present_joints(keypoints: np.ndarray) -> np.ndarray:
    """``(N, K)`` bool: which joints of ``(N, K, 3)`` keypoints exist in the PoseTrack sense."""
    kpts = np.asarray(keypoints, dtype=np.float64)
    finite = np.isfinite(kpts[..., :2]).all(-1)
    zero = (kpts[..., 0] == 0) & (kpts[..., 1] == 0) & (np.nan_to_num(kpts[..., 2]) == 0)
    return finite & ~zero


def interpolated_marks(frame) -> np.ndarray:
    """``(N, 17)`` bool: the joints of ``frame`` that ``posetrack.results.fill_gaps`` filled in (all False when
    the frame carries no marks). Writers add them as an extra per-person key that poseval ignores."""
    marks = np.asarray(frame.interpolated, dtype=bool)
    if marks.ndim != 2 or marks.shape[0] != len(frame):
        return np.zeros((len(frame), 17), dtype=bool)
    return marks


def load_json(path: str | os.PathLike) -> object:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise PosetrackError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise PosetrackError(f"{path}: is a folder, expected a JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PosetrackError(f"{path}: not valid JSON ({err}); re-export the file") from None


def _to_builtin(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json(path: str | os.PathLike, data: object) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it, so a reader never sees half a file."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, default=_to_builtin, separators=(",", ":"))


def require_posetrack18(seq) -> None:
    """PoseTrack files hold the posetrack18 joint slots; one line for a sequence in another layout."""
    if seq.layout != "posetrack18":
        raise PosetrackError(f"sequence {seq.name}: keypoints are in layout {seq.layout!r}; convert them to "
                             "posetrack18 (posetrack.layouts.convert_keypoints) before writing PoseTrack files")


def parse_file_name(file_name: str) -> tuple[str, int, int] | None:
    """``(sequence folder, video id, frame index)`` of a PoseTrack image path, or None if poseval cannot parse it.

    The video id is poseval's ``image_id // 10000``-style sequence key (source index * 10**6 + number).
    """
    folder = os.path.basename(os.path.dirname(file_name))
    match = _SEQUENCE_DIR.match(folder)
    stem = os.path.basename(file_name).split(".")[0]
    if not match or not stem.isdigit() or int(stem) >= 10000:
        return None
    return folder, _SOURCE_INDEX[match.group(2)] * 1000000 + int(match.group(1)), int(stem)


def image_id_for(file_name: str) -> int | None:
    """poseval's image id ``T SSSSSS FFFF`` (source, sequence number, frame) for a parseable file name."""
    parsed = parse_file_name(file_name)
    if parsed is None:
        return None
    _, vid, frame = parsed
    return vid * 10000 + frame


def sequence_file_name(vid_id: int, frame_index: int, split: str = "val", source: str = "mpii",
                       suffix: str = "test", ext: str = "jpg") -> str:
    """An image path poseval can parse, e.g. ``images/val/000342_mpii_test/000000.jpg``."""
    if source not in _SOURCE_INDEX:
        raise PosetrackError(f"unknown PoseTrack source {source!r}; choose one of {', '.join(_SOURCE_INDEX)}")
    if not 0 <= frame_index < 10000:
        raise PosetrackError(f"frame index {frame_index} out of range: PoseTrack sequences hold < 10000 frames")
    folder = f"{vid_id:06d}_{source}" + (f"_{suffix}" if suffix else "")
    return f"images/{split}/{folder}/{frame_index:06d}.{ext}"


def sequence_name(file_name: str) -> str:
    """The sequence a frame belongs to: its folder name (``000342_mpii_test``)."""
    return os.path.basename(os.path.dirname(file_name))


def track_ids_to_write(frame, where: str) -> np.ndarray:
    """Track ids to write: unknown ids (-1) become the smallest unused ids of the frame (poseval refuses a frame
    with two equal ids, and every person must have one)."""
    ids = np.asarray(frame.track_ids, dtype=np.int64).reshape(-1)
    if ids.size != len(frame):
        ids = np.full(len(frame), -1, np.int64)
    if (ids >= MAX_TRACK_ID).any():
        raise PosetrackError(f"{where}: track id {ids.max()} >= {MAX_TRACK_ID}; the official evaluation "
                             f"refuses such ids, renumber the tracks (e.g. in order of appearance)")
    known = ids[ids >= 0]
    if len(np.unique(known)) != len(known):
        raise PosetrackError(f"{where}: duplicate track ids in one frame; each person needs its own id")
    unknown = np.flatnonzero(ids < 0)
    if unknown.size:
        free = np.setdiff1d(np.arange(len(frame) + known.size), known)[:unknown.size]
        ids = ids.copy()
        ids[unknown] = free
    return ids
