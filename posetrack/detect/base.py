"""The interface every person-box source follows, and ``make_box_source`` to build one from a config.

A ``BoxSource`` is called with a batch of frames and their indices in the video and returns one ``Detections``
per frame: ``(N, 4)`` float32 xyxy boxes in frame pixels and ``(N,)`` float32 scores, highest score first. The
detector looks at the pixels; a detections file or ground truth only at the indices (``needs_pixels`` is False,
so a caller may pass ``None`` frames).
"""
from __future__ import annotations

import abc
import os
from typing import NamedTuple, Sequence

import numpy as np

from ..config import DetectorConfig
from ..errors import PosetrackError


class Detections(NamedTuple):
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2
    scores: np.ndarray  # (N,) float32

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))


class BoxSource(abc.ABC):
    """Person boxes for frames. ``batch_size`` is how many frames the source likes per call."""

    batch_size: int = 1
    needs_pixels: bool = True

    @abc.abstractmethod
    def __call__(self, frames: Sequence[np.ndarray | None], frame_indices: Sequence[int]) -> list[Detections]:
        """One ``Detections`` per frame, in order."""

    def close(self) -> None:
        """Release what the source holds (GPU memory); the default holds nothing."""


def sorted_detections(boxes: np.ndarray, scores: np.ndarray) -> Detections:
    order = np.argsort(-scores, kind="stable")
    return Detections(np.ascontiguousarray(boxes[order], np.float32), np.ascontiguousarray(scores[order], np.float32))


def make_box_source(config: DetectorConfig, device: str = "auto", sequence: str | None = None,
                    frame_names: Sequence[str] | None = None, progress: bool = True) -> BoxSource:
    """The box source ``config`` describes.

    For ``file``/``gt`` sources ``config.file`` may be a folder of per-video files; ``sequence`` (the video's
    name) then picks ``<folder>/<sequence>.json``. ``frame_names`` lets COCO results whose ``image_id`` is a file
    name (as AlphaPose writes them) find their frames.
    """
    if config.source == "model":
        from .faster_rcnn import FasterRCNNDetector
        return FasterRCNNDetector(config.variant, config.weights, score_threshold=config.score_threshold,
                                  min_size=config.min_size, max_size=config.max_size, batch_size=config.batch_size,
                                  device=device, fp16=config.fp16, progress=progress)
    from .files import DetectionsFile, GroundTruthBoxes
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
