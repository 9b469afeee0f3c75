"""Training samples: one per annotated person, as the official ``COCODataset`` builds its ``db``.

Three sources, all turned into one ``Samples`` table (whole arrays, cheap to hand to DataLoader workers):

* COCO keypoints in the COCO 2017 layout: ``ROOT/annotations/person_keypoints_<split>.json``, ``ROOT/<split>/``;
* any COCO-format keypoint file: a JSON path plus the folder its ``file_name``s are relative to;
* PoseTrack 2018: ``ROOT/annotations/<split>/<seq>.json`` with images at ``ROOT/<file_name>``
  (``images/<split>/<seq>/*.jpg``); boxes are the keypoints' bounding box extended by 15% (paper §4.2).

A person counts when it has at least one labelled joint. COCO boxes are cleaned as upstream (``clean_bbox``:
``x2 = min(W-1, x1 + max(0, w-1))``) before ``_xywh2cs``. Malformed annotations and missing images are skipped
and counted; images that fail to decode are found (and skipped) while training. More than ``max_bad_fraction``
of bad samples raises ``PosetrackError``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from ..errors import PosetrackError
from ..formats import load_json, posetrack18
from ..formats.common import present_joints
from ..geometry import BOX_ENLARGE, box_to_center_scale, keypoint_boxes

FORMATS = ("coco", "coco-file", "posetrack18")  # DatasetSpec.format
IMREAD_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION  # the official flags


@dataclass
class DatasetSpec:
    """Where a split lives. ``format``: ``coco`` (COCO 2017 layout under ``root``, split e.g. ``train2017``),
    ``coco-file`` (``annotations`` JSON + ``images`` folder) or ``posetrack18`` (``root`` and split ``train``)."""

    format: Literal["coco", "coco-file", "posetrack18"] = "coco"
    root: str = ""
    split: str = "train2017"
    annotations: str = ""
    images: str = ""

    @property
    def layout(self) -> str:
        return "posetrack18" if self.format == "posetrack18" else "coco17"

    def describe(self) -> str:
        return self.annotations or f"{self.root} ({self.format}, {self.split})"


@dataclass
class Samples:
    """Per-person arrays plus the image list they index; ``boxes`` are xyxy, ``joints`` x, y, visibility."""

    layout: str
    image_paths: list[str]
    image_ids: np.ndarray          # (I,)
    image_index: np.ndarray        # (N,) into image_paths
    boxes: np.ndarray              # (N, 4)
    centers: np.ndarray            # (N, 2)
    scales: np.ndarray             # (N, 2), official units of 200 px, already padded by 1.25
    joints: np.ndarray             # (N, K, 3)
    candidates: int = 0            # person annotations looked at (bad ones included)
    skipped: dict = field(default_factory=dict)   # reason -> count, for the log
    bad: int = 0                   # malformed annotations + persons in missing images
    examples: list = field(default_factory=list)  # a few messages about bad samples

    def __len__(self) -> int:
        return len(self.image_index)


def coco_paths(spec: DatasetSpec) -> tuple[Path, Path]:
    if spec.format == "coco-file" or spec.annotations:
        if not spec.annotations or not spec.images:
            raise PosetrackError(f"dataset {spec.describe()}: a coco-file dataset needs both 'annotations' "
                                 "(the JSON) and 'images' (the folder its file_names are relative to)")
        return Path(spec.annotations), Path(spec.images)
    root = Path(spec.root)
    return root / "annotations" / f"person_keypoints_{spec.split}.json", root / spec.split


def load_samples(spec: DatasetSpec, aspect_ratio: float, max_bad_fraction: float = 0.01) -> Samples:
    """Read one split into ``Samples``; raise if more than ``max_bad_fraction`` of its persons are bad."""
    if spec.format not in FORMATS:
        raise PosetrackError(f"unknown dataset format {spec.format!r}; choose one of {', '.join(FORMATS)}")
    if spec.format == "posetrack18":
        samples = _posetrack_samples(Path(spec.root), spec.split, aspect_ratio)
    else:
        samples = _coco_samples(*coco_paths(spec), aspect_ratio)
    _check_images(samples)
    check_bad_fraction(samples.bad, samples.candidates, max_bad_fraction, spec.describe(), samples.examples)
    if len(samples) == 0:
        raise PosetrackError(f"dataset {spec.describe()}: no person with a labelled joint; check the paths")
    return samples


def check_bad_fraction(bad: int, total: int, max_fraction: float, where: str, examples=()) -> None:
    if total and bad / total > max_fraction:
        example = f" (e.g. {examples[0]})" if examples else ""
        raise PosetrackError(f"dataset {where}: {bad} of {total} samples are bad{example}, more than the allowed "
                             f"{max_fraction:.1%}; fix the data or raise data.max_bad_fraction")


def _coco_samples(ann_file: Path, image_root: Path, aspect_ratio: float) -> Samples:
    if not ann_file.is_file():
        raise PosetrackError(f"{ann_file}: COCO keypoint file not found; point data.*.root at the COCO folder "
                             "(annotations/, train2017/, val2017/) or use format coco-file with 'annotations' "
                             "and 'images'")
    data = load_json(ann_file)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise PosetrackError(f"{ann_file}: not a COCO keypoint file (needs 'images' and 'annotations' lists)")
    sizes, paths, ids, where = [], [], [], {}
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise PosetrackError(f"{ann_file}: images[{i}] needs 'id' and 'file_name'")
        where[image["id"]] = i
        paths.append(str(image_root / image["file_name"]))
        ids.append(image["id"])
        sizes.append((image.get("width") or np.inf, image.get("height") or np.inf))
    skipped, examples = {"crowd": 0, "no labelled joint": 0, "empty box": 0}, []
    rows, bad = [], 0
    for a, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict):
            bad += 1
            continue
        if ann.get("iscrowd", 0) or ann.get("category_id", 1) != 1:  # upstream reads non-crowd persons only
            skipped["crowd"] += bool(ann.get("iscrowd", 0))
            continue
        try:
            image = where[ann["image_id"]]
            kpts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(17, 3)
            box = np.asarray(ann["bbox"], dtype=np.float64).reshape(4)
            area = float(ann.get("area", box[2] * box[3]))
        except (KeyError, TypeError, ValueError):
            bad += 1
            if len(examples) < 3:
                examples.append(f"{ann_file}: annotations[{a}] lacks a valid image_id, bbox or 17 keypoints")
            continue
        if not (np.isfinite(kpts).all() and np.isfinite(box).all()):
            bad += 1
            if len(examples) < 3:
                examples.append(f"{ann_file}: annotations[{a}] has non-finite numbers")
            continue
        rows.append((image, kpts, box, area))
    n = len(rows)
    image_index = np.array([r[0] for r in rows], np.int64)
    kpts = np.array([r[1] for r in rows], np.float32).reshape(n, 17, 3)
    box = np.array([r[2] for r in rows], np.float64).reshape(n, 4)
    area = np.array([r[3] for r in rows], np.float64)
    wh = np.array(sizes, np.float64).reshape(-1, 2)[image_index]
    # Official clean_bbox; then only persons with a labelled joint enter the db (max(keypoints) > 0).
    x1, y1 = np.maximum(0, box[:, 0]), np.maximum(0, box[:, 1])
    x2 = np.minimum(wh[:, 0] - 1, x1 + np.maximum(0, box[:, 2] - 1))
    y2 = np.minimum(wh[:, 1] - 1, y1 + np.maximum(0, box[:, 3] - 1))
    # Upstream also keeps a box that is a single pixel (x2 == x1 and y2 == y1); its crop scale is 0 and the
    # loss turns NaN, so such a box counts as empty here.
    valid_box = (area > 0) & (x2 >= x1) & (y2 >= y1) & ((x2 - x1 >= 1) | (y2 - y1 >= 1))
    labelled = kpts.reshape(n, -1).max(1) > 0 if n else np.zeros(0, bool)
    skipped["empty box"] = int((~valid_box).sum())
    skipped["no labelled joint"] = int((valid_box & ~labelled).sum())
    keep = valid_box & labelled
    # ``clean_bbox`` stores width x2 - x1; ``_xywh2cs`` takes the center at x1 + w/2.
    boxes = np.stack([x1, y1, x2, y2], 1)[keep].astype(np.float32)
    joints = kpts[keep].copy()
    joints[..., 2] = np.minimum(joints[..., 2], 1)
    centers, scales = box_to_center_scale(boxes, aspect_ratio)
    return Samples("coco17", paths, np.asarray(ids), image_index[keep], boxes, centers, scales, joints,
                   candidates=n + bad, skipped=skipped, bad=bad, examples=examples)


def _posetrack_samples(root: Path, split: str, aspect_ratio: float) -> Samples:
    folder = root / "annotations" / split
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise PosetrackError(f"no PoseTrack annotation files in {folder}; expected ROOT/annotations/{split}/*.json")
    paths, ids, index, kpts = [], [], [], []
    skipped = {"no labelled joint": 0}
    for path in files:
        for frame in posetrack18.read_sequence(path).frames:
            if len(frame) == 0:
                continue
            k = frame.keypoints.copy()
            vis = present_joints(k) & (k[..., 2] > 0)
            k[..., 2] = vis
            labelled = vis.any(1)
            skipped["no labelled joint"] += int((~labelled).sum())
            index.append(np.full(int(labelled.sum()), len(paths)))
            kpts.append(k[labelled])
            paths.append(str(root / frame.file_name))
            ids.append(frame.image_id)
    joints = np.concatenate(kpts).astype(np.float32) if kpts else np.zeros((0, 17, 3), np.float32)
    boxes = keypoint_boxes(joints, min_score=0, enlarge=BOX_ENLARGE)
    image_index = np.concatenate(index).astype(np.int64) if index else np.zeros(0, np.int64)
    # A person with one labelled joint has a zero-size keypoint box: no crop scale, a NaN loss.
    sized = (boxes[:, 2] - boxes[:, 0] >= 1) | (boxes[:, 3] - boxes[:, 1] >= 1)
    skipped["box under 1 px"] = int((~sized).sum())
    joints, boxes, image_index = joints[sized], boxes[sized], image_index[sized]
    centers, scales = box_to_center_scale(boxes, aspect_ratio)
    return Samples("posetrack18", paths, np.asarray(ids), image_index, boxes, centers, scales, joints,
                   candidates=len(joints) + skipped["box under 1 px"], skipped=skipped)


def _check_images(samples: Samples) -> None:
    """Drop the persons of images that do not exist, counting them as bad."""
    used = np.unique(samples.image_index)
    missing = [i for i in used if not os.path.isfile(samples.image_paths[i])]
    if not missing:
        return
    drop = np.isin(samples.image_index, missing)
    samples.bad += int(drop.sum())
    samples.examples.append(f"image {samples.image_paths[missing[0]]} does not exist")
    samples.skipped["missing image"] = int(drop.sum())
    keep = ~drop
    for name in ("image_index", "boxes", "centers", "scales", "joints"):
        setattr(samples, name, getattr(samples, name)[keep])
