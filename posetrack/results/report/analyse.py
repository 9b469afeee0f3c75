"""One sequence's report data: its tracks, flags, plots and thumbnails, and with ground truth its metrics and
which flags were real."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import PosetrackError
from ...eval.names import summary
from ...formats import read_sequence_any
from ..files import overlay_video, read_result
from ..people import People
from ..stats import TrackStats, people_per_frame, track_stats
from . import plots
from .flags import Flag, FlagConfig, find_flags
from .thumbs import thumbnails

MAX_THUMBNAIL_FLAGS = 200  # a page with thousands of images is no use; the first ones in frame order are shown


@dataclass
class SequenceReport:
    name: str
    path: Path
    num_frames: int
    stats: list[TrackStats]
    flags: list[Flag]
    timeline_png: bytes
    summary_png: bytes
    left_out: int = 0                     # tracks not drawn on the timeline
    thumbs: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    metrics: dict | None = None           # mAP, MOTA, IDF1 with ground truth
    switches: dict | None = None          # precision / recall of the switch flags


def analyse(path: Path, gt: Path | None = None, video: Path | None = None,
            config: FlagConfig | None = None) -> SequenceReport:
    result = read_result(path)
    seq = result.sequence
    people = People.of(seq)
    n = len(seq.frames)
    stats = track_stats(people)
    flags = find_flags(people, n, config)
    timeline, left_out = plots.timeline(stats, flags, n)
    report = SequenceReport(path.stem, path, n, stats, flags, timeline,
                            plots.summary(stats, people_per_frame(people, n)), left_out)
    if gt is not None:
        _with_truth(report, seq, people, gt)
    _add_thumbnails(report, people, video)
    return report


def _with_truth(report: SequenceReport, seq, people: People, gt_path: Path) -> None:
    from ...eval import evaluate
    from .truth import idf1, mark_flags, pair_people, switch_scores

    gt = read_sequence_any(gt_path)
    gt.name = seq.name
    try:
        metrics = evaluate([gt], [seq])
    except PosetrackError as err:
        report.notes.append(f"no mAP/MOTA: {err}")
        metrics = None
    gt_people = People.of(gt)
    truth = pair_people(people, gt_people)
    mark_flags(report.flags, people, truth)
    report.switches = switch_scores(report.flags, truth)
    report.metrics = {"IDF1": idf1(people, truth, gt_people)}
    if metrics is not None:
        report.metrics = {**summary(metrics), **report.metrics}


def _add_thumbnails(report: SequenceReport, people: People, video: Path | None) -> None:
    draw = video is not None
    if video is None:
        video = overlay_video(report.path)
    if video is None:
        report.notes.append(f"no thumbnails: no overlay video {report.path.with_suffix('.mp4').name} beside the "
                            "JSON and no --video given")
        return
    if not os.path.exists(video):
        raise PosetrackError(f"{video}: video not found; give the overlay or the source video of {report.path}")
    flags = report.flags[:MAX_THUMBNAIL_FLAGS]
    if len(report.flags) > len(flags):
        report.notes.append(f"thumbnails for the first {len(flags)} of {len(report.flags)} flags")
    report.thumbs = thumbnails(os.fspath(video), people, flags, draw)
    report.notes.append(f"thumbnails from {'the source video' if draw else 'the overlay'} {Path(video).name}")
