"""``track_sequence``: ids for a whole sequence of given poses held in memory (the library form of
``posetrack track``), with re-linking's renames applied to every frame they reach back to."""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

import numpy as np

from ..config.tracker import TrackerConfig
from ..errors import PosetrackError
from ..types import Sequence
from .relink import relabel
from .tracker import FlowTracker


def track_sequence(images: Iterable, sequence: Sequence, config: TrackerConfig | None = None,
                   flow: Callable | None = None, fps: float = 25.0) -> Sequence:
    """Track ids for the given poses of ``sequence`` over its ``images`` (BGR arrays, or objects with an ``.image``,
    one per frame, in order): a copy of the sequence with the tracker's ids, person scores and boxes and the output
    joint threshold applied. ``fps`` sets how long lost tracks are remembered (``tracker.relink_seconds``)."""
    tracker = FlowTracker(dataclasses.replace(config or TrackerConfig(), layout=sequence.layout), flow=flow, fps=fps)
    images = iter(images)
    out = []
    for index, frame in enumerate(sequence.frames):
        image = next(images, None)
        if image is None:
            raise PosetrackError(f"{index} images for the {len(sequence.frames)} frames of {sequence.name}; give "
                                 "one image per frame")
        tracked = tracker.update_frame(getattr(image, "image", image), frame)
        out.append(dataclasses.replace(frame, keypoints=tracked.keypoints, boxes=tracked.boxes, scores=tracked.scores,
                                       track_ids=tracked.track_ids, head_boxes=np.full((len(tracked), 4), np.nan,
                                                                                      np.float32),
                                       interpolated=np.zeros((0, frame.keypoints.shape[1]), bool)))
    if tracker.renames:  # a re-linked track's first frames carried its young id
        out = [dataclasses.replace(f, track_ids=relabel(f.track_ids, tracker.renames)) for f in out]
    return dataclasses.replace(sequence, frames=out)
