"""What the commands that run the pipeline share: their options, how those become a ``PipelineConfig``, and how
the stages' warnings reach the terminal.

Settings come from the typed ``PipelineConfig``: the ``--config`` file, then every ``--set section.key=value``
(parsed by ``posetrack.config``'s one parser), then the shorthand options (``--pose-weights`` is
``pose.weights``, and so on), which win.
"""
from __future__ import annotations

import json
import logging
import os

import click

from ..errors import PosetrackError

# --format names -> run.output_format names
FORMAT_NAMES = {"2018": "posetrack18", "2017": "posetrack17", "2021": "posetrack21", "coco": "coco", "csv": "csv",
                "mot": "mot"}

# option name -> config key of the options that set one key to their value
SHORTHANDS = {"pose_weights": "pose.weights", "detector_weights": "detector.weights", "device": "run.device",
              "batch_size": "detector.batch_size", "kpt_threshold": "video.kpt_threshold", "trails": "video.trails",
              "video": "video.write", "smooth": "post.smooth", "fill_gaps": "post.fill_gaps"}


def _formats(ctx, param, value):
    """``--format 2018,csv`` -> ``posetrack18,csv``; one line for a name that is not a format."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMAT_NAMES and name not in FORMAT_NAMES.values()]
    if unknown or not names:
        raise click.BadParameter(f"{unknown[0] if unknown else value!r} is not a format; choose one or more of "
                                 f"{', '.join(FORMAT_NAMES)}, comma-separated (e.g. 2018,csv)")
    return ",".join(FORMAT_NAMES.get(name, name) for name in names)


FORMAT = click.option("--format", "fmt", metavar="FORMATS", callback=_formats, default=None,
                      help="Results to write, comma-separated: 2018 (PoseTrack 2018 JSON, the default), 2017, 2021 "
                           "(PoseTrack21), coco (COCO results with track_id), csv (one row per frame, track and "
                           "joint), mot (box tracks, MOT text). At most one JSON format, e.g. 2018,csv.")
SMOOTH = click.option("--smooth", type=click.Choice(["none", "one-euro", "savgol"]), default=None,
                      help="Smooth each track's joints: one-euro (online) or savgol (Savitzky-Golay, offline); "
                           "default none, the paper's raw output.")
FILL_GAPS = click.option("--fill-gaps", type=click.IntRange(min=0), default=None, metavar="K",
                         help="Interpolate a track's joints across misses of up to K frames (marked interpolated).")

CONFIG = click.option("--config", "config_file", metavar="FILE",
                      help="YAML config, or a shipped one: paper_r50_256x192, paper_r152_384x288, fast_cpu.")
SET = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                   help="Override a config key, e.g. --set tracker.flow_preset=fast (repeatable).")
TABLE5 = click.option("--table5", "table5", metavar="ROW", default=None,
                      help="The tracking switches of a row of the paper's Table 5 (a1 ... c6; e.g. b6: joint "
                           "propagation and multi-flow similarity).")
QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress bars or timing summary; errors only.")


def pipeline_options(func):
    """Options shared by ``run`` and ``batch``, applied bottom-up so ``--help`` lists them in this order."""
    options = [
        CONFIG, SET,
        FORMAT,
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
        TABLE5,
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
        SMOOTH, FILL_GAPS, QUIET,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_config(config_file: str | None, overrides, **options):
    """The ``PipelineConfig`` of a command line: file, ``--set``s, then the shorthand ``options`` (click's
    keyword arguments; ``None`` or ``False`` means not given)."""
    from ..config import TABLE5, PipelineConfig, load_config

    if options.get("detections") and options.get("gt_boxes"):
        raise PosetrackError("give either --detections or --gt-boxes, not both")
    extra = []

    def put(key, value):
        extra.append(f"{key}={json.dumps(value)}")  # JSON is YAML: paths with ':' or spaces survive

    row = options.get("table5")
    if row:
        if row not in TABLE5:
            raise PosetrackError(f"--table5 {row}: not a row of Table 5; choose one of {', '.join(TABLE5)}")
        for key, value in TABLE5[row].items():
            put(f"tracker.{key}", value)
    if options.get("fmt"):
        put("run.output_format", options["fmt"])
    for option, source in (("detections", "file"), ("gt_boxes", "gt")):
        if options.get(option):
            put("detector.source", source)
            put("detector.file", options[option])
    for option, key in SHORTHANDS.items():
        if options.get(option) is not None:
            put(key, options[option])
    for flag, key, value in (("no_boxes", "video.draw_boxes", False), ("no_ids", "video.draw_ids", False),
                             ("quiet", "run.quiet", True)):
        if options.get(flag):
            put(key, value)
    return load_config(PipelineConfig, config_file, list(overrides) + extra)


def name_of(source: str) -> str:
    """The sequence name of a source: the file's stem, or the folder's name ("." and "frames/" included)."""
    path = os.path.abspath(source)
    stem, ext = os.path.splitext(os.path.basename(path))
    return stem if ext and not os.path.isdir(path) else os.path.basename(path)


class _EchoHandler(logging.Handler):
    """Log records as ``posetrack: warning: ...`` lines on the stderr of the moment (tqdm-safe via click)."""

    def emit(self, record):
        try:
            click.echo(f"posetrack: {record.levelname.lower()}: {record.getMessage()}", err=True)
        except Exception:  # noqa: BLE001 - logging must never break a run
            self.handleError(record)


def setup_logging(quiet: bool) -> None:
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
