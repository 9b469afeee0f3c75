"""``posetrack track``: give track ids to poses that are already estimated (a PoseTrack file).

It is ``posetrack run SOURCE --poses FILE`` with another output contract: the result is the file ``-o`` names
and lists the given poses' images (names, ids, labels) rather than the video's frames. Both run the same
pipeline code (``posetrack.pipeline`` with ``poses``): no detector and no pose network; the tracker still
computes the optical flow between consecutive frames of SOURCE for the flow similarities.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import click

from ..errors import PosetrackError
from .options import CONFIG, FILL_GAPS, QUIET, SET, SMOOTH, TABLE5, build_config, setup_logging


def tracker_overrides(pairs) -> list[str]:
    """``--set`` values as ``section.key=value``; the old bare ``key=value`` form of this command (tracker keys)
    is still read, with a line saying how to write it now."""
    from ..config import TrackerConfig

    fields = TrackerConfig.__dataclass_fields__
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if sep and "." not in key:
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f"; did you mean tracker.{close[0]}?" if close else ""
                raise PosetrackError(f"--set {pair}: expected SECTION.KEY=VALUE, e.g. tracker.queue_length=5{hint}")
            click.echo(f"posetrack: warning: --set {pair} is deprecated; write --set tracker.{key}={value}",
                       err=True)
            pair = f"tracker.{key}={value}"
        out.append(pair)
    return out


@click.command("track")
@click.argument("source", type=click.Path(path_type=str))
@click.option("--poses", "poses_path", required=True, type=click.Path(path_type=str),
              help="PoseTrack file with the poses of SOURCE's frames (track ids are ignored).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Output PoseTrack file (2018, or 2021 with --format 2021).")
@click.option("--format", "fmt", type=click.Choice(["2018", "2021"]), default="2018", show_default=True)
@TABLE5
@click.option("--similarity", type=click.Choice(["bbox", "pose", "flow", "multiflow"]), default=None)
@click.option("--flow", type=click.Choice(["dis", "farneback", "raft_small", "raft_large"]), default=None)
@SMOOTH
@FILL_GAPS
@CONFIG
@SET
@QUIET
def track(source, poses_path, output, fmt, table5, similarity, flow, smooth, fill_gaps, config_file, overrides,
          quiet):
    """Give track ids to the poses in FILE, using optical flow over SOURCE (a video or a folder of frames)."""
    from ..pipeline import Pipeline, SequenceJob, ensure_writable

    sets = tracker_overrides(overrides)
    for key, value in (("tracker.similarity", similarity), ("tracker.flow", flow)):
        if value:
            sets.append(f"{key}={value}")
    config = build_config(config_file, sets, table5=table5, video=False, quiet=True, smooth=smooth,
                          fill_gaps=fill_gaps, fmt={"2018": "posetrack18", "2021": "posetrack21"}[fmt])
    setup_logging(quiet)
    out = Path(output)
    job = SequenceJob(out.stem, source, template=poses_path, json_name=out.name)
    pipeline = Pipeline(config, poses=poses_path)
    result = pipeline.run_sequence(job, ensure_writable(out.parent if str(out.parent) else "."))
    if not quiet:
        click.echo(f"{output}: {result.frames} frames, {result.people} people in {result.tracks} tracks")
