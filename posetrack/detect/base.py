"""The interface every person-box source follows (``posetrack.detect.sources.make_box_source`` builds one).

A ``BoxSource`` is called with a batch of frames and their indices in the video and returns one ``Detections``
per frame: ``(N, 4)`` float32 xyxy boxes in frame pixels and ``(N,)`` float32 scores, highest score first. The
detector looks at the pixels; a detections file or ground truth only at the indices (``needs_pixels`` is False,
so a caller may pass ``None`` frames).
"""
from __future__ import annotations

import abc
from typing import NamedTuple

import numpy as np


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
    def __call__(self, frames: list[np.ndarray | None], frame_indices: list[int]) -> list[Detections]:
        """One ``Detections`` per frame, in order."""

    def close(self) -> None:
        """Release what the source holds (GPU memory); the default holds nothing."""


def sorted_detections(boxes: np.ndarray, scores: np.ndarray) -> Detections:
    order = np.argsort(-scores, kind="stable")
    return Detections(np.ascontiguousarray(boxes[order], np.float32), np.ascontiguousarray(scores[order], np.float32))


def top_detections(d: Detections, max_boxes: int) -> Detections:
    """The ``max_boxes`` highest-scoring of ``d`` (all of them when there are no more), highest first."""
    if len(d.scores) <= max_boxes:
        return d
    keep = np.argsort(-d.scores, kind="stable")[:max_boxes]
    return Detections(d.boxes[keep], d.scores[keep])
