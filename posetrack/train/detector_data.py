"""Person boxes for detector fine-tuning, and their validation (COCO box AP of the person class).

Any COCO-format file with person annotations serves (``person_keypoints_*.json`` or ``instances_*.json``): each
image's non-crowd person boxes of positive size become one target ``{"boxes" xyxy, "labels": 1}``. As in
torchvision's detection reference, images without a person are left out of training (``negatives=True``,
``data.negatives``, keeps them as hard negatives: their target holds no box), and the only augmentation is a
horizontal flip with probability 0.5. Images go to the model as RGB floats in 0..1 (torchvision's detectors
normalise inside).
"""
from __future__ import annotations

import contextlib
import copy
import io
import os

import cv2
import numpy as np
import torch

from ..errors import PosetrackError
from ..formats import load_json
from .samples import IMREAD_FLAGS, DatasetSpec, coco_paths

PERSON = 1


class PersonBoxes(torch.utils.data.Dataset):
    def __init__(self, spec: DatasetSpec, train: bool = True, flip_prob: float = 0.5, seed: int = 0,
                 negatives: bool = False):
        self.ann_file, root = _paths(spec)
        self.data = load_json(self.ann_file)
        if not isinstance(self.data, dict) or not isinstance(self.data.get("images"), list) \
                or not isinstance(self.data.get("annotations"), list):
            raise PosetrackError(f"{self.ann_file}: not a COCO file (needs 'images' and 'annotations' lists)")
        boxes: dict = {}
        self.bad, self.examples = 0, []
        for a, ann in enumerate(self.data["annotations"]):
            try:
                if ann.get("category_id", PERSON) != PERSON or ann.get("iscrowd", 0):
                    continue
                x, y, w, h = (float(v) for v in ann["bbox"])
                image_id = ann["image_id"]
            except (AttributeError, KeyError, TypeError, ValueError):
                self.bad += 1
                self.examples.append(f"{self.ann_file}: annotations[{a}] lacks a valid image_id or bbox")
                continue
            if w > 1 and h > 1:  # the reference drops degenerate boxes
                boxes.setdefault(image_id, []).append((x, y, x + w, y + h))
        images = [im for im in self.data["images"] if isinstance(im, dict) and "id" in im and "file_name" in im]
        if train and not negatives:
            images = [im for im in images if im["id"] in boxes]
        missing = [im for im in images if not os.path.isfile(os.path.join(root, im["file_name"]))]
        if missing:
            self.bad += len(missing)
            self.examples.append(f"image {os.path.join(root, missing[0]['file_name'])} does not exist")
            images = [im for im in images if os.path.isfile(os.path.join(root, im["file_name"]))]
        self.candidates = len(images) + self.bad
        self.paths = [os.path.join(root, im["file_name"]) for im in images]
        self.image_ids = [im["id"] for im in images]
        self.boxes = [np.asarray(boxes.get(im["id"], []), np.float32).reshape(-1, 4) for im in images]
        self.train, self.flip_prob, self.seed, self.epoch = train, flip_prob, seed, 0
        if not any(len(b) for b in self.boxes):
            raise PosetrackError(f"{self.ann_file}: no image with a person box; check the file and image folder")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        bad = []
        for attempt in range(min(len(self), 16)):
            i = (index + attempt) % len(self)
            image = cv2.imread(self.paths[i], IMREAD_FLAGS)
            if image is not None:
                break
            bad.append((i, f"{self.paths[i]}: cannot be read or decoded as an image"))
        else:
            raise PosetrackError(f"{len(bad)} images in a row cannot be decoded (e.g. {bad[0][1]})")
        boxes = self.boxes[i].copy()
        rng = np.random.default_rng((self.seed, self.epoch, i))
        if self.train and rng.random() < self.flip_prob:
            image = image[:, ::-1]
            boxes[:, [0, 2]] = image.shape[1] - boxes[:, [2, 0]]
        tensor = torch.from_numpy(np.ascontiguousarray(image[:, :, ::-1])).permute(2, 0, 1)  # BGR -> RGB, uint8
        target = {"boxes": torch.from_numpy(boxes), "labels": torch.full((len(boxes),), PERSON, dtype=torch.int64),
                  "image_id": self.image_ids[i]}
        return tensor, target, bad


def collate_detection(items):
    images, targets, bad = zip(*items)
    return list(images), list(targets), [b for x in bad for b in x]


def _paths(spec: DatasetSpec):
    if spec.format == "posetrack18":
        raise PosetrackError("detector fine-tuning reads COCO-format files; set data.train.format to coco or "
                             "coco-file (posetrack synth writes annotations/person_keypoints_<split>.json)")
    return coco_paths(spec)


def box_ap(ann_file, results: list[dict], image_ids=None) -> dict:
    """COCO box AP (x100) of person detections ``[{image_id, bbox xywh, score}]`` (pycocotools ``bbox``)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    names = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
    if not results:
        return {n: 0.0 for n in names}
    data = copy.copy(load_json(ann_file))
    data.setdefault("categories", [{"id": PERSON, "name": "person"}])
    for ann in data["annotations"]:  # keypoint files may lack 'area'; COCOeval's size ranges need it
        ann.setdefault("area", ann["bbox"][2] * ann["bbox"][3])
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = data
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        ev.params.catIds = [PERSON]
        if image_ids is not None:
            ev.params.imgIds = sorted(image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {n: float(v) * 100 if v >= 0 else float("nan") for n, v in zip(names, ev.stats)}
