"""``posetrack track``: give track ids to poses that are already estimated (a PoseTrack 2018 file).

No pose network runs; the tracker still computes optical flow between consecutive frames of the video for the
flow similarities. ``track_given_poses`` holds the logic so that ``posetrack run --poses`` can reuse it.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

import click
import numpy as np

from ..errors import PosetrackError
from ..types import Sequence
from .tracker import TABLE5, FlowTracker, TrackerConfig


def track_given_poses(frames_iter: Iterable, sequence: Sequence, config: TrackerConfig | None = None,
                      flow=None) -> Sequence:
    """Track ``sequence``'s poses over ``frames_iter`` (BGR images, or objects with an ``.image``, one per frame
    of the sequence, in order). Returns a copy of the sequence with tracker ids, person scores and the output
    joint threshold applied; images, their order and their metadata are kept."""
    config = dataclasses.replace(config or TrackerConfig(), layout=sequence.layout)
    tracker = FlowTracker(config, flow=flow)
    out_frames = []
    frames = iter(frames_iter)
    for index, frame in enumerate(sequence.frames):
        image = next(frames, None)
        if image is None:
            raise PosetrackError(f"the video has {index} frames but the poses of {sequence.name} list "
                                 f"{len(sequence.frames)} images; give the video these poses were made from")
        image = getattr(image, "image", image)
        scores = frame.scores if len(frame.scores) == len(frame) else np.ones(len(frame), np.float32)
        tracked = tracker.update_poses(image, frame.keypoints, scores)
        out_frames.append(dataclasses.replace(
            frame, keypoints=tracked.keypoints, boxes=tracked.boxes, scores=tracked.scores,
            track_ids=tracked.track_ids, head_boxes=np.full((len(tracked), 4), np.nan, np.float32)))
    if next(frames, None) is not None:
        raise PosetrackError(f"the video has more frames than the {len(sequence.frames)} images the poses of "
                             f"{sequence.name} list; give the video these poses were made from")
    return dataclasses.replace(sequence, frames=out_frames)


def parse_overrides(pairs: Iterable[str], base: dict) -> dict:
    """``key=value`` strings for ``TrackerConfig`` fields, each value converted to the field's type."""
    types = {f.name: type(getattr(TrackerConfig(), f.name)) for f in dataclasses.fields(TrackerConfig)}
    out = dict(base)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in types:
            raise PosetrackError(f"--set {pair!r}: expected KEY=VALUE with KEY one of {', '.join(types)}")
        kind = types[key]
        try:
            if kind is bool:
                if value.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(value)
                out[key] = value.lower() in ("true", "1", "yes", "on")
            else:
                out[key] = kind(value)
        except ValueError:
            what = {bool: "true or false", int: "an integer", float: "a number"}.get(kind, "a string")
            raise PosetrackError(f"--set {pair!r}: {key} needs {what}") from None
    return out


@click.command("track")
@click.argument("source", type=click.Path())
@click.option("--poses", "poses_path", required=True, type=click.Path(),
              help="PoseTrack 2018 file with the poses of SOURCE's frames (track ids are ignored).")
@click.option("-o", "--output", required=True, type=click.Path(), help="Output PoseTrack 2018 file.")
@click.option("--table5", "row", type=click.Choice(sorted(TABLE5)), default=None,
              help="Tracking switches of a row of the paper's Table 5 (e.g. b6: multi-flow similarity).")
@click.option("--similarity", type=click.Choice(["bbox", "pose", "flow", "multiflow"]), default=None)
@click.option("--flow", type=click.Choice(["dis", "farneback", "raft_small", "raft_large"]), default=None)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Any TrackerConfig field, e.g. --set queue_length=3 --set flow_scale=1.0 (repeatable).")
def track(source, poses_path, output, row, similarity, flow, overrides):
    """Give track ids to the poses in FILE, using optical flow over SOURCE (a video or a folder of frames)."""
    from ..formats.posetrack18 import read_sequence, write_sequence
    from ..io import open_source

    base = dict(TABLE5[row]) if row else {}
    if similarity:
        base["similarity"] = similarity
    if flow:
        base["flow"] = flow
    config = TrackerConfig(**parse_overrides(overrides, base))
    sequence = read_sequence(poses_path)
    with open_source(source) as frames:
        tracked = track_given_poses(frames, sequence, config)
    write_sequence(output, tracked)
    people = sum(len(f) for f in tracked.frames)
    tracks = len({int(i) for f in tracked.frames for i in f.track_ids})
    click.echo(f"{output}: {len(tracked.frames)} frames, {people} people in {tracks} tracks")
