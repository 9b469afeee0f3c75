"""Training targets and loss, as the official ``JointsDataset.generate_target`` and ``JointsMSELoss``.

Each joint becomes an un-normalised Gaussian (peak 1) drawn on a ``(6σ+1)²`` patch of its heatmap, centred on
``mu = int(joint / stride + 0.5)``. A joint whose patch lies wholly outside the heatmap gets target weight 0, as
does an unlabelled one. The official code draws joint by joint; here the Gaussian is written as the product of an
x and a y profile, each masked to the patch, so all joints (and all samples) are drawn at once.
"""
from __future__ import annotations

import numpy as np
import torch

SIGMA_BY_HEIGHT = {256: 2.0, 384: 3.0}  # official yamls: σ 2 at 256x192, σ 3 at 384x288


def default_sigma(input_size) -> float:
    """σ the official recipe uses for an input ``(width, height)``; other sizes scale σ with the height."""
    height = int(input_size[1])
    return SIGMA_BY_HEIGHT.get(height, max(1.0, 2.0 * height / 256))


def heatmap_targets(joints: np.ndarray, input_size, heatmap_size, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian heatmaps ``(..., K, Hh, Wh)`` and target weights ``(..., K, 1)`` for crop-space joints.

    ``joints`` is ``(..., K, 3)``: x, y in input-crop pixels and visibility (> 0 means labelled). Integer
    truncation follows the official Python ``int()`` (toward zero), so joints just left of or above the crop
    round the same way as upstream.
    """
    joints = np.asarray(joints, dtype=np.float32)
    hw, hh = int(heatmap_size[0]), int(heatmap_size[1])
    stride = np.array([input_size[0] / hw, input_size[1] / hh], np.float32)
    tmp = sigma * 3
    mu = np.trunc(joints[..., :2] / stride + 0.5)
    ul = np.trunc(mu - tmp)
    br = np.trunc(mu + tmp + 1)
    # The patch's centre pixel is ul + size // 2 (= mu when 3σ is an integer, as for every official σ).
    centre = ul + (2 * tmp + 1) // 2
    weight = (joints[..., 2] > 0).astype(np.float32)
    outside = (ul[..., 0] >= hw) | (ul[..., 1] >= hh) | (br[..., 0] < 0) | (br[..., 1] < 0)
    weight[outside] = 0

    def profile(axis: int, length: int) -> np.ndarray:
        pos = np.arange(length, dtype=np.float32)
        d = pos - centre[..., axis, None]
        inside = (pos >= ul[..., axis, None]) & (pos < br[..., axis, None])
        return np.exp(-(d * d) / (2 * sigma * sigma)) * inside

    gx, gy = profile(0, hw), profile(1, hh)
    # The official code draws only joints with weight > 0.5 and leaves the others' heatmaps at zero.
    target = gy[..., :, None] * gx[..., None, :] * (weight > 0.5)[..., None, None]
    return target.astype(np.float32), weight[..., None]


class JointsMSELoss(torch.nn.Module):
    """Official ``JointsMSELoss``: Σ_k 0.5·MSE(pred_k·w_k, gt_k·w_k) / K, with per-joint target weights.

    Every joint's MSE averages over the same ``batch × Hh × Wh`` elements, so the sum over joints divided by K
    is one mean over everything; that single reduction is what is computed.
    """

    def __init__(self, use_target_weight: bool = True):
        super().__init__()
        self.use_target_weight = use_target_weight

    def forward(self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        diff = output.float() - target.float()
        if self.use_target_weight:
            diff = diff * target_weight.float().reshape(*target_weight.shape[:2], 1, 1)
        return 0.5 * diff.pow(2).mean()
