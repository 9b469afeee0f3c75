"""The official training augmentation: random scale, rotation and horizontal flip, applied through the crop.

``JointsDataset.__getitem__`` draws, per sample,

* scale ``s · clip(N(0,1)·sf + 1, 1 - sf, 1 + sf)`` (sf = 0.3 for COCO),
* rotation ``clip(N(0,1)·rf, -2rf, 2rf)`` degrees (rf = 40) with probability 0.6, else 0,
* a horizontal flip with probability 0.5: the image is mirrored (``x -> W - x - 1``), the joints too with their
  left/right labels swapped (``fliplr_joints``), and the box center moves to ``W - cx - 1``,

then crops with ``get_affine_transform(center, scale, rot, input_size)``. Mirroring the whole image and then
cropping is the same as cropping the original image through the crop matrix composed with the mirror, which is
what ``crop_matrix`` builds: one ``warpAffine`` of the original image, no full-size flipped copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pose.transforms import affine_matrices


@dataclass
class AugmentConfig:
    """Defaults are the official COCO values (``SCALE_FACTOR`` 0.3, ``ROT_FACTOR`` 40, ``FLIP`` true)."""

    scale_factor: float = 0.3
    rotation_factor: float = 40.0
    rotation_prob: float = 0.6
    flip: bool = True
    flip_prob: float = 0.5


@dataclass
class Augmentation:
    scale: float = 1.0       # multiplies the sample's scale
    rotation: float = 0.0    # degrees, counter-clockwise in the image as the official crop defines it
    flip: bool = False


def sample_augmentation(rng: np.random.Generator, cfg: AugmentConfig) -> Augmentation:
    sf, rf = cfg.scale_factor, cfg.rotation_factor
    scale = float(np.clip(rng.standard_normal() * sf + 1, 1 - sf, 1 + sf))
    rot = float(np.clip(rng.standard_normal() * rf, -2 * rf, 2 * rf))
    rot = rot if rng.random() <= cfg.rotation_prob else 0.0
    flip = bool(cfg.flip and rng.random() <= cfg.flip_prob)
    return Augmentation(scale, rot, flip)


def crop_matrix(center, scale, aug: Augmentation, image_width: int, input_size) -> np.ndarray:
    """``(2, 3)`` matrix from original-image pixels to the augmented crop (mirror first when ``aug.flip``)."""
    center = np.asarray(center, dtype=np.float64).copy()
    if aug.flip:
        center[0] = image_width - center[0] - 1
    m = affine_matrices(center[None], np.asarray(scale, np.float64)[None] * aug.scale, input_size,
                        rots=aug.rotation)[0].astype(np.float64)
    if aug.flip:
        mirror = np.array([[-1.0, 0.0, image_width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        m = m @ mirror
    return m.astype(np.float32)


def transform_joints(joints: np.ndarray, matrix: np.ndarray, flip_permutation: np.ndarray | None) -> np.ndarray:
    """Joints ``(K, 3)`` (x, y, visibility) into the crop; with a flip, left and right labels swap.

    As upstream, only labelled joints move; unlabelled ones stay at 0, 0 with visibility 0.
    """
    joints = np.asarray(joints, dtype=np.float32)
    if flip_permutation is not None:
        joints = joints[flip_permutation]
    out = np.zeros_like(joints)
    vis = joints[:, 2] > 0
    out[:, :2] = joints[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    out[:, :2] *= vis[:, None]
    out[:, 2] = joints[:, 2]
    return out
