"""``make_box_source``: the person-box source a ``DetectorConfig`` describes: torchvision's Faster R-CNN
(``faster_rcnn``, torch imported only then), a detections file or ground-truth boxes (``files``)."""
from __future__ import annotations

import os

from ..config import DetectorConfig
from ..errors import PosetrackError
from .base import BoxSource
from .files import DetectionsFile, GroundTruthBoxes


def make_box_source(config: DetectorConfig, device: str = "auto", sequence: str | None = None,
                    frame_names: list[str] | None = None, progress: bool = True) -> BoxSource:
    """The box source ``config`` describes.

    For ``file``/``gt`` sources ``config.file`` may be a folder of per-video files; ``sequence`` (the video's
    name) then picks ``<folder>/<sequence>.json``. ``frame_names`` lets COCO results whose ``image_id`` is a file
    name (as AlphaPose writes them) find their frames.
    """
    if config.source == "model":
        from .faster_rcnn import FasterRCNNDetector  # torch: imported only when a detector is built

        return FasterRCNNDetector(config.variant, config.weights, score_threshold=config.score_threshold,
                                  min_size=config.min_size, max_size=config.max_size, batch_size=config.batch_size,
                                  device=device, fp16=config.fp16, progress=progress)
    path = _per_sequence_file(config.file, sequence)
    if config.source == "gt":
        return GroundTruthBoxes(path)
    return DetectionsFile(path, score_threshold=config.score_threshold, frame_names=frame_names)


def _per_sequence_file(file: str | None, sequence: str | None) -> str:
    if not file:
        raise PosetrackError("detector.file is not set; give the detections (or ground-truth) JSON with "
                             "--set detector.file=PATH")
    if not os.path.isdir(file):
        return file
    if sequence is None:
        raise PosetrackError(f"detector.file={file} is a folder; it can only be used when the video has a name "
                             "to look up <name>.json")
    path = os.path.join(file, f"{sequence}.json")
    if not os.path.isfile(path):
        raise PosetrackError(f"{path}: no detections file for sequence {sequence!r} in {file}")
    return path
