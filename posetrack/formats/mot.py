"""Box tracks as MOT Challenge text, in the layout of PoseTrack21's box-tracking benchmark.

One row per person and frame, ``frame,id,x,y,w,h,conf,-1,-1,-1``: ``frame`` is 1-based (the frame's position
in the sequence), ``id`` the track id, ``x, y, w, h`` the box in pixels. Predictions are ``<seq>.txt`` files; the
ground truth of the PoseTrack21 kit is a folder per sequence::

    posetrack_mot/mot/<split>/<seq>/image_info.json   [{file_name, id, frame_id, vid_id, frame_index,
                                                         ignore_regions_x, ignore_regions_y}, ...]
    posetrack_mot/mot/<split>/<seq>/gt/gt.txt         frame,id,x,y,w,h,1,-1,-1,-1

The kit's two MOT scripts read these rows differently (see ``posetrack.eval.box_mot``): ``run_mot.py`` needs the
8th column of ground truth to be ``-1`` (its class id of 'pedestrian'), ``evaluate_mot.py`` needs the 7th to be
the integer ``1`` and frames and ids written as integers; rows written here satisfy both.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import PosetrackError
from ..geometry import xyxy_to_xywh
from ..types import Sequence
from .common import load_json, track_ids_to_write, write_json


def mot_rows(seq: Sequence, ground_truth: bool = False) -> np.ndarray:
    """``(R, 7)`` rows ``frame, id, x, y, w, h, conf`` of every person with a finite box, frames 1-based by
    position. Ground truth rows get ``conf = 1`` (the MOT 'consider' flag), predictions the person score."""
    rows = []
    for t, f in enumerate(seq.frames, 1):
        n = len(f)
        if n == 0 or len(f.boxes) != n:
            continue
        boxes = xyxy_to_xywh(np.asarray(f.boxes, np.float64))
        ids = track_ids_to_write(f, f"sequence {seq.name}, image {f.file_name}")
        conf = np.ones(n) if ground_truth or len(f.scores) != n else np.asarray(f.scores, np.float64)
        ok = np.isfinite(boxes).all(1)
        rows.append(np.column_stack([np.full(n, t), ids, boxes, conf])[ok])
    return np.concatenate(rows) if rows else np.zeros((0, 7))


def format_rows(rows: np.ndarray) -> str:
    """MOT text for ``(R, 7)`` rows: integer frame and id (``evaluate_mot.py`` parses them with ``int``), boxes
    to 1/100 px, then ``-1,-1,-1`` (class and 3D position unused; -1 is the kit's 'pedestrian' class)."""
    lines = [f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{r[6]:.6g},-1,-1,-1"
             for r in rows]
    return "".join(line + "\n" for line in lines)


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_mot(path: str | os.PathLike, seq: Sequence) -> None:
    """Write ``seq``'s boxes and track ids as a MOT prediction file (``<seq>.txt``), atomically."""
    _write_text(Path(path), format_rows(mot_rows(seq)))


def image_info(seq: Sequence) -> list[dict]:
    """The kit's ``image_info.json`` entries: ``frame_index`` is the 1-based position (both kit scripts key the
    ignore regions and ground-truth rows by it)."""
    return [{"file_name": f.file_name, "id": int(f.image_id), "frame_id": int(f.image_id),
             "vid_id": str(seq.vid_id) if seq.vid_id is not None else seq.name, "frame_index": t,
             "ignore_regions_x": [np.asarray(r)[:, 0].tolist() for r in f.ignore_regions],
             "ignore_regions_y": [np.asarray(r)[:, 1].tolist() for r in f.ignore_regions]}
            for t, f in enumerate(seq.frames, 1)]


def write_mot_ground_truth(folder: str | os.PathLike, seq: Sequence) -> Path:
    """Write ``folder/<seq>/image_info.json`` and ``gt/gt.txt`` (every person with a box and a track id,
    box-only people included) as the kit's MOT ground truth; returns the sequence folder."""
    out = Path(folder) / seq.name
    write_json(out / "image_info.json", image_info(seq))
    _write_text(out / "gt" / "gt.txt", format_rows(mot_rows(seq, ground_truth=True)))
    return out


def read_rows(path: str | os.PathLike) -> tuple[np.ndarray, list[list[str]]]:
    """``(R, C)`` float rows of a MOT text file and the raw string cells (for checks that need the text, such
    as integers written as ``1.0``). Separators: commas, optionally with spaces, as the kit's sniffer accepts."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PosetrackError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PosetrackError(f"{path}: cannot read ({err})") from None
    cells = [[c.strip() for c in line.split(",")] for line in text.splitlines() if line.strip()]
    cells = [row[:-1] if row and row[-1] == "" else row for row in cells]
    if not cells:
        return np.zeros((0, 7)), []
    width = min(len(r) for r in cells)
    if width < 7 or any(len(r) != len(cells[0]) for r in cells):
        raise PosetrackError(f"{path}: every row needs the same number of columns, at least 7 "
                             "(frame,id,x,y,w,h,conf[,...])")
    try:
        rows = np.array(cells, dtype=np.float64)
    except ValueError:
        bad = next(i for i, r in enumerate(cells) if not _numbers(r))
        raise PosetrackError(f"{path}: line {bad + 1} has a value that is not a number: {','.join(cells[bad])}") \
            from None
    return rows, cells


def _numbers(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True


def read_image_info(path: str | os.PathLike) -> list[dict]:
    data = load_json(path)
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise PosetrackError(f"{path}: expected a list of image entries")
    return data
