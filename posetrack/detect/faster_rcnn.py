"""Person boxes from torchvision's Faster R-CNN (the paper's detector family, §4.1: a Faster R-CNN of person AP
56.4 on COCO val2017).

Variants: ResNet-50-FPN (v1), ResNet-50-FPN v2, MobileNetV3-Large-FPN and its 320 px sibling. Weights are
torchvision's COCO weights (downloaded once into ``torch.hub.get_dir()/checkpoints``) or a local state_dict of
any variant, recognised from its keys and shapes, with 91 COCO classes or fine-tuned to 2 (background, person);
person is label 1 in both. A box head narrower than torchvision's 1024 (a shrunk detector, such as the packaged
``demo`` one trained on the synthetic world) is recognised from ``roi_heads.box_head.fc6.weight``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
from torchvision.models import detection as tvd
from torchvision.ops import FrozenBatchNorm2d

from ..checkpoint_io import read_checkpoint
from ..config import DETECTOR_ARCHITECTURES, DETECTOR_VARIANTS
from ..devices import resolve_device
from ..errors import PosetrackError
from .base import BoxSource, Detections, sorted_detections

log = logging.getLogger("posetrack.detect")

PERSON_LABEL = 1  # COCO category 1; also the one foreground class of a person-only detector

# variant -> (torchvision builder, its weights enum)
VARIANTS = {
    "resnet50_fpn": (tvd.fasterrcnn_resnet50_fpn, tvd.FasterRCNN_ResNet50_FPN_Weights),
    "resnet50_fpn_v2": (tvd.fasterrcnn_resnet50_fpn_v2, tvd.FasterRCNN_ResNet50_FPN_V2_Weights),
    "mobilenet_v3_large_fpn": (tvd.fasterrcnn_mobilenet_v3_large_fpn, tvd.FasterRCNN_MobileNet_V3_Large_FPN_Weights),
    "mobilenet_v3_large_320_fpn": (tvd.fasterrcnn_mobilenet_v3_large_320_fpn,
                                   tvd.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights),
}
# The 320 variant has the same layers as the full-size one; a local file is recognised as the latter.
_RECOGNISED = DETECTOR_ARCHITECTURES
assert set(VARIANTS) == set(DETECTOR_VARIANTS)
_CLS_SCORE = "roi_heads.box_predictor.cls_score.weight"
_FC6 = "roi_heads.box_head.fc6.weight"
DEFAULT_REPRESENTATION = 1024  # torchvision's TwoMLPHead width
# ``--detector-weights demo``: the small detector shipped with the package (see posetrack/data/README.md).
NAMED_WEIGHTS = {"demo": Path(__file__).resolve().parent.parent / "data" / "demo_detector.pth"}


def build_detector_model(variant: str, num_classes: int, representation: int = DEFAULT_REPRESENTATION,
                         **kwargs) -> torch.nn.Module:
    """torchvision's ``variant`` without weights, its box head ``representation`` wide (1024 is torchvision's)."""
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

    model = VARIANTS[variant][0](weights=None, weights_backbone=None, num_classes=num_classes, **kwargs)
    if representation != DEFAULT_REPRESENTATION:
        resolution = model.roi_heads.box_roi_pool.output_size[0]
        model.roi_heads.box_head = TwoMLPHead(model.backbone.out_channels * resolution ** 2, representation)
        model.roi_heads.box_predictor = FastRCNNPredictor(representation, num_classes)
    return model


def representation_size(state: dict) -> int:
    """The box head's width in ``state`` (the rows of its first fully connected layer)."""
    weight = state.get(_FC6)
    return int(weight.shape[0]) if weight is not None and weight.ndim == 2 else DEFAULT_REPRESENTATION


def default_weights_file(variant: str) -> tuple[str, str]:
    """The URL of torchvision's COCO weights for ``variant`` and where torch hub keeps them."""
    url = VARIANTS[variant][1].DEFAULT.url
    return url, os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def load_state(variant: str, weights: str | os.PathLike | None, progress: bool = True) -> tuple[str, dict]:
    """``(variant, state_dict)`` for torchvision's weights (``weights=None``) or a local file."""
    if weights is None:
        url, path = default_weights_file(variant)
        try:
            state = torch.hub.load_state_dict_from_url(url, progress=progress, check_hash=True, weights_only=True,
                                                       map_location="cpu")
        except Exception as err:  # noqa: BLE001 - offline, proxy, disk full, bad hash: all the same advice
            raise PosetrackError(
                f"cannot get the {variant} detector weights ({type(err).__name__}: {err}); download {url} and "
                f"place it at {path}, or pass a local file with --set detector.weights=PATH") from None
        return variant, state
    if str(weights) in NAMED_WEIGHTS:
        weights = NAMED_WEIGHTS[str(weights)]
        if not weights.is_file():
            raise PosetrackError(f"the packaged demo detector {weights} is missing; reinstall posetrack or "
                                 "rebuild it with scripts/train_demo_models.sh")
    state = _read_checkpoint(os.fspath(weights))
    return recognise_variant(state, os.fspath(weights)), state


def _read_checkpoint(path: str) -> dict:
    data = read_checkpoint(path, "detector weights")
    if isinstance(data, dict):
        for key in ("model", "state_dict"):
            if isinstance(data.get(key), dict):
                data = data[key]
                break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise PosetrackError(f"{path}: expected a state_dict (or a dict with a 'model' or 'state_dict' entry)")
    # Checkpoints saved from DistributedDataParallel carry a "module." prefix.
    return {k[7:] if k.startswith("module.") else k: v for k, v in data.items()}


def recognise_variant(state: dict, where: str = "<state_dict>") -> str:
    """The variant whose layers (names and shapes) ``state`` matches, or a ``PosetrackError`` naming the first
    mismatches against the closest variant."""
    num_classes = _num_classes(state, where)
    representation = representation_size(state)
    given = {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}
    best = None
    for variant in _RECOGNISED:
        expected = _expected_shapes(variant, num_classes, representation)
        missing = [k for k in expected if k not in given]
        unexpected = [k for k in given if k not in expected]
        reshaped = [k for k in expected if k in given and given[k] != expected[k]]
        if not (missing or unexpected or reshaped):
            return variant
        problems = len(missing) + len(unexpected) + len(reshaped)
        if best is None or problems < best[0]:
            best = (problems, variant, missing, unexpected, reshaped)
    _, variant, missing, unexpected, reshaped = best
    parts = [f"{label} {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
             for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", reshaped))
             if keys]
    raise PosetrackError(f"{where}: matches no torchvision Faster R-CNN ({', '.join(VARIANTS)}); closest is "
                         f"{variant}: {'; '.join(parts)}")


def _num_classes(state: dict, where: str) -> int:
    weight = state.get(_CLS_SCORE)
    if weight is None or weight.ndim != 2:
        raise PosetrackError(f"{where}: no {_CLS_SCORE}; not a torchvision Faster R-CNN state_dict")
    return int(weight.shape[0])


def _expected_shapes(variant: str, num_classes: int,
                     representation: int = DEFAULT_REPRESENTATION) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # layer names and shapes without allocating or initialising anything
        model = build_detector_model(variant, num_classes, representation)
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def build_model(variant: str, state: dict) -> torch.nn.Module:
    """The ``variant`` network with ``state`` loaded, in eval mode on the CPU."""
    num_classes = _num_classes(state, variant)
    model = build_detector_model(variant, num_classes, representation_size(state))
    if variant != "resnet50_fpn_v2":
        # torchvision builds these backbones with frozen BN when it loads weights (v2 keeps ordinary BN), and
        # the v1 COCO weights were trained with eps 0 (torchvision's ``overwrite_eps``); detectors fine-tuned
        # from them inherit both. Ordinary BN cannot stand in: cuDNN refuses eps 0.
        to_frozen_batchnorm(model.backbone.body, eps=0.0 if variant == "resnet50_fpn" else 1e-5)
    # Frozen BN drops num_batches_tracked from checkpoints of ordinary-BN models; ordinary BN (v2) does not
    # need it from checkpoints of frozen-BN models.
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise PosetrackError(f"weights do not fit {variant}: missing {missing[:3]}, unexpected "
                             f"{result.unexpected_keys[:3]}")
    if num_classes not in (2, 91):
        log.warning("detector has %d classes; taking label %d as person", num_classes, PERSON_LABEL)
    return model.eval()


def to_frozen_batchnorm(module: torch.nn.Module, eps: float) -> None:
    """Replace every BatchNorm2d below ``module`` by a FrozenBatchNorm2d (fixed statistics and affine)."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.BatchNorm2d):
            setattr(module, name, FrozenBatchNorm2d(child.num_features, eps=eps))
        else:
            to_frozen_batchnorm(child, eps)


class FasterRCNNDetector(BoxSource):
    """Person boxes from a torchvision Faster R-CNN, several frames per forward pass.

    ``weights``: None for torchvision's COCO weights of ``variant``, or a local state_dict file (whose own
    variant wins over ``variant``). ``min_size``/``max_size`` set the input scale (torchvision resizes the short
    side to ``min_size`` unless the long side would pass ``max_size``). fp16 autocast is used on CUDA.
    """

    def __init__(self, variant: str = "resnet50_fpn", weights: str | os.PathLike | None = None,
                 score_threshold: float = 0.5, min_size: int = 800, max_size: int = 1333, batch_size: int = 4,
                 device: str = "auto", fp16: bool = True, progress: bool = True):
        if variant not in VARIANTS:
            raise PosetrackError(f"unknown detector variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        found, state = load_state(variant, weights, progress)
        same_layers = {variant, found} <= {"mobilenet_v3_large_fpn", "mobilenet_v3_large_320_fpn"}
        if found != variant and not same_layers:
            log.warning("%s holds a %s detector; using that instead of %s", weights, found, variant)
            variant = found
        self.variant = variant
        self.device = torch.device(resolve_device(device))
        self.model = build_model(variant, state).to(self.device)
        self.model.transform.min_size = (int(min_size),)
        self.model.transform.max_size = int(max_size)
        # Boxes scoring below this are dropped inside the ROI heads, before per-class NMS.
        self.model.roi_heads.score_thresh = float(score_threshold)
        self.batch_size = int(batch_size)
        self.fp16 = bool(fp16) and self.device.type == "cuda"

    def __repr__(self) -> str:
        t = self.model.transform
        return (f"FasterRCNNDetector({self.variant}, {t.min_size[0]}/{t.max_size} px, "
                f"score>={self.model.roi_heads.score_thresh}, {self.device})")

    @torch.inference_mode()
    def __call__(self, frames: list[np.ndarray], frame_indices: list[int] | None = None) -> list[Detections]:
        out: list[Detections] = []
        for start in range(0, len(frames), self.batch_size):
            images = [self._to_tensor(f) for f in frames[start:start + self.batch_size]]
            with torch.autocast("cuda", dtype=torch.float16, enabled=self.fp16):
                results = self.model(images)
            for result in results:
                person = result["labels"] == PERSON_LABEL
                boxes = result["boxes"][person].float().cpu().numpy()
                scores = result["scores"][person].float().cpu().numpy()
                out.append(sorted_detections(boxes, scores))
        return out

    def _to_tensor(self, frame: np.ndarray) -> torch.Tensor:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be BGR uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        # Frames are BGR (OpenCV); torchvision's detectors were trained on RGB in [0, 1]. The uint8 frame is
        # moved first and converted on the device: a quarter of the bytes to transfer.
        image = torch.from_numpy(frame).to(self.device, non_blocking=True)
        return image.permute(2, 0, 1).flip(0).float().div_(255)

    def close(self) -> None:
        self.model = self.model.cpu()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
