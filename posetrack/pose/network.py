"""The SimpleBaseline pose network: a ResNet backbone, a few deconvolutions, a 1x1 conv to K heatmaps.

Module names, order and shapes match the official ``lib/models/pose_resnet.py`` so that the official and mmpose
checkpoints load key for key: ``conv1``, ``bn1``, ``layer1..4`` (torchvision "pytorch" style, stride on the 3x3
conv), ``deconv_layers`` (ConvTranspose2d, BN, ReLU repeated; ReLUs at indices 2, 5, 8 hold no parameters) and
``final_layer``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from ..errors import PosetrackError

RESNET_SPECS = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}

# Official ``_get_deconv_cfg``: kernel -> (padding, output_padding); each stage exactly doubles the feature size.
DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}

BN_MOMENTUM = 0.1  # official value; also PyTorch's default


@dataclass
class PoseNetConfig:
    """Architecture of a ``PoseResNet``; defaults are the paper's (3 deconvs of 256 filters, kernel 4)."""

    depth: int = 50
    num_joints: int = 17
    deconv_filters: tuple[int, ...] = (256, 256, 256)
    deconv_kernels: tuple[int, ...] = (4, 4, 4)
    final_conv_kernel: int = 1
    deconv_with_bias: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.deconv_filters = tuple(int(f) for f in self.deconv_filters)
        self.deconv_kernels = tuple(int(k) for k in self.deconv_kernels)
        if self.depth not in RESNET_SPECS:
            raise PosetrackError(f"unsupported ResNet depth {self.depth}; choose one of {sorted(RESNET_SPECS)}")
        if len(self.deconv_filters) != len(self.deconv_kernels):
            raise PosetrackError("deconv_filters and deconv_kernels must have the same length "
                                 f"(got {len(self.deconv_filters)} and {len(self.deconv_kernels)})")
        bad = [k for k in self.deconv_kernels if k not in DECONV_PADDING]
        if bad:
            raise PosetrackError(f"unsupported deconv kernel {bad[0]}; choose one of {sorted(DECONV_PADDING)}")
        if self.final_conv_kernel not in (1, 3):
            raise PosetrackError(f"final_conv_kernel must be 1 or 3, got {self.final_conv_kernel}")

    def describe(self) -> str:
        head = "x".join(str(f) for f in self.deconv_filters) if self.deconv_filters else "none"
        return (f"ResNet-{self.depth}, deconv {len(self.deconv_filters)} layers ({head} filters, kernels "
                f"{list(self.deconv_kernels)}), {self.num_joints} joints")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["deconv_filters"] = list(self.deconv_filters)
        d["deconv_kernels"] = list(self.deconv_kernels)
        return d


class PoseResNet(nn.Module):
    """ResNet + deconvolution head producing ``num_joints`` heatmaps at 1/4 of the input resolution."""

    def __init__(self, config: PoseNetConfig | None = None, **kwargs):
        super().__init__()
        self.config = config = config or PoseNetConfig(**kwargs)
        block, layers = RESNET_SPECS[config.depth]
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)

        stages = []
        for filters, kernel in zip(config.deconv_filters, config.deconv_kernels):
            padding, output_padding = DECONV_PADDING[kernel]
            stages += [nn.ConvTranspose2d(self.inplanes, filters, kernel, stride=2, padding=padding,
                                          output_padding=output_padding, bias=config.deconv_with_bias),
                       nn.BatchNorm2d(filters, momentum=BN_MOMENTUM),
                       nn.ReLU(inplace=True)]
            self.inplanes = filters
        self.deconv_layers = nn.Sequential(*stages)
        k = config.final_conv_kernel
        self.final_layer = nn.Conv2d(self.inplanes, config.num_joints, kernel_size=k, stride=1,
                                     padding=1 if k == 3 else 0)
        self.init_weights()

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion, momentum=BN_MOMENTUM))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def init_weights(self) -> None:
        """Backbone as torchvision's ResNet; head as the official ``init_weights`` (N(0, 0.001), BN 1/0)."""
        for name, m in self.named_modules():
            head = name.startswith(("deconv_layers", "final_layer"))
            if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)) and head:
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def load_imagenet_backbone(self, weights: str = "IMAGENET1K_V1") -> None:
        """Initialise the backbone from torchvision's ImageNet ResNet (``resnet50-19c8e357.pth`` for R50 V1).

        As the official code does, the classifier (``fc``) is dropped and the head keeps its own init.
        """
        from torchvision import models

        builder = getattr(models, f"resnet{self.config.depth}")
        try:
            state = builder(weights=weights).state_dict()
        except Exception as err:  # download failures surface as URLError/OSError/RuntimeError
            url = models.get_weight(f"ResNet{self.config.depth}_Weights.{weights}").url
            raise PosetrackError(
                f"could not load ImageNet weights for ResNet-{self.config.depth} ({err.__class__.__name__}); "
                f"download {url} and place it in {torch.hub.get_dir()}/checkpoints/") from None
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = self.load_state_dict(state, strict=False)
        assert not unexpected, unexpected

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.deconv_layers(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))
