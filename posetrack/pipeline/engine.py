"""``Pipeline``: the models and settings of a run, loaded once and used for one sequence after another.

Both networks load in ``Pipeline(config)``, before any output file exists, so a missing weight file fails first
(offline, the error says what to download and where). ``run_sequence(job, out_dir)`` streams one sequence through
them (``posetrack.pipeline.sequence``). With ``poses`` given (``posetrack run --poses``, ``posetrack track``)
neither network loads: the given poses are tracked.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..config import PipelineConfig, TrackerConfig
from ..devices import resolve_device
from ..errors import PosetrackError
from ..layouts import convert_keypoints
from ..track import flow_from_config
from .timing import StageTimes


def tracker_config(config: PipelineConfig) -> TrackerConfig:
    """The tracker section, in the PoseTrack 2018 layout the pipeline tracks in."""
    return dataclasses.replace(config.tracker, layout="posetrack18")


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


class Pipeline:
    """Detector, pose estimator and tracker settings, loaded once and run on one sequence after another."""

    def __init__(self, config: PipelineConfig, poses: str | None = None, device: str | None = None,
                 progress: bool = True):
        from ..detect import make_box_source

        self.config = config
        self.tracker_config = tracker_config(config)
        self.poses = poses
        self.progress = progress and not config.run.quiet
        self.times = StageTimes()
        self.estimator = self.detector = None
        self._flow = None
        if poses is not None:
            if not os.path.exists(poses):
                raise PosetrackError(f"{poses}: poses file (or folder of <sequence>.json) not found")
            self.device = "cpu"
            return
        self.device = resolve_device(device or config.run.device)
        self.estimator = load_estimator(config, self.device)
        if config.detector.source == "model":
            self.detector = make_box_source(config.detector, self.device, progress=self.progress)

    @property
    def flow(self):
        """The tracker's optical flow method, built once for all sequences."""
        if self._flow is None:
            self._flow = flow_from_config(self.tracker_config)
        return self._flow

    def needs_flow(self) -> bool:
        """Whether any frame can need optical flow: propagation (with a pose network) or a flow similarity."""
        c = self.tracker_config
        return c.similarity in ("flow", "multiflow") or (c.propagate and self.poses is None)

    def run_sequence(self, job, out_dir: str | os.PathLike, video: bool | None = None,
                     output_format: str | None = None, position: int = 0):
        """Process one sequence and write ``<out_dir>/<name>.json`` (and ``.mp4``); returns a
        ``SequenceResult``."""
        from .sequence import SequenceOptions, SequenceRun

        c = self.config
        options = SequenceOptions(c.video.write if video is None else video, output_format or c.run.output_format,
                                  position)
        run = SequenceRun(self, job, out_dir, options)
        result = run.run()
        self.times = result.times
        return result
