"""COCO keypoint files: ground-truth annotation files (read) and keypoint result lists (read and write).

Person-box results (detections) are the list ``[{image_id, category_id, bbox: [x, y, w, h], score}]``; they are
parsed once here (``box_results``) for every reader of detection files. Keypoint results are the list
pycocotools' ``COCO.loadRes`` takes: ``{"image_id", "category_id": 1, "keypoints": [x, y, s]
* 17 in COCO-17 order, "score"}``. Ground truth is read into a ``Sequence`` in the ``coco17`` layout (one frame per
image, in the file's image order; crowd annotations left out unless asked for), the third keypoint value being
COCO's visibility flag ``v``.
"""
from __future__ import annotations

import os
from pathlib import Path
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..errors import PosetrackError
from ..geometry import keypoint_boxes, xywh_to_xyxy
from ..types import Frame, Sequence
from .common import load_json, write_json

NUM_JOINTS = 17


def _fail(path, where: str, what: str) -> PosetrackError:
    return PosetrackError(f"{path}: {where}: {what}")


def _keypoints(path, where: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(path, where, "expected numbers") from None
    if arr.size != NUM_JOINTS * 3:
        raise _fail(path, where, f"expected {NUM_JOINTS * 3} numbers (x, y, v for the 17 COCO joints), "
                                 f"got {arr.size}")
    return arr.reshape(NUM_JOINTS, 3)


def result_entry(image_id: int, keypoints: np.ndarray, score: float, bbox_xyxy=None) -> dict:
    """One result in COCO's format from ``(17, 3)`` COCO-17 keypoints ``x, y, score`` (and an optional box)."""
    kpts = np.asarray(keypoints, dtype=np.float64).reshape(NUM_JOINTS, 3)
    entry = {"image_id": int(image_id), "category_id": 1, "keypoints": kpts.reshape(-1).tolist(),
             "score": float(score)}
    if bbox_xyxy is not None:
        x1, y1, x2, y2 = (float(v) for v in np.asarray(bbox_xyxy).reshape(4))
        entry["bbox"] = [x1, y1, x2 - x1, y2 - y1]
    return entry


def _normalise(entry, where: str) -> dict:
    if not isinstance(entry, dict):
        raise PosetrackError(f"{where}: expected a dict with image_id, keypoints and score")
    for key in ("image_id", "keypoints", "score"):
        if key not in entry:
            raise PosetrackError(f"{where}: missing '{key}'")
    kpts = _keypoints("results", where + ".keypoints", entry["keypoints"])
    if not np.isfinite(kpts).all() or not np.isfinite(float(entry["score"])):
        raise PosetrackError(f"{where}: keypoints and score must be finite numbers")
    out = dict(entry)
    out.update(image_id=int(entry["image_id"]), category_id=int(entry.get("category_id", 1)),
               keypoints=kpts.reshape(-1).tolist(), score=float(entry["score"]))
    return out


def write_results(path: str | os.PathLike, entries: Iterable[dict]) -> None:
    """Write COCO keypoint results (dicts as made by ``result_entry``; keypoints may be arrays) atomically."""
    write_json(path, [_normalise(e, f"result {i}") for i, e in enumerate(entries)])


def read_results(path: str | os.PathLike) -> list[dict]:
    """Read a COCO keypoint result list; every entry gets ``keypoints`` as a ``(17, 3)`` array."""
    data = load_json(path)
    if not isinstance(data, list):
        raise _fail(path, "top level", "expected a list of results ({image_id, keypoints, score})")
    out = []
    for i, entry in enumerate(data):
        try:
            e = _normalise(entry, f"[{i}]")
        except PosetrackError as err:
            raise PosetrackError(f"{path}: {err}") from None
        e["keypoints"] = np.asarray(e["keypoints"], np.float32).reshape(NUM_JOINTS, 3)
        out.append(e)
    return out


def read_annotations(path: str | os.PathLike, include_crowd: bool = False) -> Sequence:
    """Read a COCO keypoint annotation file (``person_keypoints_*.json``) into a ``coco17`` ``Sequence``."""
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise _fail(path, "images/annotations", "missing; expected a COCO keypoint annotation file")
    index, people = {}, []
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise _fail(path, f"images[{i}]", "needs 'id' and 'file_name'")
        index[image["id"]] = i
        people.append([])
    for a, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or ann.get("image_id") not in index:
            raise _fail(path, f"annotations[{a}].image_id", "missing or not an id in 'images'")
        if ann.get("iscrowd", 0) and not include_crowd:
            continue
        kpts = _keypoints(path, f"annotations[{a}].keypoints", ann.get("keypoints", [0] * NUM_JOINTS * 3))
        box = ann.get("bbox")
        if box is not None:
            box = np.asarray(box, np.float64)
            if box.size != 4:
                raise _fail(path, f"annotations[{a}].bbox", "expected [x, y, w, h]")
            box = xywh_to_xyxy(box)[0]
        else:
            box = keypoint_boxes(kpts[None])[0]
        people[index[ann["image_id"]]].append((kpts, box))
    frames = []
    for image, ps in zip(data["images"], people):
        n = len(ps)
        frames.append(Frame(
            file_name=image["file_name"], image_id=image["id"],
            keypoints=np.array([p[0] for p in ps], np.float32).reshape(n, NUM_JOINTS, 3),
            boxes=np.array([p[1] for p in ps], np.float32).reshape(n, 4), scores=np.ones(n, np.float32),
            track_ids=np.full(n, -1, np.int64), head_boxes=np.full((n, 4), np.nan, np.float32),
            width=image.get("width"), height=image.get("height")))
    return Sequence(name=Path(path).stem, frames=frames, layout="coco17")


@dataclass
class BoxResults:
    """The person boxes of a COCO detection results list, in file order. ``image_ids`` are as written (ints, or
    file names as AlphaPose writes them)."""

    image_ids: list
    boxes: np.ndarray   # (N, 4) float32 xyxy
    scores: np.ndarray  # (N,) float32

    def groups(self, keys, keep: np.ndarray | None = None) -> dict:
        """``{key: (boxes, scores)}`` for the entries' ``keys`` (one per entry, only where ``keep``), each group in
        file order."""
        keys = np.asarray(keys)
        order = np.argsort(keys, kind="stable")
        if keep is not None:
            order = order[np.asarray(keep, bool)[order]]
        keys, boxes, scores = keys[order], self.boxes[order], self.scores[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
        ends = np.r_[starts[1:], len(keys)]
        return {keys[s].item(): (boxes[s:e], scores[s:e]) for s, e in zip(starts, ends)}


def box_results(entries: object, path) -> BoxResults:
    """Parse a loaded COCO detection results list; entries of another category than person (1) are left out."""
    if not isinstance(entries, list):
        raise PosetrackError(f"{path}: expected COCO detection results, a list of {{image_id, category_id, bbox: "
                             "[x, y, w, h], score}")
    ids, boxes, scores = [], [], []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or "image_id" not in entry or "bbox" not in entry:
            raise PosetrackError(f"{path}: entry {n} is not a COCO result (needs image_id, bbox [x, y, w, h] and "
                                 "score)")
        if entry.get("category_id", 1) != 1:
            continue
        ids.append(entry["image_id"])
        boxes.append(entry["bbox"])
        scores.append(entry.get("score", 1.0))
    try:
        xywh = np.asarray(boxes, np.float32).reshape(-1, 4)
        score = np.asarray(scores, np.float32).reshape(-1)
    except (TypeError, ValueError):
        raise PosetrackError(f"{path}: every bbox must be 4 numbers [x, y, w, h] and every score a number") from None
    return BoxResults(ids, xywh_to_xyxy(xywh), score)
