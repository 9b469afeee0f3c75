"""The settings of ``posetrack run``: one typed section per stage (``detector``, ``pose``, ``tracker``, ``video``,
``run``, ``post``), defaults that follow the paper, each section checking its own values when built (``__post_init__``),
so a YAML file or a ``--set`` gets its mistake reported when it is loaded (``posetrack.config.loader``)."""
from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Literal

from ..devices import DEVICE_CHOICES, valid_device_name
from .post import PostConfig
from .tracker import TrackerConfig


# torchvision's Faster R-CNN variants the detector builds (posetrack.detect.faster_rcnn maps each to its builder).
# The 320 px one has the layers of mobilenet_v3_large_fpn: a weights file is recognised as, and a detector is
# trained as, one of the ARCHITECTURES.
DETECTOR_ARCHITECTURES = ("resnet50_fpn", "resnet50_fpn_v2", "mobilenet_v3_large_fpn")
DetectorVariant = Literal[DETECTOR_ARCHITECTURES + ("mobilenet_v3_large_320_fpn",)]
DETECTOR_VARIANTS = typing.get_args(DetectorVariant)


@dataclass
class DetectorConfig:
    """Where person boxes come from. ``source``: ``model`` (torchvision Faster R-CNN), ``file`` (a COCO results
    or PoseTrack JSON given by ``file``) or ``gt`` (keypoint boxes of a PoseTrack ground-truth ``file``, +15%,
    the paper's GT-box ablation). ``file`` may be a folder holding one ``<sequence>.json`` per video."""

    source: Literal["model", "file", "gt"] = "model"
    variant: DetectorVariant = "resnet50_fpn"
    weights: str | None = None  # None: torchvision's DEFAULT (COCO) weights; else a local state_dict file
    file: str | None = None
    score_threshold: float = 0.5  # the paper drops detections scoring below 0.5 (§4.2)
    min_size: int = 800  # torchvision's (and Detectron's) test scale
    max_size: int = 1333
    batch_size: int = 4  # frames per detector forward
    fp16: bool = True  # autocast on CUDA; ignored on CPU
    # A guard for any box source: at most this many boxes per frame (the highest-scoring) reach the tracker and
    # the pose network, so a detector gone wild on unfamiliar footage cannot make the pose stage explode.
    max_boxes: int = 30
    # Run the detector on every N-th frame only (frames 0, N, 2N, ...); in between, people come from joint
    # propagation alone (§3.1), the pose network still runs on every frame. 1: every frame, the paper.
    every: int = 1

    def __post_init__(self):
        _check(0 <= self.score_threshold <= 1, "detector.score_threshold must be in [0, 1]")
        _check(self.max_boxes >= 1, f"detector.max_boxes must be an integer >= 1, got {self.max_boxes}")
        _check(self.every >= 1, f"detector.every must be an integer >= 1 (1: every frame), got {self.every}")
        _check(0 < self.min_size <= self.max_size, "detector.min_size must be positive and <= max_size")
        _check(self.batch_size >= 1, "detector.batch_size must be >= 1")
        _check(self.source == "model" or self.file, f"detector.source={self.source} needs detector.file")


@dataclass
class PoseConfig:
    """The pose network (§2): a registry name (``posetrack weights list``) or a checkpoint path."""

    weights: str = "mmpose_res50_coco_256x192"
    flip_test: bool = True  # average with the flipped image's heatmaps (§4.1)
    batch_size: int = 64  # person crops per forward
    fp16: bool = True  # on CUDA
    bf16: bool = False  # bfloat16 instead of float16 (Ampere and newer)
    int8: bool = False  # on the CPU: the backbone in 8 bits, calibrated on synthetic people (about 2x faster)

    def __post_init__(self):
        _check(self.batch_size >= 1, "pose.batch_size must be >= 1")


@dataclass
class VideoConfig:
    """The overlay video (H.264 MP4): what to draw."""

    write: bool = True
    draw_boxes: bool = True
    draw_ids: bool = True
    trails: int = 0  # motion trail length in frames (0: none)
    kpt_threshold: float = 0.4  # joints below are not drawn; the paper drops them at 0.4 (§4.2)
    crf: int = 23  # x264 quality: lower is better and bigger; 18 looks lossless
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"] = "veryfast"

    def __post_init__(self):
        _check(self.trails >= 0, "video.trails must be >= 0")
        _check(0 <= self.crf <= 51, "video.crf must be in [0, 51]")


@dataclass
class RunConfig:
    """How a run executes and what it writes."""

    device: str = "auto"  # auto (CUDA when available), cpu, cuda, cuda:N
    read_ahead: int = 8  # decoded frames queued ahead of the models
    overlap: bool = True  # flow, detector batches and overlay encoding on their own threads (pipeline.overlap)
    folder_fps: float = 25.0  # frame rate of image-folder inputs (PoseTrack's nominal rate)
    # one or more of OUTPUT_FORMATS, comma-separated (at most one JSON format): e.g. "posetrack18,csv"
    output_format: str = "posetrack18"
    quiet: bool = False
    # frames between the points a killed run resumes from (pipeline.resume); 0: no snapshots, no resume
    snapshot_every: int = 250

    def __post_init__(self):
        _check(valid_device_name(self.device), f"run.device must be {DEVICE_CHOICES}, got {self.device!r}")
        _check(self.read_ahead >= 0, "run.read_ahead must be >= 0")
        _check(isinstance(self.snapshot_every, int) and not isinstance(self.snapshot_every, bool)
               and self.snapshot_every >= 0, f"run.snapshot_every must be a whole number >= 0 (0: no resume), got "
               f"{self.snapshot_every!r}")
        _check(self.folder_fps > 0, "run.folder_fps must be positive")
        output_formats(self.output_format)


# What a run can write: PoseTrack 2018 / 2017 / 2021 or COCO results (<name>.json, one of them), CSV rows of every
# joint (<name>.csv, posetrack.results.export) and MOT box tracks (<name>.txt, PoseTrack21's box benchmark).
JSON_FORMATS = ("posetrack18", "posetrack17", "posetrack21", "coco")
OUTPUT_FORMATS = JSON_FORMATS + ("csv", "mot")
OUTPUT_SUFFIXES = {**dict.fromkeys(JSON_FORMATS, ".json"), "csv": ".csv", "mot": ".txt"}


def output_formats(value: str) -> list[str]:
    """The formats of a ``run.output_format`` value (``"posetrack18,csv"``), checked."""
    names = [name.strip() for name in str(value).split(",") if name.strip()]
    bad = [name for name in names if name not in OUTPUT_FORMATS]
    _check(names and not bad, f"run.output_format: {bad[0] if bad else value!r} is not a format; choose one or "
                              f"more of {', '.join(OUTPUT_FORMATS)}, comma-separated")
    _check(sum(name in JSON_FORMATS for name in names) <= 1 and len(set(names)) == len(names),
           f"run.output_format {value!r}: at most one of {', '.join(JSON_FORMATS)} (they would share <name>.json), "
           "each format once")
    return names


@dataclass
class PipelineConfig:
    """Everything ``posetrack run`` needs, one section per stage."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    run: RunConfig = field(default_factory=RunConfig)
    post: PostConfig = field(default_factory=PostConfig)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
