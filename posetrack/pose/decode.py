"""Heatmaps to keypoints, flip test, rescoring and OKS-NMS, as the official code does them.

Everything here works on whole batches: ``(N, K, H, W)`` heatmap tensors on whatever device produced them.
"""
from __future__ import annotations

import numpy as np
import torch

from ..geometry import PIXEL_STD, oks_nms
from .transforms import apply_affine

# Official ``coco.py`` rescoring: only joints whose maxval exceeds IN_VIS_THRE enter the mean.
IN_VIS_THRESHOLD = 0.2
OKS_NMS_THRESHOLD = 0.9


def get_max_preds(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax of each heatmap: ``(N, K, 2)`` integer-valued x, y and ``(N, K)`` maxvals.

    As the official ``get_max_preds``, coordinates are zeroed where the maximum is not positive.
    """
    n, k, h, w = heatmaps.shape
    maxvals, idx = heatmaps.reshape(n, k, -1).max(dim=2)
    coords = torch.stack([idx % w, torch.div(idx, w, rounding_mode="floor")], dim=-1).to(heatmaps.dtype)
    coords = coords * (maxvals > 0).unsqueeze(-1)
    return coords, maxvals


def decode_heatmaps(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax plus the official quarter-pixel shift toward the higher neighbour (``get_final_preds``).

    The shift applies only where ``1 < px < W-1`` and ``1 < py < H-1`` (strict, as upstream), separately in x and
    y, by ``0.25 * sign(neighbour difference)``. Returns heatmap-pixel coordinates and maxvals.
    """
    heatmaps = heatmaps.float()
    coords, maxvals = get_max_preds(heatmaps)
    n, k, h, w = heatmaps.shape
    px = coords[..., 0].long()
    py = coords[..., 1].long()
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    flat = heatmaps.reshape(n, k, -1)
    pxc, pyc = px.clamp(1, w - 2), py.clamp(1, h - 2)

    def at(y, x):
        return flat.gather(2, (y * w + x).unsqueeze(-1)).squeeze(-1)

    dx = at(pyc, pxc + 1) - at(pyc, pxc - 1)
    dy = at(pyc + 1, pxc) - at(pyc - 1, pxc)
    shift = torch.stack([torch.sign(dx), torch.sign(dy)], dim=-1) * 0.25 * inside.unsqueeze(-1)
    return coords + shift, maxvals


def flip_back(heatmaps: torch.Tensor, flip_permutation, shift: bool = True) -> torch.Tensor:
    """Undo a horizontal input flip on the output heatmaps (official ``flip_back`` + ``SHIFT_HEATMAP``).

    Mirror along width, swap left/right channels, then shift one pixel to the right
    (``out[..., 1:] = out[..., :-1]``; column 0 keeps its value since the official zeroing line is commented out).
    The shift compensates for the flipped crop's features being misaligned by one heatmap pixel.
    """
    out = heatmaps.flip(3)[:, torch.as_tensor(flip_permutation, device=heatmaps.device)]
    if shift:
        out = torch.cat([out[..., :1], out[..., :-1]], dim=3)
    return out


def to_frame_coords(coords: np.ndarray, inverse_matrices: np.ndarray) -> np.ndarray:
    """Heatmap-pixel coordinates to frame pixels through each crop's inverse transform (``transform_preds``)."""
    return apply_affine(coords, inverse_matrices)


def heatmap_inverse_matrices(centers: np.ndarray, scales: np.ndarray, heatmap_size) -> np.ndarray:
    """Inverse of ``get_affine_transform(center, scale, 0, heatmap_size)``: heatmap pixels -> frame pixels.

    No half-pixel offset, as upstream.
    """
    from .transforms import affine_matrices
    return affine_matrices(centers, scales, heatmap_size, inv=True)


def rescore(box_scores: np.ndarray, joint_scores: np.ndarray, threshold: float = IN_VIS_THRESHOLD) -> np.ndarray:
    """Person score = box score x mean of the joint scores above ``threshold`` (0 when none pass)."""
    joint_scores = np.asarray(joint_scores, dtype=np.float32)
    passing = joint_scores > threshold
    count = passing.sum(-1)
    mean = np.where(count > 0, (joint_scores * passing).sum(-1) / np.maximum(count, 1), 0.0)
    return (np.asarray(box_scores, dtype=np.float32) * mean).astype(np.float32)


def pose_nms(keypoints: np.ndarray, scores: np.ndarray, scales: np.ndarray, sigmas: np.ndarray,
             threshold: float = OKS_NMS_THRESHOLD) -> np.ndarray:
    """Official OKS-NMS of one image's poses; the area of each pose is its enlarged crop, ``prod(scale * 200)``."""
    areas = np.prod(np.asarray(scales, dtype=np.float32) * PIXEL_STD, axis=1)
    return oks_nms(keypoints, scores, areas, sigmas, threshold)
