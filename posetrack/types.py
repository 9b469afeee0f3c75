"""The few plain types the stages share.

A ``Sequence`` is one video's worth of people: what the PoseTrack readers return, what the synthetic world and
the tracker produce, what the writers and the evaluator consume. Arrays follow ``posetrack.geometry``'s
conventions; keypoints are in ``Sequence.layout`` (``posetrack18`` for PoseTrack files).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _empty(shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


@dataclass
class Frame:
    """The people of one frame.

    ``track_ids`` is -1 where no id is known. ``head_boxes`` (xyxy) is NaN where unknown; ground truth needs it
    for PCKh. ``ignore_regions`` are polygons ``(P, 2)`` in pixels. ``is_labeled`` says whether the frame carries
    annotation (PoseTrack val labels only some frames). ``person_ids`` (PoseTrack21's identity of a person across
    videos) is empty when unknown. ``interpolated`` ``(N, K)`` marks joints filled in across
    a gap by ``posetrack.results.fill_gaps`` rather than observed; it is empty (shape ``(0, K)``) when nothing was
    filled in, and written to PoseTrack files only where a person has such a joint.
    """

    file_name: str
    image_id: int
    keypoints: np.ndarray = field(default_factory=lambda: _empty((0, 17, 3)))
    boxes: np.ndarray = field(default_factory=lambda: _empty((0, 4)))
    scores: np.ndarray = field(default_factory=lambda: _empty((0,)))
    track_ids: np.ndarray = field(default_factory=lambda: _empty((0,), np.int64))
    head_boxes: np.ndarray = field(default_factory=lambda: _empty((0, 4)))
    ignore_regions: list[np.ndarray] = field(default_factory=list)
    is_labeled: bool = True
    width: int | None = None
    height: int | None = None
    person_ids: np.ndarray = field(default_factory=lambda: _empty((0,), np.int64))
    interpolated: np.ndarray = field(default_factory=lambda: _empty((0, 17), bool))

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])


@dataclass
class Sequence:
    """One video: its name (the file stem, e.g. ``000342_mpii_test``), its layout and its frames in order."""

    name: str
    frames: list[Frame]
    layout: str = "posetrack18"
    vid_id: int | None = None
