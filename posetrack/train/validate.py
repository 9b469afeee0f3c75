"""Validation during training, through the same ``PoseEstimator`` that inference uses.

* COCO: every person box of every image (ground-truth boxes, or a COCO detection file such as the paper's
  ``COCO_val2017_detections_AP_H_56_person.json``) goes through the network with flip test; each pose is rescored
  (box score x mean of its joint scores above 0.2) and each image's poses pass OKS-NMS at 0.9, as the official
  ``coco.py`` ``evaluate``; pycocotools then gives the keypoint AP.
* PoseTrack 2018: ground-truth boxes (keypoint box +15%) of every labelled frame; the mAP of the official
  evaluation (``posetrack.eval.evaluate``). A network in the COCO-17 layout is scored through
  ``convert_keypoints`` (head estimated), as ``posetrack run`` writes its output.

Both can also write what they scored (``results``): the COCO keypoint results JSON of the official
``_write_coco_keypoint_results``, or one PoseTrack 2018 prediction file per ground-truth sequence file.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import PosetrackError
from ..formats import posetrack18, prediction_template
from ..formats import load_json
from ..formats.coco import box_results, result_entry, write_results
from ..formats.common import present_joints
from ..geometry import BOX_ENLARGE, box_to_center_scale, keypoint_boxes
from ..layouts import convert_keypoints
from ..pose.decode import pose_nms
from .samples import IMREAD_FLAGS, DatasetSpec, Samples, coco_paths

FRAMES_PER_CALL = 8  # images whose boxes share the estimator's batches


def read_detections(path: str | Path, image_ids, min_score: float = 0.0) -> dict:
    """``{image_id: (boxes xyxy, scores)}`` of the person detections in a COCO results JSON, for every id of
    ``image_ids`` (boxes of other images are left out)."""
    results = box_results(load_json(path), path)
    known = set(image_ids)
    named = np.array([i in known for i in results.image_ids], bool)
    if len(results.image_ids) and known and not named.any():
        raise PosetrackError(f"detections {path}: no person box names an image of the data set; is it the "
                             "detection file of this split?")
    groups = results.groups([i if k else -1 for i, k in zip(results.image_ids, named)],
                            named & (results.scores >= min_score))
    empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    return {i: groups.get(i, empty) for i in image_ids}


def validate_coco(estimator, samples: Samples, spec: DatasetSpec, boxes: str = "gt", max_images: int = 0,
                  min_box_score: float = 0.0, progress: bool = False, results: str | Path | None = None) -> dict:
    """pycocotools' keypoint AP, AR (x100); ``results``: also write the scored result list there (atomically)."""
    from ..eval import coco_ap

    ann_file, _ = coco_paths(spec)
    order = np.arange(len(samples.image_paths))
    if max_images:
        order = order[:max_images]
    if boxes == "gt":
        by_image = np.argsort(samples.image_index, kind="stable")
        counts = np.bincount(samples.image_index, minlength=len(samples.image_paths))
        groups = np.split(by_image, np.cumsum(counts)[:-1])
        per_image = {i: (samples.boxes[groups[i]], None) for i in order}
    else:
        dets = read_detections(boxes, [samples.image_ids[i] for i in order], min_box_score)
        per_image = {i: dets[samples.image_ids[i]] for i in order}
    sigmas = estimator.layout.sigmas
    aspect = estimator.input_size[0] / estimator.input_size[1]
    entries = []
    todo = [i for i in order if len(per_image[i][0])]
    for start in tqdm(range(0, len(todo), FRAMES_PER_CALL), desc="validate", leave=False, disable=not progress):
        chunk = todo[start:start + FRAMES_PER_CALL]
        frames = [cv2.imread(samples.image_paths[i], IMREAD_FLAGS) for i in chunk]
        chunk = [i for i, f in zip(chunk, frames) if f is not None]
        frames = [f for f in frames if f is not None]
        outputs = estimator.estimate_frames(frames, [per_image[i][0] for i in chunk], [per_image[i][1] for i in chunk])
        for i, (kpts, scores) in zip(chunk, outputs):
            _, scales = box_to_center_scale(per_image[i][0], aspect)
            for k in pose_nms(kpts, scores, scales, sigmas):
                entries.append(result_entry(samples.image_ids[i], kpts[k], scores[k]))
    if results is not None:
        write_results(results, entries)
    image_ids = [samples.image_ids[i] for i in order] if max_images else None
    return coco_ap(str(ann_file), entries, image_ids=image_ids)


def validate_posetrack(estimator, spec: DatasetSpec, max_images: int = 0, progress: bool = False,
                       results: str | Path | None = None) -> dict:
    """poseval's mAP, per-joint-group AP and MOTA; ``results``: also write the predictions to that folder, one
    PoseTrack 2018 file per ground-truth file, under the same name (the track ids are the ground truth's)."""
    from ..eval.evaluation import evaluate
    from ..eval.names import summary

    folder = Path(spec.root) / "annotations" / spec.split
    files = sorted(folder.glob("*.json"))
    if not files:
        raise PosetrackError(f"no PoseTrack annotation files in {folder}")
    gts, preds, seen = [], [], 0
    for path in tqdm(files, desc="validate", leave=False, disable=not progress):
        gt = posetrack18.read_sequence(path)
        pred = prediction_template(gt)
        for f, p in zip(gt.frames, pred.frames):
            if not len(f) or (max_images and seen >= max_images):
                continue
            seen += 1
            frame = cv2.imread(str(Path(spec.root) / f.file_name), IMREAD_FLAGS)
            if frame is None:
                continue
            joints = f.keypoints.copy()
            joints[..., 2] = present_joints(joints)
            people = joints[..., 2].any(1)
            boxes = keypoint_boxes(joints[people], min_score=0, enlarge=BOX_ENLARGE)
            p.keypoints, p.scores = estimator(frame, boxes)
            if estimator.layout.name != "posetrack18":
                p.keypoints = convert_keypoints(p.keypoints, estimator.layout, "posetrack18")
            p.boxes, p.track_ids = boxes, f.track_ids[people].copy()
        gts.append(gt)
        preds.append(pred)
    result = evaluate(gts, preds)
    if results is not None:
        for path, pred in zip(files, preds):
            posetrack18.write_sequence(Path(results) / path.name, pred)
    return summary(result)
