"""Calibrate a posetrack detector file's scores (Platt scaling) on labelled frames and write the calibrated file.

    python scripts/calibrate_detector.py runs/demo_detector_hard.pth data/hard calib -o posetrack/data/demo_detector.pth

Runs the detector (at a 0.05 score floor) over every image of ``ROOT/annotations/person_keypoints_<SPLIT>.json``
(images without a person annotation are people-free frames: every box there is wrong), marks each box right or
wrong (IoU >= 0.5 with a person no higher-scoring box took), fits ``sigmoid(a * logit(score) + b)`` to that
(``posetrack.detect.calibration``), bakes it into the box predictor and records ``a``, ``b``, the data and the
numbers below in ``meta["score_calibration"]``. Prints, before and after: the reliability table (per score bin:
boxes, mean score, share that are people), the expected calibration error, boxes per people-free frame at 0.5 and
the recall of people at 0.5. The output is written to a temporary file and renamed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from posetrack.atomic import atomic_path
from posetrack.checkpoint_io import read_checkpoint
from posetrack.detect.calibration import bake_platt, fit_platt, match_boxes, platt, reliability
from posetrack.detect.faster_rcnn import FasterRCNNDetector
from posetrack.errors import PosetrackError

FLOOR = 0.05


def collect(weights: str, root: Path, split: str, variant: str, min_size: int, max_size: int):
    """Scores, right/wrong per box, people per image, and which images are people-free."""
    path = root / "annotations" / f"person_keypoints_{split}.json"
    if not path.is_file():
        raise PosetrackError(f"{path}: no such file; give the data root and a split it holds "
                             "(python -m posetrack.demo.hard ROOT writes 'calib')")
    coco = json.loads(path.read_text())
    truth: dict = {}
    for ann in coco["annotations"]:
        x, y, w, h = ann["bbox"]
        if ann.get("category_id", 1) == 1 and not ann.get("iscrowd", 0) and w > 1 and h > 1:
            truth.setdefault(ann["image_id"], []).append((x, y, x + w, y + h))
    detector = FasterRCNNDetector(variant, weights, score_threshold=FLOOR, min_size=min_size, max_size=max_size,
                                  batch_size=1, device="cpu")
    scores, correct, empty_boxes, people, empty_images = [], [], [], 0, 0
    for image in coco["images"]:
        frame = cv2.imread(str(root / image["file_name"]))
        if frame is None:
            raise PosetrackError(f"{root / image['file_name']}: missing or unreadable")
        d = detector([frame])[0]
        gt = np.asarray(truth.get(image["id"], []), np.float64).reshape(-1, 4)
        scores.append(d.scores)
        correct.append(match_boxes(d.boxes, d.scores, gt))
        people += len(gt)
        if len(gt) == 0:
            empty_images += 1
            empty_boxes.append(d.scores)
    flat = np.concatenate(empty_boxes) if empty_boxes else np.zeros(0)
    return np.concatenate(scores), np.concatenate(correct), people, empty_images, flat


def summary(name: str, scores, correct, people: int, empty_images: int, empty_scores) -> dict:
    rows, ece = reliability(scores, correct)
    print(f"\n{name}: expected calibration error {ece:.3f}")
    print(f"{'score':>12} {'boxes':>6} {'mean':>6} {'people':>7}")
    for low, high, n, mean, hit in rows:
        print(f"{low:5.2f}-{high:4.2f} {n:>8} {mean:6.2f} {hit:7.2f}")
    false_per_frame = float((empty_scores >= 0.5).sum() / max(empty_images, 1))
    kept = correct[scores >= 0.5]
    recall = float(kept.sum() / max(people, 1))
    precision = f"{kept.mean():.3f}" if len(kept) else "-"
    print(f"at 0.5: {false_per_frame:.2f} boxes per people-free frame ({empty_images} frames), recall {recall:.3f} "
          f"({people} people), precision {precision}")
    return {"ece": round(ece, 4), "false_boxes_per_empty_frame": round(false_per_frame, 3),
            "recall": round(recall, 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", help="a posetrack detector file (train-detector checkpoint or demo export)")
    ap.add_argument("root", type=Path, help="data root with annotations/person_keypoints_<SPLIT>.json")
    ap.add_argument("split")
    ap.add_argument("-o", "--out", required=True, help="the calibrated file")
    ap.add_argument("--variant", default="mobilenet_v3_large_320_fpn")
    ap.add_argument("--min-size", type=int, default=320)
    ap.add_argument("--max-size", type=int, default=640)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    start = time.perf_counter()
    scores, correct, people, empty_images, empty_scores = collect(args.weights, args.root, args.split,
                                                                   args.variant, args.min_size, args.max_size)
    before = summary("raw scores", scores, correct, people, empty_images, empty_scores)
    try:
        a, b = fit_platt(scores, correct)
    except ValueError as err:
        raise PosetrackError(f"{args.root}/{args.split}: {err}; calibrate on frames with people and without")
    after = summary(f"calibrated: sigmoid({a:.3f} * logit(s) + {b:.3f})", platt(scores, a, b), correct, people,
                    empty_images, platt(empty_scores, a, b))
    raw = read_checkpoint(args.weights, "detector weights")
    if not isinstance(raw, dict) or raw.get("format") != "posetrack.detector":
        raise PosetrackError(f"{args.weights}: not a posetrack detector file")
    meta = dict(raw.get("meta") or {})
    meta["score_calibration"] = {"a": a, "b": b, "data": f"{args.root.name}/{args.split}", "boxes": int(len(scores)),
                                 "people": people, "people_free_frames": empty_images, "floor": FLOOR,
                                 "before": before, "after": after}
    with atomic_path(args.out) as tmp:
        torch.save({**raw, "model": bake_platt(raw["model"], a, b), "meta": meta}, tmp)
    print(f"\nwrote {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PosetrackError as err:
        sys.exit(f"calibrate_detector: {err}")
