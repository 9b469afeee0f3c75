"""``posetrack run SOURCE`` and ``posetrack batch INPUT``: the commands users run on their videos and data sets.

Settings come from the typed ``PipelineConfig`` (``--config`` file, then ``--set key=value``, then the explicit
options below, which are shorthands for config keys). Everything a user can get wrong ends as one line and a
non-zero exit code (``posetrack.cli.main``).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from ..errors import PosetrackError

FORMAT_CHOICES = {"2018": "posetrack18", "2017": "posetrack17", "coco": "coco", "posetrack18": "posetrack18",
                  "posetrack17": "posetrack17"}


def _common_options(func):
    """Options shared by ``run`` and ``batch``, applied bottom-up so ``--help`` lists them in this order."""
    options = [
        click.option("--config", "config_file", metavar="FILE",
                     help="YAML config, or a shipped one: paper_r50_256x192, paper_r152_384x288, fast_cpu."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Override a config key, e.g. --set tracker.flow_preset=fast (repeatable)."),
        click.option("--format", "fmt", type=click.Choice(["2018", "2017", "coco"]), default=None,
                     help="Output JSON: PoseTrack 2018 (default), PoseTrack 2017, or COCO results with track_id."),
        click.option("--detections", metavar="FILE", help="Boxes from a COCO results or PoseTrack file (or a "
                     "folder of <sequence>.json) instead of the detector."),
        click.option("--gt-boxes", metavar="FILE", help="Ground-truth keypoint boxes (+15%) of a PoseTrack file "
                     "(or folder) instead of the detector: the paper's GT-box setting."),
        click.option("--poses", metavar="FILE", help="Track these poses (PoseTrack file, or folder of "
                     "<sequence>.json): no detector, no pose network."),
        click.option("--pose-weights", metavar="NAME|FILE", help="Pose weights: a registry name "
                     "('posetrack weights list') or a checkpoint file. Default: mmpose_res50_coco_256x192."),
        click.option("--detector-weights", metavar="FILE", help="A local torchvision Faster R-CNN state_dict "
                     "(default: torchvision's COCO weights)."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
                     help="Where the networks run (default auto: CUDA when available)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Frames per detector forward pass (detector.batch_size)."),
        click.option("--kpt-threshold", type=click.FloatRange(0, 1), default=None,
                     help="Overlay: joints scoring below are not drawn (default 0.4)."),
        click.option("--no-boxes", is_flag=True, help="Overlay: no boxes."),
        click.option("--no-ids", is_flag=True, help="Overlay: no track id labels."),
        click.option("--trails", type=click.IntRange(min=0), default=None,
                     help="Overlay: motion trails of N frames."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bars or timing summary; errors only."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_config(config_file, overrides, fmt=None, detections=None, gt_boxes=None, pose_weights=None,
                 detector_weights=None, device=None, batch_size=None, kpt_threshold=None, no_boxes=False,
                 no_ids=False, trails=None, quiet=False, video=None):
    """The ``PipelineConfig`` of a command line: file, ``--set``s, then the shorthand options."""
    from ..config import PipelineConfig, load_config

    if detections and gt_boxes:
        raise PosetrackError("give either --detections or --gt-boxes, not both")
    extra = []

    def put(key, value):
        extra.append(f"{key}={json.dumps(value)}")  # JSON is YAML: paths with ':' or spaces survive

    if fmt:
        put("run.output_format", FORMAT_CHOICES[fmt])
    if detections:
        put("detector.source", "file")
        put("detector.file", detections)
    if gt_boxes:
        put("detector.source", "gt")
        put("detector.file", gt_boxes)
    for key, value in (("pose.weights", pose_weights), ("detector.weights", detector_weights),
                       ("run.device", device), ("detector.batch_size", batch_size),
                       ("video.kpt_threshold", kpt_threshold), ("video.trails", trails), ("video.write", video)):
        if value is not None:
            put(key, value)
    if no_boxes:
        put("video.draw_boxes", False)
    if no_ids:
        put("video.draw_ids", False)
    if quiet:
        put("run.quiet", True)
    return load_config(PipelineConfig, config_file, list(overrides) + extra)


class _EchoHandler(logging.Handler):
    """Log records as ``posetrack: warning: ...`` lines on the stderr of the moment (tqdm-safe via click)."""

    def emit(self, record):
        try:
            click.echo(f"posetrack: {record.levelname.lower()}: {record.getMessage()}", err=True)
        except Exception:  # noqa: BLE001 - logging must never break a run
            self.handleError(record)


def _setup_logging(quiet: bool) -> None:
    """Warnings of the stages (a truncated video, an unreadable image) as one plain line each.

    The logger is put back as it was when the command ends, so in-process callers (tests, notebooks) keep
    their own logging.
    """
    logger = logging.getLogger("posetrack")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    for handler in [h for h in logger.handlers if isinstance(h, _EchoHandler)]:
        logger.removeHandler(handler)
    logger.addHandler(_EchoHandler())
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False

    def restore():
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]

    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(restore)


@click.command("run")
@click.argument("source", type=click.Path(path_type=str))
@click.option("-o", "--output", "out_dir", default=".", show_default=True, type=click.Path(path_type=str),
              help="Folder for <name>.json and <name>.mp4.")
@click.option("--no-video", is_flag=True, help="Do not write the overlay video.")
@_common_options
def run_command(source, out_dir, no_video, config_file, overrides, fmt, detections, gt_boxes, poses, pose_weights,
                detector_weights, device, batch_size, kpt_threshold, no_boxes, no_ids, trails, quiet):
    """Estimate and track the poses in SOURCE (a video file or a folder of frames).

    Writes OUT/<name>.json (PoseTrack 2018 by default) and OUT/<name>.mp4 (H.264 overlay: skeleton, box and id
    in a colour per track). While running, results go frame by frame to OUT/<name>.partial.jsonl.
    """
    from ..pipeline import Pipeline
    from .inputs import SequenceJob, open_frames
    from .outputs import OutputPaths, ensure_writable, refuse_replacing_input

    config = build_config(config_file, overrides, fmt, detections, gt_boxes, pose_weights, detector_weights,
                          device, batch_size, kpt_threshold, no_boxes, no_ids, trails, quiet,
                          video=False if no_video else None)
    _setup_logging(config.run.quiet)
    # Checked before the models load, so a mistyped path does not first wait for weights.
    job = SequenceJob(_name_of(source), source)
    open_frames(job, config.run.folder_fps, read_ahead=0).close()
    refuse_replacing_input(OutputPaths(Path(out_dir), job.name), source, config.video.write)
    pipeline = Pipeline(config, poses=poses)
    ensure_writable(out_dir)
    result = pipeline.run_sequence(job, out_dir)
    if not config.run.quiet:
        click.echo(f"{result.json_path}: {result.frames} frames, {result.people} people in {result.tracks} tracks"
                   + (f"; overlay {result.video_path}" if result.video_path else "")
                   + f" ({result.frames / max(result.seconds, 1e-9):.1f} frames/s)")
        if result.people == 0:
            click.echo("note: no person was found in any frame", err=True)
        click.echo(result.times.table(), err=True)


def _name_of(source: str) -> str:
    import os

    path = os.path.abspath(source)  # "." and "frames/" are named like the folder they are
    stem, ext = os.path.splitext(os.path.basename(path))
    return stem if ext and not os.path.isdir(path) else os.path.basename(path)


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
@_common_options
def batch_command(input_path, out_dir, split, video, overwrite, run_eval, config_file, overrides, fmt, detections,
                  gt_boxes, poses, pose_weights, detector_weights, device, batch_size, kpt_threshold, no_boxes,
                  no_ids, trails, quiet):
    """Run every sequence of INPUT: a PoseTrack root (annotations/<split>/*.json), a folder of videos, or a text
    file listing videos / image folders (one per line).

    Finished sequences are skipped, so a killed batch resumes where it stopped. A sequence that fails is
    reported and the batch goes on; the exit code is 1 if any failed. Scale out with
    "torchrun --nproc-per-node N -m posetrack batch ...".
    """
    from .batch import run_batch

    config = build_config(config_file, overrides, fmt, detections, gt_boxes, pose_weights, detector_weights,
                          device, batch_size, kpt_threshold, no_boxes, no_ids, trails, quiet)
    _setup_logging(config.run.quiet)
    code = run_batch(input_path, out_dir, config, split=split, video=video, overwrite=overwrite,
                     run_eval=run_eval, poses=poses)
    return code
