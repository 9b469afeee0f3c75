"""What a run reads: one ``SequenceJob`` per video, image folder, or PoseTrack ground-truth sequence.

``discover_jobs`` turns ``posetrack batch``'s INPUT into jobs: a PoseTrack21 root (``posetrack_data/<split>``),
a PoseTrack 2018 root (``annotations/<split>/*.json``:
the frames are the images each file lists, read relative to the root, and the prediction keeps its file name and
image list), a folder of videos, or a text file listing sources one per line. ``open_frames`` opens a job's frames
and says, for every frame index, the file name and image id to write.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2

from ..errors import PosetrackError
from ..formats import image_id_for, posetrack21, prediction_template, read_sequence_any
from ..io import FrameSource, open_source
from ..io.video import SourceInfo, as_rate
from ..types import Frame

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts",
                    ".m2ts", ".3gp", ".ogv", ".gif", ".h264", ".264", ".h265", ".hevc", ".mjpeg")


@dataclass
class SequenceJob:
    """One sequence to process, and what its output is called.

    ``gt`` is a PoseTrack ground-truth file whose images (relative to ``source``, the data set root) are the
    frames; without it ``source`` is a video file or an image folder. ``template`` is a PoseTrack file whose image
    list (names, ids, labels) the output keeps, one image per frame of ``source`` (``posetrack track`` keeps the
    given poses' images). ``json_name`` is the output file's name (default ``<name>.json``).
    """

    name: str
    source: str
    gt: str | None = None
    template: str | None = None
    json_name: str | None = None


@dataclass
class OpenedFrames:
    """A job's frame stream plus what to write for each frame index."""

    source: FrameSource
    template: list[Frame] | None  # PoseTrack jobs: the ground truth's images, in order (no people)
    vid_id: int | None

    @property
    def num_frames(self) -> int | None:
        return len(self.template) if self.template is not None else self.source.info.num_frames

    def meta(self, index: int) -> dict:
        """``file_name``, ``image_id``, ``labeled``, ``width``, ``height`` of frame ``index``."""
        info = self.source.info
        if self.template is not None:
            f = self.template[index]
            return {"file_name": f.file_name, "image_id": f.image_id, "labeled": f.is_labeled,
                    "width": f.width or info.width, "height": f.height or info.height}
        if info.kind == "images":
            file_name = f"{info.name}/{info.files[index]}"
        else:
            file_name = f"{info.name}/{index:06d}.jpg"
        # PoseTrack-style ids (from names like 000342_mpii_test/000007.jpg) only while they stay unique: the
        # pattern holds frame numbers below 10000, so a longer video is numbered by frame index throughout.
        short = info.num_frames is not None and info.num_frames <= 10000
        image_id = image_id_for(file_name) if short else None
        return {"file_name": file_name, "image_id": index if image_id is None else image_id, "labeled": True,
                "width": info.width, "height": info.height}

    def close(self) -> None:
        self.source.close()


def open_frames(job: SequenceJob, folder_fps: float = 25.0, read_ahead: int = 8) -> OpenedFrames:
    """Open ``job``'s frames (raises ``PosetrackError`` for a missing, empty or unreadable source)."""
    if job.gt is None:
        source = open_source(job.source, fps=folder_fps if os.path.isdir(job.source) else None,
                             read_ahead=read_ahead)
        if job.template is None:
            return OpenedFrames(source, None, None)
        named = read_sequence_any(job.template)
        return OpenedFrames(source, prediction_template(named).frames, named.vid_id)
    gt = read_sequence_any(job.gt)
    template = prediction_template(gt).frames
    if not template:
        raise PosetrackError(f"{job.gt}: the ground truth lists no images")
    first = os.path.join(job.source, template[0].file_name)
    image = cv2.imread(first) if os.path.isfile(first) else None
    if image is None:
        raise PosetrackError(f"{first}: the first image {job.gt} lists is missing or unreadable; give the "
                             "PoseTrack root that holds the images/ folder")
    info = SourceInfo(path=job.source, kind="images", name=job.name, fps=as_rate(folder_fps),
                      width=image.shape[1], height=image.shape[0], num_frames=len(template),
                      files=tuple(f.file_name for f in template))
    return OpenedFrames(FrameSource(info, read_ahead), template, gt.vid_id)


def discover_jobs(input_path: str, split: str = "val") -> tuple[list[SequenceJob], str | None]:
    """Jobs for ``posetrack batch INPUT`` and, for a PoseTrack root, the ground-truth folder (else None)."""
    path = Path(input_path)
    if not path.exists():
        raise PosetrackError(f"{path}: no such file or folder; give a PoseTrack root, a folder of videos or a "
                             "text file listing videos")
    if path.is_dir():
        if posetrack21.is_dataset_root(path):  # posetrack_data/<split>/*.json, images/<split>/<seq>/
            sequences = posetrack21.dataset_sequences(path, split)
            return [SequenceJob(name, str(path), str(gt)) for name, gt, _ in sequences], str(sequences[0][1].parent)
        annotations = path / "annotations" / split
        if annotations.is_dir():
            files = sorted(annotations.glob("*.json"))
            if not files:
                raise PosetrackError(f"{annotations}: no .json sequence files for split {split!r}")
            return [SequenceJob(f.stem, str(path), str(f)) for f in files], str(annotations)
        if (path / "annotations").is_dir():
            splits = sorted(p.name for p in (path / "annotations").iterdir() if p.is_dir())
            raise PosetrackError(f"{path}: PoseTrack root without split {split!r}; choose --split from "
                                 f"{', '.join(splits) or 'none found'}")
        videos = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        if not videos:
            raise PosetrackError(f"{path}: no videos ({', '.join(VIDEO_EXTENSIONS)}) and no annotations/{split} "
                                 "folder; give a PoseTrack root, a folder of videos or a list file")
        return _unique([SequenceJob(v.stem, str(v)) for v in videos], str(path)), None
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        return [SequenceJob(path.stem, str(path))], None
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # -sig: Windows editors start with a BOM
    except (UnicodeDecodeError, OSError):
        raise PosetrackError(f"{path}: not a text file listing one video or image folder per line") from None
    jobs = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        source = Path(line) if os.path.isabs(line) else path.parent / line
        jobs.append(SequenceJob(source.stem if source.suffix else source.name, str(source)))
    if not jobs:
        raise PosetrackError(f"{path}: the list names no sources (one video or image folder per line)")
    return _unique(jobs, str(path)), None


def _unique(jobs: list[SequenceJob], where: str) -> list[SequenceJob]:
    seen: dict[str, str] = {}
    for job in jobs:
        if job.name in seen:
            raise PosetrackError(f"{where}: {seen[job.name]} and {job.source} would both write {job.name}.json; "
                                 "rename one")
        seen[job.name] = job.source
    return jobs
