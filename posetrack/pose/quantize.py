"""The pose network with an 8-bit backbone, for the CPU (``pose.int8``).

On a CPU the ResNet backbone is most of the pose stage's time and already runs near the cores' float peak, so only
less arithmetic makes it faster: its convolutions in 8-bit integers (PyTorch's post-training static quantization,
per-channel weights, the x86 engine, or qnnpack on ARM) do the same work about 2x faster. The deconvolution head
and the last 1x1 convolution stay in fp32: quantized transposed convolutions are slower than float ones here, and
8 bits there move heatmap peaks (joints within 2 px of fp32: 95% with the head quantized, 99% without, on the
demo network; ``scripts/bench_pose.py``).

Activations are quantized with ranges seen on calibration crops: ``calibrate`` runs them through the float
network once, on one thread so that the ranges, and every result after them, do not depend on the thread count.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from ..errors import PosetrackError


class Int8PoseNet(nn.Module):
    """``backbone`` in 8 bits (a converted FX graph), ``deconv_layers`` and ``final_layer`` as trained."""

    def __init__(self, backbone: nn.Module, network: nn.Module):
        super().__init__()
        self.quantized_backbone = backbone
        self.deconv_layers = network.deconv_layers
        self.final_layer = network.final_layer

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantized_backbone(x)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.deconv_layers(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class _Backbone(nn.Module):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network.backbone(x)


def quantization_engine() -> str:
    engines = torch.backends.quantized.supported_engines
    for engine in ("x86", "fbgemm", "qnnpack"):
        if engine in engines:
            return engine
    raise PosetrackError("pose.int8: this PyTorch build has no 8-bit CPU engine (x86, fbgemm or qnnpack); "
                         "set pose.int8=false")


def quantize_backbone(network: nn.Module, calibration: torch.Tensor, batch_size: int = 16) -> Int8PoseNet:
    """An ``Int8PoseNet`` from a float ``PoseResNet`` in eval mode and normalized ``(N, 3, H, W)`` calibration
    crops (what the network sees: mean subtracted, divided by std)."""
    if calibration.ndim != 4 or calibration.shape[0] == 0:
        raise PosetrackError(f"pose.int8 needs calibration crops (N, 3, H, W); got shape {tuple(calibration.shape)}")
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    engine = quantization_engine()
    torch.backends.quantized.engine = engine
    threads = torch.get_num_threads()
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; it is what PyTorch 2.14 ships and what we pin.
        warnings.simplefilter("ignore")
        try:
            torch.set_num_threads(1)
            example = calibration[:1].contiguous(memory_format=torch.channels_last)
            prepared = prepare_fx(_Backbone(copy.deepcopy(network)).eval(), get_default_qconfig_mapping(engine),
                                  example_inputs=(example,))
            with torch.inference_mode():
                for start in range(0, calibration.shape[0], batch_size):
                    prepared(calibration[start:start + batch_size].contiguous(memory_format=torch.channels_last))
            backbone = convert_fx(prepared)
        finally:
            torch.set_num_threads(threads)
    return Int8PoseNet(backbone, network).eval()
