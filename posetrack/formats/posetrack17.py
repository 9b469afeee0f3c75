"""PoseTrack 2017 files: ``{"annolist": [...]}``, one entry per frame, joints as ``point`` lists with poseval ids.

A joint exists iff it is listed (its ``is_visible`` does not matter); the head box ``x1, y1, x2, y2`` of each
ground-truth person is what PCKh is normalised by. An ``annorect`` without ``annopoints`` is kept in memory as a
person whose keypoints are all NaN, because poseval treats it differently from a person with an empty point list
(the frame still counts as annotated, the person is then removed).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..geometry import keypoint_boxes
from ..layouts import joint_mapping
from ..types import Frame, Sequence
from .common import (image_id_for, interpolated_marks, load_json, present_joints, require_posetrack18,
                     track_ids_to_write, write_json)

# posetrack18 slot -> poseval id (2017 ``point.id``), and back.
_SLOT_TO_ID = joint_mapping("posetrack15", "posetrack18")
_ID_TO_SLOT = joint_mapping("posetrack18", "posetrack15")


def _fail(path, where: str, what: str) -> PosetrackError:
    return PosetrackError(f"{path}: {where}: {what}")


def _first(path, where: str, value, kind=float):
    """2017 files wrap every scalar in a one-element list."""
    if isinstance(value, list):
        if len(value) != 1:
            raise _fail(path, where, f"expected a one-element list, got {len(value)} elements")
        value = value[0]
    if not isinstance(value, (int, float)) or isinstance(value, bool) and kind is not int:
        raise _fail(path, where, f"expected a number, got {value!r}")
    return kind(value)


def _rect(path, where: str, rect: dict) -> tuple:
    if not isinstance(rect, dict):
        raise _fail(path, where, "expected an object")
    kpts = np.zeros((17, 3), np.float64)
    marks = np.zeros(17, bool)
    ap = rect.get("annopoints")
    has_points = isinstance(ap, list) and len(ap) > 0 and isinstance(ap[0], dict) and "point" in ap[0]
    if not has_points:
        kpts[:] = np.nan
    else:
        for q, pt in enumerate(ap[0]["point"] or []):
            pw = f"{where}.annopoints[0].point[{q}]"
            if not isinstance(pt, dict):
                raise _fail(path, pw, "expected an object")
            jid = _first(path, f"{pw}.id", pt.get("id"), int)
            if not 0 <= jid < 15:
                raise _fail(path, f"{pw}.id", f"joint id {jid} outside 0..14")
            x, y = _first(path, f"{pw}.x", pt.get("x")), _first(path, f"{pw}.y", pt.get("y"))
            score = _first(path, f"{pw}.score", pt["score"]) if "score" in pt else 1.0
            kpts[_ID_TO_SLOT[jid]] = (x, y, score)
            # posetrack's own mark for a joint filled in across a gap (posetrack.results.gaps); poseval ignores it.
            marks[_ID_TO_SLOT[jid]] = bool(_first(path, f"{pw}.interpolated", pt["interpolated"], int)) \
                if "interpolated" in pt else False
    head = [rect.get(k) for k in ("x1", "y1", "x2", "y2")]
    head = (np.array([_first(path, f"{where}.{k}", v) for k, v in zip(("x1", "y1", "x2", "y2"), head)])
            if all(v is not None for v in head) else np.full(4, np.nan))
    track = _first(path, f"{where}.track_id", rect["track_id"], int) if "track_id" in rect else -1
    score = _first(path, f"{where}.score", rect["score"]) if "score" in rect else 1.0
    return kpts, track, head, score, marks


def _regions(path, where: str, regions) -> list[np.ndarray]:
    out = []
    for r, region in enumerate(regions or []):
        pts = region.get("point") if isinstance(region, dict) else None
        if not isinstance(pts, list):
            raise _fail(path, f"{where}[{r}].point", "expected a list of points")
        xy = [(_first(path, f"{where}[{r}].point[{q}].x", p.get("x")),
               _first(path, f"{where}[{r}].point[{q}].y", p.get("y"))) for q, p in enumerate(pts)]
        out.append(np.array(xy, np.float32).reshape(-1, 2))
    return out


def from_dict(data: object, path: str | os.PathLike = "<data>", name: str | None = None) -> Sequence:
    if not isinstance(data, dict) or not isinstance(data.get("annolist"), list):
        raise _fail(path, "annolist", "missing or not a list (is this a PoseTrack 2017 file?)")
    frames = []
    for i, entry in enumerate(data["annolist"]):
        where = f"annolist[{i}]"
        try:
            file_name = entry["image"][0]["name"]
            assert isinstance(file_name, str)
        except (KeyError, IndexError, TypeError, AssertionError):
            raise _fail(path, f"{where}.image", "expected [{'name': 'images/.../000000.jpg'}]") from None
        rects = entry.get("annorect") or []
        if not isinstance(rects, list):
            raise _fail(path, f"{where}.annorect", "expected a list")
        people = [_rect(path, f"{where}.annorect[{r}]", rect) for r, rect in enumerate(rects)]
        n = len(people)
        kpts = np.array([p[0] for p in people], np.float32).reshape(n, 17, 3)
        image_id = image_id_for(file_name)
        labeled = entry.get("is_labeled")
        marks = np.array([p[4] for p in people], bool).reshape(n, 17)
        frames.append(Frame(
            file_name=file_name, image_id=image_id if image_id is not None else i, keypoints=kpts,
            boxes=keypoint_boxes(np.nan_to_num(kpts)), scores=np.array([p[3] for p in people], np.float32),
            track_ids=np.array([p[1] for p in people], np.int64),
            head_boxes=np.array([p[2] for p in people], np.float32).reshape(n, 4),
            ignore_regions=_regions(path, f"{where}.ignore_regions", entry.get("ignore_regions")),
            is_labeled=bool(_first(path, f"{where}.is_labeled", labeled, int)) if labeled is not None else n > 0,
            interpolated=marks if marks.any() else np.zeros((0, 17), bool)))
    if name is None:
        name = Path(path).stem
    return Sequence(name=name, frames=frames, layout="posetrack18")


def read_sequence(path: str | os.PathLike) -> Sequence:
    """Read one PoseTrack 2017 sequence file; the sequence is named after the file's stem."""
    return from_dict(load_json(path), path)


def to_dict(seq: Sequence) -> dict:
    """The PoseTrack 2017 dict of ``seq`` (keypoints in the posetrack18 layout, written with poseval's ids)."""
    require_posetrack18(seq)
    annolist = []
    for i, f in enumerate(seq.frames):
        stem = os.path.basename(f.file_name).split(".")[0].split("_")[0]
        entry = {"image": [{"name": f.file_name}], "imgnum": [int(stem) + 1 if stem.isdigit() else i + 1],
                 "is_labeled": [int(f.is_labeled)], "annorect": []}
        if f.ignore_regions:
            entry["ignore_regions"] = [{"point": [{"x": [float(x)], "y": [float(y)]} for x, y in np.asarray(r)]}
                                       for r in f.ignore_regions]
        n = len(f)
        kpts = np.asarray(f.keypoints, np.float64).reshape(n, 17, 3)
        present = present_joints(kpts)
        no_points = np.isnan(kpts[..., :2]).all((1, 2))
        ids = track_ids_to_write(f, f"sequence {seq.name}, image {f.file_name}") if n else []
        heads = np.asarray(f.head_boxes, np.float64).reshape(-1, 4)
        marks = interpolated_marks(f)
        for p in range(n):
            rect = {"track_id": [int(ids[p])]}
            if len(f.scores) == n:
                rect["score"] = [float(f.scores[p])]
            if len(heads) == n and np.isfinite(heads[p]).all():
                rect.update(x1=[heads[p, 0]], y1=[heads[p, 1]], x2=[heads[p, 2]], y2=[heads[p, 3]])
            if not no_points[p]:
                slots = np.flatnonzero(present[p])
                rect["annopoints"] = [{"point": [
                    {"id": [int(_SLOT_TO_ID[s])], "x": [float(kpts[p, s, 0])], "y": [float(kpts[p, s, 1])],
                     "score": [float(np.nan_to_num(kpts[p, s, 2]))], "is_visible": [1],
                     **({"interpolated": [1]} if marks[p, s] else {})}
                    for s in slots if _SLOT_TO_ID[s] >= 0]}]
            entry["annorect"].append(rect)
        annolist.append(entry)
    return {"annolist": annolist}


def write_sequence(path: str | os.PathLike, seq: Sequence) -> None:
    """Write ``seq`` as a PoseTrack 2017 file (atomically)."""
    write_json(path, to_dict(seq))

