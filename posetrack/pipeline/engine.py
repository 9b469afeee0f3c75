"""``Pipeline``: the models and settings of a run, loaded once and used for one sequence after another.

Both networks load in ``Pipeline(config)``, before any output file exists, so a missing weight file fails first
(offline, the error says what to download and where). ``run_sequence(job, out_dir)`` streams one sequence through
them (``posetrack.pipeline.sequence``). With ``poses`` given (``posetrack run --poses``, ``posetrack track``)
neither network loads: the given poses are tracked.
"""
from __future__ import annotations

import dataclasses
import os

from ..config import PipelineConfig, TrackerConfig
from ..devices import resolve_device
from ..errors import PosetrackError
from ..track import flow_from_config
from .estimate import load_estimator
from .lock import OutputLock
from .outputs import ensure_writable
from .sequence import SequenceOptions, SequenceRun
from .timing import StageTimes


def tracker_config(config: PipelineConfig) -> TrackerConfig:
    """The tracker section, in the PoseTrack 2018 layout the pipeline tracks in."""
    return dataclasses.replace(config.tracker, layout="posetrack18")


class Pipeline:
    """Detector, pose estimator and tracker settings, loaded once and run on one sequence after another."""

    def __init__(self, config: PipelineConfig, poses: str | None = None, device: str | None = None,
                 progress: bool = True, restart: bool = False):
        from ..detect import make_box_source

        self.config = config
        self.restart = restart  # discard earlier runs' partial files instead of resuming them
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
        c = self.config
        options = SequenceOptions(c.video.write if video is None else video, output_format or c.run.output_format,
                                  position, self.restart)
        run = SequenceRun(self, job, out_dir, options)
        with OutputLock(ensure_writable(out_dir), job.name):  # before anything of the name is touched
            result = run.run()
        self.times = result.times
        return result
