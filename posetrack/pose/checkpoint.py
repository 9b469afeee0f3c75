"""Pose checkpoints: our own self-describing files, and the official / DataParallel / mmpose 0.x / 1.x ones.

Our file is a plain dict (loadable with ``weights_only=True``)::

    {"format": "posetrack.pose", "version": 1,
     "arch": PoseNetConfig.to_dict(), "input_size": [w, h], "layout": "coco17",
     "color_order": "bgr" | "rgb", "mean": [3 floats in 0..1], "std": [3 floats],
     "state_dict": {...}, "meta": {...anything: training config, validation numbers...}}

so that the file alone rebuilds the model and its preprocessing. Foreign checkpoints carry weights only: the
architecture is read off the key names and shapes, the input size off the file name (``256x192``) unless given,
and the colour order off the origin: the official code feeds **BGR** (it never converts what ``cv2.imread``
returns), mmpose feeds **RGB**. Both normalise with the ImageNet mean/std in the channel order they use.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..checkpoint_io import read_checkpoint
from ..errors import PosetrackError
from ..layouts import get_layout
from .network import RESNET_SPECS, PoseNetConfig, PoseResNet

FORMAT = "posetrack.pose"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

@dataclass
class PoseModelInfo:
    """What the estimator needs besides the weights."""

    arch: PoseNetConfig
    input_size: tuple[int, int] = (192, 256)  # (width, height)
    layout: str = "coco17"
    color_order: str = "bgr"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    origin: str = "posetrack"
    meta: dict = field(default_factory=dict)


def save_checkpoint(path: str | os.PathLike, model: PoseResNet, info: PoseModelInfo, extra: dict | None = None,
                    half: bool = False) -> None:
    """Write our checkpoint format atomically (temporary file, then rename). ``half`` stores fp16 weights."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": 1, "arch": info.arch.to_dict(), "input_size": list(info.input_size),
               "layout": info.layout, "color_order": info.color_order, "mean": list(info.mean),
               "std": list(info.std), "state_dict": state, "meta": info.meta}
    payload.update(extra or {})
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_pose_model(path: str | os.PathLike, arch: PoseNetConfig | None = None,
                    input_size: tuple[int, int] | None = None, color_order: str | None = None,
                    layout: str | None = None) -> tuple[PoseResNet, PoseModelInfo]:
    """Build a ``PoseResNet`` from any supported checkpoint file; arguments override what the file implies.

    With ``arch`` given, the file must fit that architecture exactly; otherwise the architecture is inferred from
    the keys. A file that does not fit raises ``PosetrackError`` naming the first missing/unexpected/mismatched
    keys and the expected architecture.
    """
    raw = read_checkpoint(path, "pose weights")
    if isinstance(raw, dict) and raw.get("format") == FORMAT:
        info = PoseModelInfo(arch=PoseNetConfig(**raw["arch"]), input_size=tuple(raw["input_size"]),
                             layout=raw["layout"], color_order=raw["color_order"], mean=tuple(raw["mean"]),
                             std=tuple(raw["std"]), origin="posetrack", meta=raw.get("meta", {}))
        state = raw["state_dict"]
    else:
        state, origin = foreign_state_dict(raw, path)
        info = PoseModelInfo(arch=infer_arch(state, path), origin=origin,
                             color_order="rgb" if origin.startswith("mmpose") else "bgr",
                             input_size=_size_from_name(Path(path).name) or (192, 256))
        info.layout = "posetrack18" if "posetrack" in Path(path).name.lower() else "coco17"
    if arch is not None:
        info.arch = arch
    if input_size is not None:
        info.input_size = tuple(input_size)
    if color_order is not None:
        info.color_order = color_order
    if layout is not None:
        info.layout = layout
    if get_layout(info.layout).num_joints != info.arch.num_joints:
        raise PosetrackError(f"{path}: the network predicts {info.arch.num_joints} joints but layout "
                             f"{info.layout!r} has {get_layout(info.layout).num_joints}; pass the right layout")
    model = PoseResNet(info.arch)
    _check_fits(model, state, info.arch, path)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=False)
    return model.eval(), info


def foreign_state_dict(raw: object, path) -> tuple[dict, str]:
    """The official-named state_dict of an official, DataParallel or mmpose checkpoint, and its origin."""
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    elif isinstance(raw, dict) and isinstance(raw.get("model"), dict):
        raw = raw["model"]
    if not isinstance(raw, dict) or not raw or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise PosetrackError(f"{path} holds no state_dict of tensors; expected a SimpleBaseline pose checkpoint")
    origin = "official"
    state = {}
    for key, value in raw.items():
        if key.startswith("module."):
            key = key[len("module."):]
        if key.startswith("data_preprocessor."):
            origin = "mmpose1"
            continue
        if key.startswith("backbone."):
            key, origin = key[len("backbone."):], ("mmpose1" if origin == "mmpose1" else "mmpose")
        elif key.startswith("keypoint_head."):
            key, origin = key[len("keypoint_head."):], "mmpose0"
        elif key.startswith("head."):
            key, origin = key[len("head."):], "mmpose1"
        if key.endswith("num_batches_tracked"):
            continue
        state[key] = value
    if origin == "mmpose":
        origin = "mmpose1"
    return state, origin


def infer_arch(state: dict, path="checkpoint") -> PoseNetConfig:
    """Read depth, deconv head and joint count off a state_dict's keys and shapes."""
    if "conv1.weight" not in state or "final_layer.weight" not in state:
        missing = [k for k in ("conv1.weight", "final_layer.weight") if k not in state]
        raise PosetrackError(f"{path} is not a SimpleBaseline (PoseResNet) checkpoint: missing {missing[0]!r} "
                             f"(first keys: {', '.join(list(state)[:3])})")
    blocks = tuple(len({k.split(".")[1] for k in state if k.startswith(f"layer{i}.")}) for i in range(1, 5))
    bottleneck = "layer1.0.conv3.weight" in state
    depth = next((d for d, (block, layers) in RESNET_SPECS.items()
                  if tuple(layers) == blocks and (block.expansion == 4) == bottleneck), None)
    if depth is None:
        raise PosetrackError(f"{path}: backbone with blocks {list(blocks)} matches no ResNet-18/34/50/101/152")
    filters, kernels, i = [], [], 0
    while f"deconv_layers.{i}.weight" in state and state[f"deconv_layers.{i}.weight"].dim() == 4:
        w = state[f"deconv_layers.{i}.weight"]
        filters.append(int(w.shape[1]))
        kernels.append(int(w.shape[-1]))
        i += 3
    final = state["final_layer.weight"]
    return PoseNetConfig(depth=depth, num_joints=int(final.shape[0]), deconv_filters=tuple(filters),
                         deconv_kernels=tuple(kernels), final_conv_kernel=int(final.shape[-1]),
                         deconv_with_bias="deconv_layers.0.bias" in state)


def _check_fits(model: PoseResNet, state: dict, arch: PoseNetConfig, path) -> None:
    expected = {k: v.shape for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    given = {k: v.shape for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    mismatched = [f"{k} {tuple(given[k])} vs expected {tuple(expected[k])}"
                  for k in expected if k in given and given[k] != expected[k]]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing[:3])}"
                        + (f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""))
    if unexpected:
        problems.append(f"unexpected {', '.join(unexpected[:3])}"
                        + (f" (+{len(unexpected) - 3} more)" if len(unexpected) > 3 else ""))
    if mismatched:
        problems.append(f"shape of {mismatched[0]}"
                        + (f" (+{len(mismatched) - 1} more)" if len(mismatched) > 1 else ""))
    if problems:
        raise PosetrackError(f"{path} does not fit the expected architecture ({arch.describe()}): "
                             + "; ".join(problems))


def _size_from_name(name: str) -> tuple[int, int] | None:
    """``..._256x192...`` (height x width, as the official and mmpose names write it) -> (width, height)."""
    m = re.search(r"(\d{2,4})x(\d{2,4})", name)
    return (int(m.group(2)), int(m.group(1))) if m else None
