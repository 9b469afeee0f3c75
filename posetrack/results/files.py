"""Reading a run's result file for the result tools (export, report, edit), and finding its frame rate.

A run writes PoseTrack 2018 (default) or 2017 JSON: one entry per frame of the source, in order, so the position
of an image in the file is the frame index in the video. COCO result lists carry no frame order and no
frame list, so the tools refuse them with a line saying to run with ``--format 2018``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import PosetrackError
from ..formats import from_dict_any, load_json
from ..types import Sequence


@dataclass
class Result:
    """A result file: its path, the parsed sequence, the loaded JSON as it is, and its format."""

    path: Path
    sequence: Sequence
    data: dict
    format: str  # "posetrack18" or "posetrack17"


def read_result(path: str | os.PathLike) -> Result:
    """Read a PoseTrack 2018 or 2017 result; anything else is one ``PosetrackError`` line."""
    path = Path(path)
    if path.is_dir():
        raise PosetrackError(f"{path}: is a folder; give a result file such as {path}/<name>.json")
    data = load_json(path)
    if isinstance(data, list):
        raise PosetrackError(f"{path}: a COCO result list has no frame order; run with --format 2018 (the "
                             "default) to get a PoseTrack result these tools read")
    if not isinstance(data, dict) or not ("annolist" in data or "images" in data):
        raise PosetrackError(f"{path}: not a posetrack result (expected a PoseTrack 2018 file with images and "
                             "annotations, or a 2017 file with annolist)")
    sequence = from_dict_any(data, path)
    return Result(path, sequence, data, "posetrack17" if "annolist" in data else "posetrack18")


def overlay_video(json_path: str | os.PathLike) -> Path | None:
    """The overlay ``posetrack run`` writes beside its JSON (``OUT/<name>.mp4``), if there is one."""
    video = Path(json_path).with_suffix(".mp4")
    return video if video.is_file() else None


def frame_rate(json_path: str | os.PathLike, fps: float | None = None,
               video: str | os.PathLike | None = None) -> tuple[Fraction | None, str]:
    """The frame rate of a result and where it came from: ``fps`` when given, else the ``video``'s, else that of
    the overlay beside the JSON (written at the source's rate); ``(None, why)`` when there is none of these."""
    from ..io.video import as_rate, probe_video

    if fps is not None:
        if not fps > 0:
            raise PosetrackError(f"--fps must be positive, got {fps}")
        return as_rate(fps), "--fps"
    for candidate, what in ((video, "--video"), (overlay_video(json_path), "the overlay video")):
        if candidate is None:
            continue
        if not os.path.exists(candidate):
            raise PosetrackError(f"{candidate}: video not found; give the video the result was made from")
        if os.path.isdir(candidate):
            continue  # an image folder has no rate of its own
        return probe_video(os.fspath(candidate)).fps, f"{what} {candidate}"
    return None, "no --fps, no --video and no overlay video beside the JSON"
