"""Crash-safe outputs: the partial JSONL written frame by frame, and the final files streamed from it.

While a sequence runs, each frame's people are appended to ``<name>.partial.jsonl`` as one JSON object and the
file is flushed, so a crash loses at most the frame being written. Nothing else of a frame is kept in memory.
When the sequence ends, the final JSON (PoseTrack 2018 / 2017 or COCO results) is streamed from the partial
file into a temporary file that is renamed into place; only then is the partial file removed. So at any moment
the output folder holds complete files, or the partial file, never a truncated JSON that looks complete.

Partial file: a header line ``{"posetrack_partial": 1, "name", "vid_id", "layout", ...}``, then per frame
``{"i", "file_name", "image_id", "labeled", "width", "height", "track_ids", "scores", "boxes", "keypoints"[,
"coco"]}`` (keypoints flattened ``x, y, score`` in the posetrack18 layout; ``coco``: the COCO-17 network output
when COCO results are asked for). A last line cut short by a crash is ignored when reading.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..atomic import atomic_path, leftovers
from ..errors import PosetrackError, write_error
from ..formats import coco, posetrack17, posetrack18
from ..formats.common import MAX_TRACK_ID
from ..layouts import convert_keypoints
from ..types import Frame, Sequence

log = logging.getLogger("posetrack.run")

FORMATS = ("posetrack18", "posetrack17", "coco")


@dataclass
class OutputPaths:
    """Where one sequence's files go: ``<dir>/<name>.json`` (or ``json_name``), ``.mp4`` and ``.partial.jsonl``."""

    folder: Path
    name: str
    json_name: str | None = None

    @property
    def json(self) -> Path:
        return self.folder / (self.json_name or f"{self.name}.json")

    @property
    def video(self) -> Path:
        return self.folder / f"{self.name}.mp4"

    @property
    def partial(self) -> Path:
        return self.folder / f"{self.name}.partial.jsonl"

    def is_done(self, video: bool) -> bool:
        """Finished files exist (the video is closed before the JSON is renamed into place)."""
        return self.json.is_file() and (not video or self.video.is_file())

    def remove_leftovers(self) -> None:
        """Temporary files a killed run left behind for this name (the JSON's and the video's)."""
        for path in leftovers(self.folder, self.json.name) + leftovers(self.folder, self.video.name):
            path.unlink(missing_ok=True)


def ensure_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that files can be created in it (one line if not)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise PosetrackError(f"{folder}: is a file, not a folder; choose another output folder with -o")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".posetrack-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise PosetrackError(f"{folder}: cannot write output files there ({err.strerror or err}); choose another "
                             "folder with -o") from None
    return folder


def refuse_replacing_input(paths: OutputPaths, source: str, video: bool) -> None:
    """One line when the overlay would be written over the video it is drawn from (``run clip.mp4 -o .``)."""
    if video and os.path.isfile(source) and paths.video.is_file() and os.path.samefile(paths.video, source):
        raise PosetrackError(f"{source}: the overlay video {paths.video} would replace it; choose another output "
                             "folder with -o, or --no-video")


def _round(values: np.ndarray, decimals: int) -> list:
    return np.round(np.asarray(values, np.float64), decimals).tolist()


class PartialWriter:
    """Appends one JSON line per frame to the partial file, flushed to the OS after every frame."""

    def __init__(self, path: Path, header: dict):
        self.path = Path(path)
        try:
            self._file = open(self.path, "w", encoding="utf-8")
        except OSError as err:
            raise PosetrackError(f"{self.path}: cannot create ({err.strerror}); check the output folder") from None
        self.frames = 0
        self._failed = False
        self._line({"posetrack_partial": 1, **header})

    def _line(self, record: dict) -> None:
        try:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as err:
            self._failed = True
            raise write_error(self.path, err) from None

    def write_frame(self, index: int, meta: dict, people=None, coco_keypoints=None) -> None:
        """One frame: ``people`` has ``track_ids``, ``scores``, ``boxes`` and ``keypoints`` (a ``TrackedFrame``;
        None for a frame without people); ``coco_keypoints`` the network's own COCO-17 joints of each."""
        n = 0 if people is None else len(people.track_ids)
        empty = np.zeros(0)
        track_ids, scores, boxes, keypoints = ((people.track_ids, people.scores, people.boxes, people.keypoints)
                                               if people is not None else ([], empty, empty, empty))
        record = {"i": int(index), **meta, "track_ids": np.asarray(track_ids, np.int64).tolist(),
                  "scores": _round(scores, 4), "boxes": _round(np.reshape(boxes, (n, 4)), 2),
                  # x, y to 1/100 px, scores to 1e-4: the file stays small and nothing a metric sees changes.
                  "keypoints": _round(np.reshape(keypoints, (n, 51)), 3)}
        if coco_keypoints is not None:
            record["coco"] = _round(np.reshape(coco_keypoints, (n, 51)), 3)
        self._line(record)
        self.frames += 1

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._file.close()
        except OSError as err:
            if not self._failed:  # else the write that failed was reported already
                raise write_error(self.path, err) from None


def read_partial(path: str | os.PathLike) -> tuple[dict, Iterator[dict]]:
    """The header and an iterator over the frame records of a partial file (a cut-off last line is skipped)."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("posetrack_partial") != 1:
        raise PosetrackError(f"{path}: not a posetrack partial results file")

    def records():
        with open(path, encoding="utf-8") as f:
            f.readline()
            for line in f:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    if line.endswith("\n"):
                        raise PosetrackError(f"{path}: a corrupt line in the middle of the file") from None
                    return  # the line a crash cut short
    return header, records()


def record_frame(record: dict) -> Frame:
    """A ``Frame`` (posetrack18 keypoints) from one partial record; arrays stay float64 so values keep the
    partial file's short decimals when written again."""
    n = len(record["track_ids"])
    return Frame(file_name=record["file_name"], image_id=record["image_id"],
                 keypoints=np.asarray(record["keypoints"], np.float64).reshape(n, 17, 3),
                 boxes=np.asarray(record["boxes"], np.float64).reshape(n, 4),
                 scores=np.asarray(record["scores"], np.float64).reshape(n),
                 track_ids=np.asarray(record["track_ids"], np.int64).reshape(n) % MAX_TRACK_ID,
                 head_boxes=np.full((n, 4), np.nan), is_labeled=bool(record.get("labeled", True)),
                 width=record.get("width"), height=record.get("height"))


def finalize(partial: Path, out: Path, fmt: str) -> int:
    """Stream the partial file into the final ``fmt`` file at ``out`` (temporary name, then rename); returns
    the number of frames. The partial file is left in place: the caller removes it once ``out`` exists."""
    if fmt not in FORMATS:
        raise PosetrackError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    header, records = read_partial(partial)
    try:
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
            frames = _STREAMERS[fmt](f, partial, header, records)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        raise write_error(out, err) from None
    return frames


def _one_frame(header: dict, record: dict) -> Sequence:
    return Sequence(name=header["name"], frames=[record_frame(record)], vid_id=header.get("vid_id"))


def _dump(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _stream_posetrack18(f, partial, header, records) -> int:
    # Two passes over the partial file (images, then annotations) so nothing grows with the video's length;
    # each frame goes through the format module's own to_dict, so the output is what write_sequence writes.
    frames = sum(1 for _ in read_partial(partial)[1])
    f.write('{"images":[')
    for n, record in enumerate(records):
        image = posetrack18.to_dict(_one_frame(header, record))["images"][0]
        image["nframes"] = frames
        f.write(("," if n else "") + _dump(image))
    f.write('],"annotations":[')
    first = True
    for record in read_partial(partial)[1]:
        for ann in posetrack18.to_dict(_one_frame(header, record))["annotations"]:
            f.write(("" if first else ",") + _dump(ann))
            first = False
    f.write('],"categories":' + _dump(posetrack18.categories()) + "}")
    return frames


def _stream_posetrack17(f, partial, header, records) -> int:
    f.write('{"annolist":[')
    n = 0
    for n, record in enumerate(records, 1):
        f.write(("," if n > 1 else "") + _dump(posetrack17.to_dict(_one_frame(header, record))["annolist"][0]))
    f.write("]}")
    return n


def _stream_coco(f, partial, header, records) -> int:
    f.write("[")
    first, n = True, 0
    for n, record in enumerate(records, 1):
        people = len(record["track_ids"])
        if "coco" in record:
            kpts = np.asarray(record["coco"], np.float64).reshape(people, 17, 3)
        else:  # poses given in PoseTrack slots: COCO's face joints other than the nose stay absent
            kpts = convert_keypoints(np.asarray(record["keypoints"]).reshape(people, 17, 3), "posetrack18",
                                     "coco17").astype(np.float64)
        boxes = np.asarray(record["boxes"], np.float64).reshape(people, 4)
        for p in range(people):
            entry = coco.result_entry(record["image_id"], kpts[p], record["scores"][p], boxes[p])
            entry["track_id"] = int(record["track_ids"][p])
            f.write(("" if first else ",") + _dump(entry))
            first = False
    f.write("]")
    return n


_STREAMERS = {"posetrack18": _stream_posetrack18, "posetrack17": _stream_posetrack17, "coco": _stream_coco}
