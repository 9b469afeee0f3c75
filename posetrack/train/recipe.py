"""Typed training configuration. Defaults are the paper's COCO recipe for ResNet-50 at 256x192 (§4.1, official
``experiments/coco/resnet50/256x192_d256x3_adam_lr1e-3.yaml``); the YAML files in ``configs/`` map onto these
dataclasses one to one and ``--set a.b=c`` overrides any field.

Every value is checked when the config is built (choices are ``Literal``s, the rest in ``__post_init__``), so a
recipe file or a ``--set`` with a mistake stops when it is loaded, with the file, the key and the closest valid
name, as the pipeline config does.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from ..config import DETECTOR_ARCHITECTURES
from ..pose.checkpoint import IMAGENET_MEAN, IMAGENET_STD
from .augment import AugmentConfig
from .samples import DatasetSpec

Optimizer = Literal["adam", "adamw", "sgd"]


@dataclass
class ModelConfig:
    depth: int = 50
    input_size: tuple[int, int] = (192, 256)          # (width, height) of the crop
    deconv_filters: tuple[int, ...] = (256, 256, 256)
    deconv_kernels: tuple[int, ...] = (4, 4, 4)
    # "imagenet" (torchvision's ResNet, as the paper), "none" (random), or a pose checkpoint to fine-tune
    # (the paper's PoseTrack models start from their COCO models).
    init: str = "imagenet"
    imagenet_weights: str = "IMAGENET1K_V1"           # torchvision's resnetN-xxxx.pth, the official files
    color_order: Literal["bgr", "rgb"] = "bgr"        # the official code feeds BGR
    mean: tuple[float, float, float] = IMAGENET_MEAN  # per input channel, 0..1 (applied in color_order)
    std: tuple[float, float, float] = IMAGENET_STD
    # BatchNorm during training: "train" (batch statistics per process, as upstream's DataParallel), "sync"
    # (SyncBatchNorm across processes, CUDA only) or "frozen" (running statistics, affine parameters learnt).
    bn: Literal["train", "sync", "frozen"] = "train"

    def __post_init__(self):
        if len(self.deconv_filters) != 3:
            raise ValueError("model.deconv_filters: the estimator decodes heatmaps at 1/4 of the input, which takes "
                             "exactly 3 deconvolution layers")
        if self.input_size[0] % 32 or self.input_size[1] % 32:
            # The backbone divides by 32 and the three deconvolutions multiply by 8: only multiples of 32 give
            # heatmaps of exactly 1/4 of the input, which the targets and the decoding assume.
            raise ValueError(f"model.input_size {list(self.input_size)}: width and height must be multiples of 32")


@dataclass
class DataConfig:
    train: DatasetSpec = field(default_factory=lambda: DatasetSpec("coco", "data/coco", "train2017"))
    val: DatasetSpec = field(default_factory=lambda: DatasetSpec("coco", "data/coco", "val2017"))
    sigma: float = 0.0             # heatmap Gaussian σ; 0 = official value for the input size (2 or 3)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    workers: int = 4
    max_bad_fraction: float = 0.01


@dataclass
class OptimConfig:
    name: Optimizer = "adam"
    lr: float = 1e-3
    momentum: float = 0.9          # sgd only
    weight_decay: float = 0.0      # upstream passes none to Adam (its WD: 0.0001 is unused)
    milestones: tuple[int, ...] = (90, 120)
    gamma: float = 0.1
    epochs: int = 140
    batch_size: int = 32           # per process (per GPU), as upstream
    max_iters_per_epoch: int = 0   # 0 = whole epoch; smaller for smoke runs and benchmarks
    amp: bool = True               # mixed precision on CUDA (ignored on the CPU)

    def __post_init__(self):
        _positive_run(self.epochs, self.batch_size)


@dataclass
class ValConfig:
    every: int = 10                # epochs between validations (the last epoch always validates); 0 = never
    boxes: str = "gt"              # "gt" or a COCO detection results JSON (e.g. the paper's 56.4 AP person boxes)
    flip_test: bool = True
    batch_size: int = 64
    max_images: int = 0            # 0 = all; a prefix of the image list for quick checks
    min_box_score: float = 0.0     # upstream IMAGE_THRE


@dataclass
class RunSettings:
    """What every training run has besides its sections: seed, device, run folder, log cadence."""

    seed: int = 0
    device: str = "auto"
    out: str = "runs/pose"
    log_every: int = 20

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainConfig(RunSettings):
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    val: ValConfig = field(default_factory=ValConfig)


# ---------------------------------------------------------------- detector fine-tuning

@dataclass
class DetectorModelConfig:
    # The trainable layers (the 320 px variant is mobilenet_v3_large_fpn at another test scale).
    variant: Literal[DETECTOR_ARCHITECTURES] = "resnet50_fpn"
    # "coco" (torchvision's COCO weights, person head kept), "imagenet" (backbone only), "none", or a local
    # state_dict / checkpoint of the same variant (2 or 91 classes).
    init: str = "coco"
    min_size: int = 800             # torchvision's training and test scale
    max_size: int = 1333
    trainable_backbone_layers: int = 3  # torchvision's default when starting from trained weights
    representation_size: int = 1024     # box head width (torchvision's); smaller for a shrunk detector

    def __post_init__(self):
        if self.representation_size != 1024 and self.init in ("coco", "imagenet"):
            raise ValueError("model.representation_size other than 1024 needs model.init none (or a local file of "
                             "that width): torchvision's trained box heads are 1024 wide")


@dataclass
class DetectorDataConfig:
    train: DatasetSpec = field(default_factory=lambda: DatasetSpec("coco", "data/coco", "train2017"))
    val: DatasetSpec = field(default_factory=lambda: DatasetSpec("coco", "data/coco", "val2017"))
    flip_prob: float = 0.5
    workers: int = 4
    max_bad_fraction: float = 0.01
    negatives: bool = False  # train on images without a person too (hard negatives: the loss says "no one here")


@dataclass
class DetectorOptimConfig:
    """torchvision's detection reference: SGD momentum 0.9, weight decay 1e-4, 0.02 for 16 images per step
    (here 0.0025 for 2, the linear scaling rule), steps at epochs 16 and 22 of 26, linear warmup of 1000 steps."""

    name: Optimizer = "sgd"
    lr: float = 0.0025
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: tuple[int, ...] = (16, 22)
    gamma: float = 0.1
    epochs: int = 26
    batch_size: int = 2             # images per process
    warmup_iters: int = 1000
    warmup_factor: float = 0.001
    max_iters_per_epoch: int = 0
    amp: bool = True

    def __post_init__(self):
        _positive_run(self.epochs, self.batch_size)


@dataclass
class DetectorValConfig:
    every: int = 1
    max_images: int = 0
    batch_size: int = 4


@dataclass
class DetectorTrainConfig(RunSettings):
    out: str = "runs/detector"
    model: DetectorModelConfig = field(default_factory=DetectorModelConfig)
    data: DetectorDataConfig = field(default_factory=DetectorDataConfig)
    optim: DetectorOptimConfig = field(default_factory=DetectorOptimConfig)
    val: DetectorValConfig = field(default_factory=DetectorValConfig)


def _positive_run(epochs: int, batch_size: int) -> None:
    if epochs < 1 or batch_size < 1:
        raise ValueError("optim.epochs and optim.batch_size must be at least 1")
