"""The pose network as the pipeline runs it (§2): loaded from the ``pose`` section, and its output moved into the
PoseTrack 2018 slots the tracker works in."""
from __future__ import annotations

import numpy as np

from ..config import PipelineConfig
from ..errors import PosetrackError
from ..layouts import convert_keypoints


def load_estimator(config: PipelineConfig, device: str):
    from ..pose.estimator import PoseEstimator

    pose = config.pose
    precision = "fp32"
    if device.startswith("cuda") and (pose.fp16 or pose.bf16):
        precision = "bf16" if pose.bf16 else "fp16"
    estimator = PoseEstimator.from_checkpoint(pose.weights, device=device, flip_test=pose.flip_test,
                                              batch_size=pose.batch_size, precision=precision)
    if pose.int8 and estimator.device.type == "cpu":
        estimator.to_int8(calibration_crops(estimator))
    return estimator


def calibration_crops(estimator, count: int = 32, sequences: int = 4, frames: int = 4) -> "torch.Tensor":
    """What ``pose.int8`` sets its activation ranges from: ``count`` crops, evenly spread over the people of a
    few fixed ``posetrack synth`` frames (clutter, pan, zoom, 3-8 people at 480-720 px, all people at least
    400 px visible) and their mirror images. The same crops every time, so an int8 run gives the same results as
    any other with the same weights. (32 crops: 3 s on one core; 64 or 116 moved no more joints.)"""
    import torch

    from ..synth.sequence import make_sequence, person_boxes

    crops = []
    for k in range(sequences):
        width = (640, 480, 720, 560)[k % 4]
        syn = make_sequence(90210 + k, frames=frames, people=3 + 5 * k // max(1, sequences - 1), width=width,
                            height=width * 3 // 4, pan=(0.0, 2.0)[k % 2], zoom=(1.0, 1.3)[k // 2 % 2])
        boxes = person_boxes(syn.scene)[0]
        for t, frame in enumerate(syn.frames):
            crops.append(estimator.crops(frame, boxes[t][syn.area[t] >= 400]))
    crops = torch.cat(crops)
    crops = torch.cat([crops, crops.flip(3)])
    return crops[torch.linspace(0, len(crops) - 1, min(count, len(crops))).long()]


class PoseStage:
    """The pose network as the pipeline runs it: poses in PoseTrack 2018 slots (a COCO-17 network's output is
    converted, the head joints estimated) plus, for COCO results, the network's own joints."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.layout = estimator.layout.name
        if self.layout not in ("coco17", "posetrack18"):
            raise PosetrackError(f"the pose network predicts layout {self.layout!r}; posetrack tracks COCO-17 or "
                                 "PoseTrack 2018 networks")

    def __call__(self, frame: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray):
        """``(keypoints in posetrack18 slots, person scores, the network's COCO-17 joints or None)``."""
        keypoints, scores = self.estimator(frame, boxes, box_scores)
        if self.layout != "coco17":
            return keypoints, scores, None
        return convert_keypoints(keypoints, "coco17", "posetrack18", estimate_head=True), scores, keypoints
