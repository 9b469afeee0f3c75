"""What each frame brings to the tracker: the detector's boxes (or a detections file's, or the ground truth's),
or the poses a user gave.

``box_source_for`` picks the source of one sequence; ``detected_frames`` and ``given_frames`` stream
``FrameWork`` items, one per decoded frame, in order. The detector sees ``batch_size`` frames per call;
``on_decode(image)`` sees each frame as soon as it is decoded (the pipeline starts its optical flow there).
``detector.max_boxes`` caps every source's boxes per frame (the highest scores kept); ``detector.every`` runs
the source on every N-th frame only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..config import DetectorConfig
from ..detect import Detections, top_detections
from ..errors import PosetrackError
from ..formats import read_sequence_any
from ..io import SourceFrame
from ..types import Frame, Sequence
from .timing import StageTimes


@dataclass
class FrameWork:
    """One decoded frame and what the tracker gets for it: detector ``boxes`` and ``scores``, or given ``poses``."""

    frame: SourceFrame
    boxes: np.ndarray | None = None
    scores: np.ndarray | None = None
    poses: Frame | None = None


def box_source_for(pipeline, job, opened):
    """The sequence's feed: its given poses (a ``Sequence``), the loaded detector, or a file-backed box source."""
    from ..detect import make_box_source

    if pipeline.poses is not None:
        poses = pipeline.poses
        path = os.path.join(poses, f"{job.name}.json") if os.path.isdir(poses) else poses
        given = read_sequence_any(path)
        count = opened.source.info.num_frames
        if count is not None and count != len(given.frames):
            raise PosetrackError(f"{path}: lists {len(given.frames)} images but {job.source} has {count} frames; "
                                 "give the poses made from this video")
        return given
    if pipeline.detector is not None:
        return pipeline.detector
    names = None
    if opened.template is not None:
        names = [f.file_name for f in opened.template]
    elif opened.source.info.kind == "images":
        names = list(opened.source.info.files)
    return make_box_source(pipeline.config.detector, pipeline.device, sequence=job.name, frame_names=names)


def detected_frames(frames, box_source, times: StageTimes, on_decode: Callable | None = None,
                    detector: DetectorConfig | None = None) -> Iterator[FrameWork]:
    """Each frame with its boxes (at most ``detector.max_boxes``), the box source called on ``batch_size``
    frames at a time. With ``detector.every = N`` only frames 0, N, 2N, ... go to the box source; the frames
    between get no boxes (the tracker's propagated boxes stand in for them, §3.1) and wait, in order, with the
    detector's frames of their batch."""
    detector = detector or DetectorConfig()
    size = box_source.batch_size if box_source.needs_pixels else 1
    pending, batch = [], []  # every frame decoded since the last batch went out; those the detector looks at
    iterator = iter(frames)
    while True:
        with times("decode"):
            frame = next(iterator, None)
        if frame is not None:
            pending.append(frame)
            if frame.index % detector.every == 0:
                batch.append(frame)
            if on_decode is not None:
                on_decode(frame.image)
        if pending and (frame is None or len(batch) >= size):
            found = {}
            if batch:
                with times("detect"):
                    images = [f.image for f in batch] if box_source.needs_pixels else [None] * len(batch)
                    detections = box_source(images, [f.index for f in batch])
                    found = {f.index: top_detections(d, detector.max_boxes) for f, d in zip(batch, detections)}
                times.count("detected", len(batch))
            for f in pending:
                d = found.get(f.index, _NO_BOXES)
                yield FrameWork(f, boxes=d.boxes, scores=d.scores)
            pending, batch = [], []
        if frame is None:
            return


_NO_BOXES = Detections.empty()


def given_frames(frames, poses: Sequence, times: StageTimes,
                 on_decode: Callable | None = None) -> Iterator[FrameWork]:
    """Each frame with the given poses of the image at its index."""
    iterator = iter(frames)
    while True:
        with times("decode"):
            frame = next(iterator, None)
        if frame is None:
            return
        if on_decode is not None:
            on_decode(frame.image)
        if frame.index >= len(poses.frames):
            raise PosetrackError(f"the video has more frames than the {len(poses.frames)} images the poses "
                                 f"of {poses.name} list; give the poses made from this video")
        yield FrameWork(frame, poses=poses.frames[frame.index])
