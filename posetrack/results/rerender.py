"""Apply id edits to a result and bring its files along: the JSON, its CSV, and the overlay re-drawn from the
source video, with no network run.

Order of writing, so that a mistake leaves nothing half-done: the edits are checked and the source video opened
first; the overlay is drawn into a temporary file renamed when complete; then the JSON, then the CSV (each written
atomically). A source video that is not there still gets the JSON (and CSV) edited, and the error says so.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..config import VideoConfig
from ..errors import PosetrackError
from ..formats import from_dict_any, write_json
from ..types import Sequence
from .edit import Edit, apply_edits
from .export import write_csv
from .files import overlay_video, read_result


@dataclass
class EditOutcome:
    json_path: Path
    applied: list[dict]
    csv_path: Path | None = None
    video_path: Path | None = None
    notes: list[str] = field(default_factory=list)


def render_overlay(seq: Sequence, source: str | os.PathLike, out: str | os.PathLike,
                   video: VideoConfig | None = None) -> int:
    """Draw ``seq``'s people onto the frames of ``source`` into the H.264 ``out``, as ``posetrack run`` draws them
    (``video``: its drawing options; defaults are the run's). Returns the number of frames written."""
    from ..io import VideoWriter, open_source
    from ..viz import Trails, draw_poses

    v = video or VideoConfig()
    with open_source(source) as frames:
        info = frames.info
        if info.num_frames is not None and info.num_frames != len(seq.frames):
            raise PosetrackError(f"{source}: {info.num_frames} frames, but the result lists {len(seq.frames)}; "
                                 "give the video the run read")
        trails = Trails(v.trails) if v.trails > 0 else None
        with VideoWriter(out, info.fps, (info.width, info.height), crf=v.crf, preset=v.preset) as writer:
            for frame in frames:
                if frame.index >= len(seq.frames):
                    raise PosetrackError(f"{source}: more frames than the {len(seq.frames)} the result lists; "
                                         "give the video the run read")
                f = seq.frames[frame.index]
                writer.write(draw_poses(frame.image, f.keypoints, f.track_ids, f.boxes, layout=seq.layout,
                                        kpt_threshold=v.kpt_threshold, draw_boxes=v.draw_boxes,
                                        draw_ids=v.draw_ids, trails=trails, inplace=True))
            return writer.frames_written


def csv_rate(path: Path) -> Fraction | None:
    """The frame rate an existing export was written with (``frame / time_s`` of its first row past frame 0)."""
    from ..io.video import as_rate

    with open(path, encoding="utf-8") as f:
        next(f, None)
        for line in f:
            frame, time = line.split(",", 2)[:2]
            if time and int(frame) > 0:
                return as_rate(int(frame) / float(time))
    return None


def edit_result(json_path: str | os.PathLike, edits: list[Edit], output: str | os.PathLike | None = None,
                in_place: bool = False, video: str | os.PathLike | None = None,
                video_config: VideoConfig | None = None) -> EditOutcome:
    """Edit ``json_path`` into ``output`` (default ``<stem>.edited.json`` beside it; the input itself with
    ``in_place``), rewrite ``<stem>.csv`` when the input has one, and re-draw the overlay from ``video``."""
    source = Path(json_path)
    if in_place and output is not None:
        raise PosetrackError("give either -o or --in-place, not both")
    out = source if in_place else Path(output) if output is not None else source.with_name(
        f"{source.stem}.edited.json")
    if not in_place and out.exists() and out.resolve() == source.resolve():
        raise PosetrackError(f"{out}: is the input; pass --in-place to replace it, or another -o")
    result = read_result(source)
    data = apply_edits(result, edits)
    edited = from_dict_any(data, out)
    outcome = EditOutcome(out, data["posetrack_edits"][-len(edits):])
    overlay = out.with_suffix(".mp4")
    missing = None
    if video is not None and not os.path.exists(video):
        missing = video
    elif video is not None:
        if overlay.exists() and os.path.samefile(video, overlay) or \
                (overlay_video(source) is not None and os.path.samefile(video, overlay_video(source))):
            raise PosetrackError(f"{video}: is an overlay posetrack drew; give the source video the run read")
        render_overlay(edited, video, overlay, video_config)
        outcome.video_path = overlay
    old_csv = source.with_suffix(".csv")
    write_json(out, data)
    if old_csv.is_file():
        from ..io.video import probe_video

        rate = probe_video(os.fspath(video)).fps if outcome.video_path is not None and not os.path.isdir(video) \
            else csv_rate(old_csv)
        outcome.csv_path = out.with_suffix(".csv")
        write_csv(outcome.csv_path, edited, rate)
    if missing is not None:
        raise PosetrackError(f"{missing}: source video not found, so no overlay was drawn; {out} was edited "
                             "anyway. Give --video with the video the run read to re-draw it")
    if video is None:
        stale = f" ({overlay} still shows the ids before the edit)" if overlay.is_file() else ""
        outcome.notes.append(f"no overlay drawn: a result does not record its source video; give --video SOURCE "
                             f"to re-draw it{stale}")
    return outcome
