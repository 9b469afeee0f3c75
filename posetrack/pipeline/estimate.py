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
    return PoseEstimator.from_checkpoint(pose.weights, device=device, flip_test=pose.flip_test,
                                         batch_size=pose.batch_size, precision=precision)


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
