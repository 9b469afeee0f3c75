"""The final files of a sequence, written from its partial file once the last frame is tracked.

The partial file holds what the tracker said, frame by frame. ``FinalFrames`` reads it back, post-processed when
the ``post`` section asks for it (``posetrack.results``: One-Euro smoothing streams frame by frame; gap filling
and Savitzky-Golay need whole tracks, so they hold the sequence's people in memory). Each output format is written
from those frames by its streamer, to a temporary name renamed when complete:

* ``posetrack18`` / ``posetrack21`` (``.json``): images first, then annotations, in two passes over the frames so
  nothing grows with the video's length; each frame goes through the format module's own ``to_dict``, so the
  file is what ``write_sequence`` writes;
* ``posetrack17`` and ``coco`` (``.json``): one pass (COCO keeps the network's own COCO-17 joints when the
  partial file has them, face joints included);
* ``csv`` (``.csv``): ``posetrack.results.export``'s rows (track ids contiguous in order of first appearance);
* ``mot`` (``.txt``): box tracks in the MOT text of PoseTrack21's box benchmark (``formats.mot``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from ..atomic import atomic_path
from ..errors import PosetrackError, write_error
from ..formats import coco, mot, posetrack17, posetrack18, posetrack21
from ..formats.common import MAX_TRACK_ID
from ..layouts import POSETRACK18, convert_keypoints
from ..track import relabel
from ..types import Frame, Sequence
from .outputs import read_partial, read_renames


def record_frame(record: dict, keypoints: str = "keypoints") -> Frame:
    """A ``Frame`` from one partial record (``keypoints="coco"``: the network's COCO-17 joints); arrays stay
    float64 so values keep the partial file's short decimals when written again."""
    n = len(record["track_ids"])
    return Frame(file_name=record["file_name"], image_id=record["image_id"],
                 keypoints=np.asarray(record[keypoints], np.float64).reshape(n, 17, 3),
                 boxes=np.asarray(record["boxes"], np.float64).reshape(n, 4),
                 scores=np.asarray(record["scores"], np.float64).reshape(n),
                 track_ids=np.asarray(record["track_ids"], np.int64).reshape(n) % MAX_TRACK_ID,
                 head_boxes=np.full((n, 4), np.nan), is_labeled=bool(record.get("labeled", True)),
                 width=record.get("width"), height=record.get("height"))


class FinalFrames:
    """The frames of the final files, ``(posetrack18 Frame, COCO-17 Frame or None)`` per frame; iterable as often
    as a writer needs. ``post`` (a ``PostConfig`` or None) is applied to both kinds of joints."""

    def __init__(self, partial: Path, post=None):
        self.partial = Path(partial)
        self.header, _ = read_partial(partial)
        self.name = self.header["name"]
        self.fps = float(self.header.get("fps") or 25.0)
        self.post = post if post is not None and post.active else None
        self.renames = read_renames(partial)
        self._held = None
        if self.post is not None and (self.post.fill_gaps > 0 or self.post.smooth == "savgol"):
            self._held = self._whole()  # whole tracks are needed: held in memory

    def _records(self) -> Iterator[dict]:
        for record in read_partial(self.partial)[1]:
            if self.renames:
                record["track_ids"] = relabel(record["track_ids"], self.renames).tolist()
            yield record

    def _sequence(self, frames: list[Frame], layout: str) -> Sequence:
        return Sequence(name=self.name, frames=frames, layout=layout, vid_id=self.header.get("vid_id"))

    def _whole(self) -> list[tuple[Frame, Frame | None]]:
        from ..results import postprocess

        records = list(self._records())
        ours = postprocess(self._sequence([record_frame(r) for r in records], "posetrack18"), self.post, self.fps)
        theirs = [None] * len(records)
        if any("coco" in r for r in records):
            raw = self._sequence([record_frame(r, "coco") if "coco" in r else _coco_of(record_frame(r))
                                  for r in records], "coco17")
            theirs = postprocess(raw, self.post, self.fps).frames
        return list(zip(ours.frames, theirs))

    def __iter__(self) -> Iterator[tuple[Frame, Frame | None]]:
        if self._held is not None:
            yield from self._held
            return
        smooth = smooth_raw = None
        if self.post is not None:  # One-Euro: causal, one frame at a time
            from ..results import OneEuroSmoother

            smooth, smooth_raw = OneEuroSmoother(self.post, self.fps), OneEuroSmoother(self.post, self.fps)
        for record in self._records():
            frame = record_frame(record)
            raw = record_frame(record, "coco") if "coco" in record else None
            if smooth is not None:
                frame.keypoints = smooth(frame.track_ids, frame.keypoints)
                if raw is not None:
                    raw.keypoints = smooth_raw(raw.track_ids, raw.keypoints)
            yield frame, raw

    def count(self) -> int:
        return sum(1 for _ in self._records())


def _coco_of(frame: Frame) -> Frame:
    """Poses given in PoseTrack slots, as COCO-17: the face joints other than the nose stay absent."""
    frame.keypoints = convert_keypoints(frame.keypoints, "posetrack18", "coco17").astype(np.float64)
    return frame


def finalize(partial: Path, outputs: dict[str, Path], post=None) -> FinalFrames:
    """Write every ``{format: path}`` of ``outputs`` from the partial file (post-processed as ``post`` says);
    returns the frames written. The partial file is left in place: the caller removes it once all exist."""
    unknown = [fmt for fmt in outputs if fmt not in _STREAMERS]
    if unknown:
        raise PosetrackError(f"unknown output format {unknown[0]!r}; choose from {', '.join(_STREAMERS)}")
    frames = FinalFrames(partial, post)
    for fmt, path in outputs.items():
        try:
            with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
                _STREAMERS[fmt](f, frames)
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            raise write_error(path, err) from None
    return frames


def _one(frames: FinalFrames, frame: Frame) -> Sequence:
    return frames._sequence([frame], "posetrack18")


def _dump(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _stream_images_then_annotations(f, frames: FinalFrames, module) -> int:
    total = frames.count()
    f.write('{"images":[')
    for n, (frame, _) in enumerate(frames):
        image = module.to_dict(_one(frames, frame))["images"][0]
        image["nframes"] = total
        f.write(("," if n else "") + _dump(image))
    f.write('],"annotations":[')
    first = True
    for frame, _ in frames:
        for ann in module.to_dict(_one(frames, frame))["annotations"]:
            f.write(("" if first else ",") + _dump(ann))
            first = False
    f.write('],"categories":' + _dump(module.categories()) + "}")
    return total


def _stream_posetrack18(f, frames: FinalFrames) -> int:
    return _stream_images_then_annotations(f, frames, posetrack18)


def _stream_posetrack21(f, frames: FinalFrames) -> int:
    return _stream_images_then_annotations(f, frames, posetrack21)


def _stream_posetrack17(f, frames: FinalFrames) -> int:
    f.write('{"annolist":[')
    n = 0
    for n, (frame, _) in enumerate(frames, 1):
        f.write(("," if n > 1 else "") + _dump(posetrack17.to_dict(_one(frames, frame))["annolist"][0]))
    f.write("]}")
    return n


def _stream_coco(f, frames: FinalFrames) -> int:
    f.write("[")
    first, n = True, 0
    for n, (frame, raw) in enumerate(frames, 1):
        kpts = (raw if raw is not None else _coco_of(Frame(frame.file_name, frame.image_id, frame.keypoints))).keypoints
        for p in range(len(frame)):
            entry = coco.result_entry(frame.image_id, kpts[p], frame.scores[p], frame.boxes[p])
            entry["track_id"] = int(frame.track_ids[p])
            f.write(("" if first else ",") + _dump(entry))
            first = False
    f.write("]")
    return n


def _stream_csv(f, frames: FinalFrames) -> int:
    from ..results.export import first_appearance, frame_lines, header_line

    new_ids = first_appearance(frame for frame, _ in frames)
    f.write(header_line())
    n = 0
    for n, (frame, _) in enumerate(frames, 1):
        f.writelines(frame_lines(n - 1, frame, POSETRACK18.joints, frames.fps, new_ids))
    return n


def _stream_mot(f, frames: FinalFrames) -> int:
    n = 0
    for n, (frame, _) in enumerate(frames, 1):
        rows = mot.mot_rows(frames._sequence([frame], "posetrack18"))
        rows[:, 0] = n  # 1-based position in the whole sequence
        f.write(mot.format_rows(rows))
    return n


_STREAMERS = {"posetrack18": _stream_posetrack18, "posetrack17": _stream_posetrack17,
              "posetrack21": _stream_posetrack21, "coco": _stream_coco, "csv": _stream_csv, "mot": _stream_mot}
