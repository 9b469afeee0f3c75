"""Crops: the official affine transform, batched, and its inverse for predictions.

The official ``get_affine_transform`` builds a 2x3 matrix from three point pairs: the box center maps to the
output center, the point half a *width* above the center (rotated by ``rot``) maps to the point half the output
width above the output center, and a perpendicular third point follows. That is a similarity (uniform zoom
``out_w / (scale[0] * 200)``, rotation by ``-rot``), which ``affine_matrices`` writes down in closed form for many
boxes at once; ``get_affine_transform`` keeps the official three-point construction as the reference the tests
compare against. Only ``scale[0]`` (the width) sets the zoom, as in the official code.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..geometry import PIXEL_STD


def get_affine_transform(center, scale, rot: float, output_size, shift=(0.0, 0.0), inv: bool = False) -> np.ndarray:
    """One 2x3 matrix, built exactly as the official code builds it (three points, ``cv2.getAffineTransform``)."""
    center = np.asarray(center, dtype=np.float32)
    scale_px = np.asarray(scale, dtype=np.float32) * PIXEL_STD
    shift = np.asarray(shift, dtype=np.float32)
    dst_w, dst_h = output_size
    rad = np.pi * rot / 180
    sn, cs = np.sin(rad), np.cos(rad)
    src_dir = np.array([0 * cs - (scale_px[0] * -0.5) * sn, 0 * sn + (scale_px[0] * -0.5) * cs], np.float32)
    dst_dir = np.array([0, dst_w * -0.5], np.float32)

    def third(a, b):
        d = a - b
        return b + np.array([-d[1], d[0]], np.float32)

    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center + scale_px * shift
    src[1] = center + src_dir + scale_px * shift
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = dst[0] + dst_dir
    src[2] = third(src[0], src[1])
    dst[2] = third(dst[0], dst[1])
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def affine_matrices(centers: np.ndarray, scales: np.ndarray, output_size, rots: np.ndarray | float = 0.0,
                    inv: bool = False) -> np.ndarray:
    """``(N, 2, 3)`` crop matrices (frame -> crop, or crop -> frame with ``inv``) for N center/scale pairs."""
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    scales = np.asarray(scales, dtype=np.float64).reshape(-1, 2)
    n = centers.shape[0]
    out_w, out_h = output_size
    rad = np.deg2rad(np.broadcast_to(np.asarray(rots, dtype=np.float64), (n,)))
    zoom = out_w / (scales[:, 0] * PIXEL_STD)
    cs, sn = np.cos(rad), np.sin(rad)
    # frame -> crop: p' = zoom * R(-rot) (p - center) + out_center
    a = np.empty((n, 2, 2))
    a[:, 0, 0], a[:, 0, 1] = zoom * cs, zoom * sn
    a[:, 1, 0], a[:, 1, 1] = -zoom * sn, zoom * cs
    out_center = np.array([out_w * 0.5, out_h * 0.5])
    if inv:
        a_inv = np.empty_like(a)
        a_inv[:, 0, 0], a_inv[:, 0, 1] = cs / zoom, -sn / zoom
        a_inv[:, 1, 0], a_inv[:, 1, 1] = sn / zoom, cs / zoom
        t = centers - np.einsum("nij,j->ni", a_inv, out_center)
        return np.concatenate([a_inv, t[:, :, None]], axis=2).astype(np.float32)
    t = out_center - np.einsum("nij,nj->ni", a, centers)
    return np.concatenate([a, t[:, :, None]], axis=2).astype(np.float32)


def apply_affine(points: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Apply ``(N, 2, 3)`` matrices to ``(N, K, 2)`` points."""
    points = np.asarray(points, dtype=np.float32)
    return np.einsum("nij,nkj->nki", matrices[:, :, :2], points) + matrices[:, None, :, 2]


def crop_cv2(frame: np.ndarray, matrices: np.ndarray, output_size) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 crops with ``cv2.warpAffine`` (bilinear, zero border): the official pixels."""
    out_w, out_h = output_size
    crops = np.empty((len(matrices), out_h, out_w, frame.shape[2]), dtype=np.uint8)
    for i, m in enumerate(matrices):  # image warping, not the tensor path: one cv2 call per box
        crops[i] = cv2.warpAffine(frame, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    return crops


def crop_torch(frame: torch.Tensor, matrices: np.ndarray, output_size) -> torch.Tensor:
    """Batched crops on the frame's device with ``grid_sample``: ``(N, 3, H, W)`` float in 0..255.

    ``frame`` is ``(3, Hf, Wf)`` (any dtype). Sampling follows OpenCV's convention (pixel centers at integer
    coordinates, zeros outside), so crops agree with ``crop_cv2`` up to OpenCV's 1/32-pixel fixed-point
    interpolation weights.
    """
    out_w, out_h = output_size
    _, fh, fw = frame.shape
    inv = torch.as_tensor(_invert(matrices), dtype=torch.float32, device=frame.device)  # crop -> frame
    ys, xs = torch.meshgrid(torch.arange(out_h, device=frame.device, dtype=torch.float32),
                            torch.arange(out_w, device=frame.device, dtype=torch.float32), indexing="ij")
    grid = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, -1, 3)
    src = grid @ inv.transpose(1, 2)  # (N, H*W, 2) frame pixels
    norm = torch.tensor([2.0 / max(fw - 1, 1), 2.0 / max(fh - 1, 1)], device=frame.device)
    src = (src * norm - 1).reshape(-1, out_h, out_w, 2)
    image = frame.float().unsqueeze(0).expand(len(matrices), -1, -1, -1)
    return F.grid_sample(image, src, mode="bilinear", padding_mode="zeros", align_corners=True)


def _invert(matrices: np.ndarray) -> np.ndarray:
    m = np.asarray(matrices, dtype=np.float64)
    a_inv = np.linalg.inv(m[:, :, :2])
    t = -np.einsum("nij,nj->ni", a_inv, m[:, :, 2])
    return np.concatenate([a_inv, t[:, :, None]], axis=2)
