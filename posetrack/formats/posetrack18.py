"""PoseTrack 2018 files: one COCO-like JSON per sequence (``images``, ``annotations``, ``categories``).

Keypoints are stored in the file's ``categories[0].keypoints`` order and read into the 17-slot ``posetrack18``
layout; the third value in memory is the joint's score (``scores[k]``) when the file has scores, its visibility
flag otherwise. Files written here are accepted by the official evaluation as they are: every image of the
sequence in order, a joint not predicted written as ``0, 0, 0``, ``track_id`` on every person and below 10000.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..geometry import keypoint_boxes, xywh_to_xyxy, xyxy_to_xywh
from ..layouts import POSETRACK15, POSETRACK18
from ..types import Frame, Sequence
from .common import (interpolated_marks, load_json, parse_file_name, present_joints, require_posetrack18,
                     track_ids_to_write, write_json)

# 1-based skeleton of the official 2018 files (poseval convert.py), kept for viewers that draw it.
_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
             [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]


def categories() -> list[dict]:
    return [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(POSETRACK18.joints),
             "skeleton": _SKELETON}]


def _fail(path, where: str, what: str) -> PosetrackError:
    return PosetrackError(f"{path}: {where}: {what}")


def _keypoint_order(path, data: dict) -> np.ndarray:
    """For each posetrack18 slot, the index of that joint in the file's keypoint list (-1 where absent)."""
    cats = data.get("categories")
    if not isinstance(cats, list) or len(cats) != 1 or not isinstance(cats[0], dict):
        raise _fail(path, "categories", "expected exactly one category ('person'), as the official evaluation "
                                        "requires (in prediction files too)")
    names = cats[0].get("keypoints")
    if cats[0].get("name") != "person" or not isinstance(names, list) or len(names) not in (15, 17):
        raise _fail(path, "categories[0]", "expected name 'person' and 15 or 17 'keypoints' names")
    missing = [j for j in POSETRACK15.joints if j not in names]
    if missing:
        raise _fail(path, "categories[0].keypoints", f"lacks the PoseTrack joint(s) {', '.join(missing)} "
                                                     "(COCO names such as left_eye are not PoseTrack joints)")
    return np.array([names.index(j) if j in names else -1 for j in POSETRACK18.joints], dtype=np.int64)


def _number(path, where, value, length=None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(path, where, "expected numbers") from None
    if arr.ndim != 1 or (length is not None and arr.size != length):
        want = f"{length} numbers" if length is not None else "a list of numbers"
        raise _fail(path, where, f"expected {want}, got {arr.size if arr.ndim == 1 else arr.shape}")
    return arr


def _ignore_regions(path, i: int, image: dict) -> list[np.ndarray]:
    xs, ys = image.get("ignore_regions_x"), image.get("ignore_regions_y")
    if xs is None or ys is None:  # poseval reads them only when both are there
        return []
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise _fail(path, f"images[{i}].ignore_regions_x/y", "expected two lists with one polygon each")
    regions = []
    for r, (x, y) in enumerate(zip(xs, ys)):
        x = _number(path, f"images[{i}].ignore_regions_x[{r}]", x)
        y = _number(path, f"images[{i}].ignore_regions_y[{r}]", y, len(x))
        regions.append(np.stack([x, y], axis=1).astype(np.float32))
    return regions


def _column(path, anns: list, key: str, length: int, required: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(A, length)`` values of ``annotations[*][key]`` and which annotations have them (empty lists count as
    missing, as poseval's ``if landmark_scores:``). The per-item check runs only to name a bad entry."""
    if not anns:
        return np.zeros((0, length)), np.zeros(0, dtype=bool)
    values = [a.get(key) for a in anns]
    have = np.array([bool(v) if isinstance(v, list) else v is not None for v in values], dtype=bool)
    if required and not have.all():
        a = int(np.flatnonzero(~have)[0])
        raise _fail(path, f"annotations[{a}].{key}", "missing")
    try:
        out = np.array([v if h else [np.nan] * length for v, h in zip(values, have)], dtype=np.float64)
        ok = out.shape == (len(anns), length)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        for a, (v, h) in enumerate(zip(values, have)):
            if h:
                _number(path, f"annotations[{a}].{key}", v, length)
        raise _fail(path, f"annotations[*].{key}", "malformed")  # not reached: _number names the entry
    return out.reshape(len(anns), length), have


def _people(path, anns: list, order: np.ndarray, k: int) -> dict:
    """All annotations of a file at once: keypoints in posetrack18 slots, track ids, head boxes, boxes, scores."""
    for a, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise _fail(path, f"annotations[{a}]", "expected an object")
    n = len(anns)
    kp = _column(path, anns, "keypoints", 3 * k, required=True)[0].reshape(n, k, 3)
    scores, has_scores = _column(path, anns, "scores", k, required=False)
    absent = (kp[..., 0] == 0) & (kp[..., 1] == 0) & (kp[..., 2] == 0)
    third = np.where(has_scores[:, None], scores, kp[..., 2])
    slots = np.zeros((n, 17, 3), np.float64)
    have = order >= 0
    src = order[have]
    slots[:, have, :2] = kp[:, src, :2]
    slots[:, have, 2] = np.where(absent[:, src], 0.0, third[:, src])
    tracks = [a.get("track_id", -1) for a in anns]
    for a, t in enumerate(tracks):
        if not isinstance(t, (int, float)) or isinstance(t, bool) or t != int(t):
            raise _fail(path, f"annotations[{a}].track_id", f"expected an integer, got {t!r}")
    head, _ = _column(path, anns, "bbox_head", 4, required=False)
    box, has_box = _column(path, anns, "bbox", 4, required=False)
    box = np.where(has_box[:, None], xywh_to_xyxy(np.nan_to_num(box)), keypoint_boxes(slots))
    person_scores = [a.get("score", 1.0) for a in anns]
    # PoseTrack21's identity across videos, kept when every annotation has an integer one.
    persons = [a.get("person_id") for a in anns]
    known = all(isinstance(p, int) and not isinstance(p, bool) for p in persons)
    # posetrack's own mark for joints filled in across a gap (posetrack.results.gaps); other tools ignore it.
    marks, _ = _column(path, anns, "interpolated", k, required=False)
    interpolated = np.zeros((n, 17), bool)
    interpolated[:, have] = np.nan_to_num(marks[:, src]) > 0
    return {"keypoints": slots, "interpolated": interpolated, "track_ids": np.array(tracks, np.int64).reshape(n),
            "person_ids": np.array(persons if known else [-1] * n, np.int64).reshape(n),
            "head_boxes": np.concatenate([head[:, :2], head[:, :2] + head[:, 2:]], axis=1), "boxes": box,
            "scores": np.array([v if isinstance(v, (int, float)) else 1.0 for v in person_scores], np.float64)}


def from_dict(data: object, path: str | os.PathLike = "<data>", name: str | None = None) -> Sequence:
    """Parse a PoseTrack 2018 dict (already loaded JSON) into a ``Sequence``; ``path`` names it in errors."""
    if not isinstance(data, dict):
        raise _fail(path, "top level", "expected a JSON object with images, annotations and categories")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise _fail(path, key, "missing or not a list (is this a PoseTrack 2018 file?)")
    order = _keypoint_order(path, data)
    k = len(data["categories"][0]["keypoints"])
    index = {}
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise _fail(path, f"images[{i}]", "needs 'id' and 'file_name'")
        if image["id"] in index:
            raise _fail(path, f"images[{i}].id", f"duplicate image id {image['id']}")
        index[image["id"]] = i
    anns = data["annotations"]
    rows = []
    for a, ann in enumerate(anns):
        row = index.get(ann.get("image_id")) if isinstance(ann, dict) else None
        if row is None:
            raise _fail(path, f"annotations[{a}].image_id", "missing or not an id in 'images'")
        rows.append(row)
    people = _people(path, anns, order, k)
    rows = np.array(rows, np.int64)
    # A stable sort keeps each frame's people in file order (poseval's order, which ties in AP depend on).
    by_frame = np.argsort(rows, kind="stable")
    starts = np.searchsorted(rows[by_frame], np.arange(len(data["images"]) + 1))
    out = []
    for i, image in enumerate(data["images"]):
        sel = by_frame[starts[i]:starts[i + 1]]
        labeled = image.get("is_labeled")
        out.append(Frame(
            file_name=image["file_name"], image_id=image["id"],
            keypoints=people["keypoints"][sel].astype(np.float32), boxes=people["boxes"][sel].astype(np.float32),
            scores=people["scores"][sel].astype(np.float32), track_ids=people["track_ids"][sel],
            head_boxes=people["head_boxes"][sel].astype(np.float32),
            ignore_regions=_ignore_regions(path, i, image),
            is_labeled=bool(labeled) if labeled is not None else len(sel) > 0,
            width=image.get("width"), height=image.get("height"),
            person_ids=people["person_ids"][sel] if (people["person_ids"] >= 0).all() else np.zeros(0, np.int64),
            interpolated=people["interpolated"][sel] if people["interpolated"][sel].any() else
            np.zeros((0, 17), bool)))
    vid = data["images"][0].get("vid_id") if data["images"] else None
    if name is None:
        name = Path(path).stem
    try:
        vid = int(vid) if vid is not None else None
    except (TypeError, ValueError):
        vid = None
    return Sequence(name=name, frames=out, layout="posetrack18", vid_id=vid)


def read_sequence(path: str | os.PathLike) -> Sequence:
    """Read one PoseTrack 2018 sequence file; the sequence is named after the file's stem."""
    return from_dict(load_json(path), path)


def to_dict(seq: Sequence) -> dict:
    """The PoseTrack 2018 dict of ``seq`` (keypoints must be in the posetrack18 layout)."""
    require_posetrack18(seq)
    images, annotations = [], []
    for f in seq.frames:
        image = {"file_name": f.file_name, "id": int(f.image_id), "frame_id": int(f.image_id),
                 "nframes": len(seq.frames), "is_labeled": bool(f.is_labeled),
                 "has_labeled_person": bool(f.is_labeled and len(f) > 0)}
        if seq.vid_id is not None:
            image["vid_id"] = str(seq.vid_id)
        if f.width is not None and f.height is not None:
            image["width"], image["height"] = int(f.width), int(f.height)
        if f.ignore_regions:
            image["ignore_regions_x"] = [np.asarray(r)[:, 0].tolist() for r in f.ignore_regions]
            image["ignore_regions_y"] = [np.asarray(r)[:, 1].tolist() for r in f.ignore_regions]
        images.append(image)
        n = len(f)
        if n == 0:
            continue
        kpts = np.asarray(f.keypoints, dtype=np.float64).reshape(n, 17, 3)
        present = present_joints(kpts)
        # A joint not predicted is written as 0, 0, 0 (poseval's only way to say "absent"); others get v = 1.
        flat = np.where(present[..., None], np.concatenate([kpts[..., :2], np.ones((n, 17, 1))], -1), 0.0)
        joint_scores = np.where(present, np.nan_to_num(kpts[..., 2]), 0.0)
        ids = track_ids_to_write(f, f"sequence {seq.name}, image {f.file_name}")
        boxes = xyxy_to_xywh(f.boxes).astype(np.float64) if len(f.boxes) == n else None
        heads = np.asarray(f.head_boxes, dtype=np.float64).reshape(-1, 4) if len(f.head_boxes) == n else None
        scores = np.asarray(f.scores, dtype=np.float64).reshape(-1) if len(f.scores) == n else None
        marks = interpolated_marks(f) & present
        for p in range(n):
            ann = {"id": int(f.image_id) * 100 + p, "image_id": int(f.image_id), "category_id": 1,
                   "track_id": int(ids[p]), "keypoints": flat[p].reshape(-1).tolist(),
                   "scores": joint_scores[p].tolist()}
            if boxes is not None:
                ann["bbox"] = boxes[p].tolist()
            if heads is not None and np.isfinite(heads[p]).all():
                ann["bbox_head"] = [heads[p, 0], heads[p, 1], heads[p, 2] - heads[p, 0], heads[p, 3] - heads[p, 1]]
            if scores is not None:
                ann["score"] = float(scores[p])
            if marks[p].any():
                ann["interpolated"] = marks[p].astype(int).tolist()
            annotations.append(ann)
    return {"images": images, "annotations": annotations, "categories": categories()}


def write_sequence(path: str | os.PathLike, seq: Sequence) -> None:
    """Write ``seq`` as a PoseTrack 2018 file at ``path`` (atomically: temporary file, then rename)."""
    write_json(path, to_dict(seq))


def check_file_names(seq: Sequence, where: str) -> None:
    """Refuse file names the official evaluation cannot parse (it needs ``.../000342_mpii_test/000000.jpg``)."""
    for f in seq.frames:
        if parse_file_name(f.file_name) is None:
            raise PosetrackError(f"{where}: image file_name {f.file_name!r} does not follow the PoseTrack pattern "
                                 "'images/<split>/<digits>_<mpii|bonn|mpiinew>_<...>/<frame < 10000>.jpg' that the "
                                 "official evaluation parses")
