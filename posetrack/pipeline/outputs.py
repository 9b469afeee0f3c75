"""Crash-safe outputs: the partial JSONL written frame by frame, and the final files streamed from it.

While a sequence runs, each frame's people are appended to ``<name>.partial.jsonl`` as one JSON object and the
file is flushed, so a crash loses at most the frame being written. Nothing else of a frame is kept in memory.
When the sequence ends, the final files (``posetrack.pipeline.finalize``) are streamed from the partial file
into temporary files renamed into place; only then is the partial file removed. So at any moment the output
folder holds complete files, or the partial file, never a truncated file that looks complete.

Partial file: a header line ``{"posetrack_partial": 1, "name", "vid_id", "layout", ..., "identity"}`` (what a
resumed run must share with it: ``pipeline.resume``), then per frame
``{"i", "file_name", "image_id", "labeled", "width", "height", "track_ids", "scores", "boxes", "keypoints"[,
"coco"]}`` (keypoints flattened ``x, y, score`` in the posetrack18 layout; ``coco``: the COCO-17 network output
when COCO results are asked for), and where re-linking recognised a young track as a lost one
``{"renames": {"<young id>": <lost id>}}`` (``FinalFrames`` gives the young id's earlier frames the lost id). A last
line cut short by a crash is ignored when reading.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..atomic import leftovers
from ..config import OUTPUT_SUFFIXES
from ..errors import PosetrackError, write_error


@dataclass
class OutputPaths:
    """Where one sequence's files go: ``<dir>/<name>.json`` (or ``json_name``), ``.csv``, ``.txt``, ``.mp4`` and
    ``.partial.jsonl``."""

    folder: Path
    name: str
    json_name: str | None = None

    @property
    def json(self) -> Path:
        return self.folder / (self.json_name or f"{self.name}.json")

    def results(self, formats: list[str]) -> dict[str, Path]:
        """``{format: file}`` of the result files of ``formats`` (``posetrack.config.OUTPUT_FORMATS``)."""
        suffixes = {fmt: OUTPUT_SUFFIXES[fmt] for fmt in formats}
        return {fmt: self.json if suffix == ".json" else self.folder / f"{self.name}{suffix}"
                for fmt, suffix in suffixes.items()}

    @property
    def video(self) -> Path:
        return self.folder / f"{self.name}.mp4"

    @property
    def partial(self) -> Path:
        return self.folder / f"{self.name}.partial.jsonl"

    def is_done(self, video: bool, formats: list[str] = ("posetrack18",)) -> bool:
        """Finished files exist (the video is closed before the results are renamed into place)."""
        return all(p.is_file() for p in self.results(list(formats)).values()) and (not video or self.video.is_file())

    def remove_leftovers(self) -> None:
        """Temporary files a killed run left behind for this name (the results' and the video's)."""
        names = {p.name for p in self.results(["posetrack18", "csv", "mot"]).values()} | {self.video.name}
        for name in names:
            for path in leftovers(self.folder, name):
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

    def __init__(self, path: Path, header: dict, resume_at: tuple[int, int] | None = None):
        """A new file with ``header``; or, with ``resume_at=(length, frames)``, an earlier run's file cut back to
        its first ``length`` bytes (``frames`` frame lines), appended to."""
        self.path = Path(path)
        try:
            self._file = open(self.path, "w" if resume_at is None else "r+", encoding="utf-8")
            if resume_at is not None:
                self._file.truncate(resume_at[0])
                self._file.seek(resume_at[0])
        except OSError as err:
            raise PosetrackError(f"{self.path}: cannot create ({err.strerror}); check the output folder") from None
        self.frames = 0 if resume_at is None else resume_at[1]
        self._failed = False
        if resume_at is None:
            self._line({"posetrack_partial": 1, **header})

    def tell(self) -> int:
        """The file's length in bytes so far (every line is flushed when written)."""
        return self._file.tell()

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

    def write_renames(self, renames: dict[int, int]) -> None:
        """Young track ids that turned out to be lost ones (``FlowTracker.renamed_now``), for every frame."""
        if renames:
            self._line({"renames": {str(young): int(lost) for young, lost in renames.items()}})

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
                if line.startswith(_RENAMES):
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    if line.endswith("\n"):
                        raise PosetrackError(f"{path}: a corrupt line in the middle of the file") from None
                    return  # the line a crash cut short
    return header, records()


_RENAMES = '{"renames":'


def read_renames(path: str | os.PathLike) -> dict[int, int]:
    """Every ``{young id: lost id}`` re-link of a partial file (complete lines only)."""
    renames: dict[int, int] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(_RENAMES) and line.endswith("\n"):
                renames.update({int(k): int(v) for k, v in json.loads(line)["renames"].items()})
    return renames
