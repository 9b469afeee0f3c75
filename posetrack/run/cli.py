"""``posetrack run SOURCE`` and ``posetrack batch INPUT``: the commands users run on their videos and data sets.

Their options and the config they make are ``posetrack.cli.options``'s. Everything a user can get wrong ends as
one line and a non-zero exit code (``posetrack.cli.main``).
"""
from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import click

from ..cli.options import build_config, name_of, pipeline_options, setup_logging
from ..errors import raise_on_terminate


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM (job schedulers, ``kill``) unwinds the run like Ctrl-C: ``Terminated`` is raised in the main thread,
    every writer removes its temporary file, the partial file stays for a resume; the CLI exits 143."""
    if threading.current_thread() is not threading.main_thread():  # signal handlers live in the main thread only
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_on_terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("run")
@click.argument("source", type=click.Path(path_type=str))
@click.option("-o", "--output", "out_dir", default=".", show_default=True, type=click.Path(path_type=str),
              help="Folder for <name>.json and <name>.mp4.")
@click.option("--no-video", is_flag=True, help="Do not write the overlay video.")
@click.option("--restart", is_flag=True, help="Discard the partial result of an earlier run that stopped, instead "
              "of resuming it.")
@click.option("--shards", type=int, default=None, metavar="K",
              help="Split the video into K chunks tracked by K local CPU processes, ids stitched (under torchrun "
                   "the ranks are the shards).")
@click.option("--shard-overlap", type=int, default=None, metavar="FRAMES",
              help="Frames neighbouring chunks share to stitch their ids (default 3 s, at most half a chunk).")
@pipeline_options
def run_command(source, out_dir, no_video, restart, shards, shard_overlap, config_file, overrides, poses, **options):
    """Estimate and track the poses in SOURCE (a video file or a folder of frames).

    Writes OUT/<name>.json (PoseTrack 2018 by default) and OUT/<name>.mp4 (H.264 overlay: skeleton, box and id
    in a colour per track). While running, results go frame by frame to OUT/<name>.partial.jsonl; a run that
    was stopped (killed, Ctrl-C, SIGTERM) resumes there when started again with the same settings.
    """
    from ..pipeline import OutputPaths, Pipeline, SequenceJob, ensure_writable, open_frames, refuse_replacing_input

    config = build_config(config_file, overrides, video=False if no_video else None, **options)
    setup_logging(config.run.quiet)
    # Checked before the models load, so a mistyped path does not first wait for weights.
    job = SequenceJob(name_of(source), source)
    open_frames(job, config.run.folder_fps, read_ahead=0).close()
    refuse_replacing_input(OutputPaths(Path(out_dir), job.name), source, config.video.write)
    from .shards import ShardRequest, run_shards, wanted

    with sigterm_as_interrupt():
        if wanted(shards):
            result = run_shards(config, ShardRequest(job, out_dir, shards, shard_overlap, poses))
            if result is None:  # a torchrun rank other than 0: rank 0 reports
                return
        else:
            pipeline = Pipeline(config, poses=poses, restart=restart)
            ensure_writable(out_dir)
            result = pipeline.run_sequence(job, out_dir)
    if not config.run.quiet:
        click.echo(f"{result.json_path}: {result.frames} frames, {result.people} people in {result.tracks} tracks"
                   + (f"; overlay {result.video_path}" if result.video_path else "")
                   + f" ({result.frames / max(result.seconds, 1e-9):.1f} frames/s)")
        if result.people == 0:
            click.echo("note: no person was found in any frame", err=True)
        click.echo(result.times.table(), err=True)


@click.command("batch")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=str))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=str),
              help="Folder for one <sequence>.json (and .mp4) per sequence.")
@click.option("--split", default="val", show_default=True, help="PoseTrack root: the annotations/<split> to run.")
@click.option("--video/--no-video", default=None,
              help="Overlay video per sequence (default: off for PoseTrack roots, on otherwise).")
@click.option("--overwrite", is_flag=True, help="Redo sequences whose output already exists.")
@click.option("--eval", "run_eval", is_flag=True, help="Evaluate against the ground truth at the end "
              "(PoseTrack roots).")
@pipeline_options
def batch_command(input_path, out_dir, split, video, overwrite, run_eval, config_file, overrides, poses, **options):
    """Run every sequence of INPUT: a PoseTrack root (annotations/<split>/*.json), a folder of videos, or a text
    file listing videos / image folders (one per line).

    Finished sequences are skipped, so a killed batch resumes where it stopped. A sequence that fails is
    reported and the batch goes on; the exit code is 1 if any failed. Scale out with
    "torchrun --nproc-per-node N -m posetrack batch ...".
    """
    from .batch import run_batch

    config = build_config(config_file, overrides, **options)
    setup_logging(config.run.quiet)
    with sigterm_as_interrupt():
        code = run_batch(input_path, out_dir, config, split=split, video=video, overwrite=overwrite,
                         run_eval=run_eval, poses=poses)
    return code
