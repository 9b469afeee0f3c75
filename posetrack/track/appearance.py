"""Appearance descriptors, to tell a person who comes back after an occlusion from the others (issue 14).

No new network. Two kinds, both pure functions of what the pipeline already has:

* ``colour_histograms(frame, keypoints)``: HSV colour histograms of body regions that the pose itself locates,
  the torso (the shoulder-hip quadrilateral, shrunk toward its centre so as to stay on the clothes) and four
  limb regions (upper arms, forearms, thighs, shins: thick lines between the joints). Left and right limbs share
  a region, so the descriptor does not change when a person turns round (their left arm is then drawn where the
  right one was). Histograms are ``(N, REGIONS, BINS)``, each present region summing to 1, an absent region (a
  joint below ``min_score``, or no pixel in the image) all zeros; ``histogram_similarity`` is the Bhattacharyya
  coefficient averaged over the regions both people show.
* pose-network features: ``PoseEstimator(return_features=True)`` pools the backbone's last feature map inside
  each crop during the forward pass that gives the heatmaps (flip-averaged with flip test, so mirror-invariant);
  ``feature_similarity`` is their cosine similarity.

``blend`` keeps a running average of either kind per track. Which kind tells people apart after an occlusion is
measured by ``scripts/bench_appearance.py`` on ``posetrack synth --scenario occlusion`` (numbers in README).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..layouts import get_layout

REGIONS = ("torso", "upper_arm", "forearm", "thigh", "shin")
_LIMBS = {"upper_arm": ("shoulder", "elbow"), "forearm": ("elbow", "wrist"), "thigh": ("hip", "knee"),
          "shin": ("knee", "ankle")}
HSV_BINS = (16, 4, 4)  # hue (OpenCV's 0-179), saturation, value
BINS = int(np.prod(HSV_BINS))
# Each HSV channel's value -> its share of the bin index, one table per channel for cv2.LUT: the bin of a pixel is
# the sum of its three entries, (h * 16 // 180) * 16 + (s * 4 // 256) * 4 + v * 4 // 256 (at most 255: uint8).
_BIN_LUT = np.stack([np.minimum(np.arange(256) * HSV_BINS[0] // 180, HSV_BINS[0] - 1) * HSV_BINS[1] * HSV_BINS[2],
                     np.arange(256) * HSV_BINS[1] // 256 * HSV_BINS[2],
                     np.arange(256) * HSV_BINS[2] // 256], -1).astype(np.uint8).reshape(1, 256, 3)
TORSO_SHRINK = 0.15    # the torso quadrilateral is shrunk this much toward its centre
LIMB_WIDTH = 0.15      # limb line width, as a fraction of the torso length (shoulder midpoint to hip midpoint)


def _limb_segments(layout) -> list[tuple[int, int, int]]:
    """``(region index, joint a, joint b)`` for each drawn limb line, in drawing order (later lines win)."""
    out = []
    for r, region in enumerate(REGIONS[1:], start=1):
        a, b = _LIMBS[region]
        out += [(r, layout.index(f"{side}_{a}"), layout.index(f"{side}_{b}")) for side in ("left", "right")]
    return out


def colour_histograms(frame: np.ndarray, keypoints: np.ndarray, *, min_score: float = 0.2,
                      layout: str = "posetrack18", stride: int = 1) -> np.ndarray:
    """``(N, len(REGIONS), BINS)`` float32 HSV histograms of each pose's body regions in a BGR ``frame``;
    ``stride`` > 1 counts every ``stride``-th pixel in each direction (a colour distribution barely changes, the
    work falls by ``stride`` squared)."""
    kpts = np.asarray(keypoints, np.float32).reshape(-1, get_layout(layout).num_joints, 3)
    lay = get_layout(layout)
    out = np.zeros((len(kpts), len(REGIONS), BINS), np.float32)
    h, w = frame.shape[:2]
    shoulders = [lay.index("left_shoulder"), lay.index("right_shoulder")]
    hips = [lay.index("left_hip"), lay.index("right_hip")]
    limbs = _limb_segments(lay)
    for n, pose in enumerate(kpts):
        ok = pose[:, 2] >= min_score
        if ok.sum() < 2:
            continue
        xy = pose[:, :2]
        lo = np.floor(xy[ok].min(0)).astype(int) - 2
        hi = np.ceil(xy[ok].max(0)).astype(int) + 3
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], w), min(hi[1], h)
        if x1 <= x0 or y1 <= y0:
            continue
        labels = np.zeros((-(-(y1 - y0) // stride), -(-(x1 - x0) // stride)), np.uint8)
        local = (xy - [x0, y0]) / stride
        mid_s, mid_h = local[shoulders].mean(0), local[hips].mean(0)
        torso_ok = ok[shoulders].all() and ok[hips].all()
        # Without the whole torso, the limbs' scale comes from the person's joint extent.
        scale = np.hypot(*(mid_s - mid_h)) if torso_ok else 0.3 * float(np.ptp(xy[ok], 0).max())
        if torso_ok:
            quad = local[[shoulders[0], shoulders[1], hips[1], hips[0]]]
            centre = quad.mean(0)
            cv2.fillConvexPoly(labels, np.round((centre + (quad - centre) * (1 - TORSO_SHRINK)) * 16).astype(
                np.int32), 1, cv2.LINE_8, 4)
        width = max(int(round(LIMB_WIDTH * scale)), 1)
        for region, a, b in limbs:
            if ok[a] and ok[b]:
                cv2.line(labels, tuple(np.round(local[a] * 16).astype(int).tolist()),
                         tuple(np.round(local[b] * 16).astype(int).tolist()), region + 1, width, cv2.LINE_8, 4)
        patch = frame[y0:y1:stride, x0:x1:stride]
        shares = cv2.LUT(cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_BGR2HSV), _BIN_LUT)
        bins = labels.astype(np.uint16) * BINS   # label 0: outside every region
        bins += shares[..., 0]
        bins += shares[..., 1]
        bins += shares[..., 2]
        counts = np.bincount(bins.ravel(), minlength=(len(REGIONS) + 1) * BINS)[BINS:]
        counts = counts.reshape(len(REGIONS), BINS).astype(np.float32)
        total = counts.sum(1, keepdims=True)
        out[n] = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    return out


def histogram_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` mean Bhattacharyya coefficient (1: same colours) over the regions both show; NaN where they
    share no region."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    coeff = np.einsum("nrk,mrk->nmr", np.sqrt(a), np.sqrt(b))
    both = (a.sum(-1) > 0)[:, None, :] & (b.sum(-1) > 0)[None, :, :]
    with np.errstate(invalid="ignore"):
        return (coeff * both).sum(-1) / both.sum(-1)


def feature_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` cosine similarity of pooled network features."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


def blend(average: np.ndarray, new: np.ndarray, rate: float) -> np.ndarray:
    """Running average ``(1 - rate) * average + rate * new`` of one descriptor (either kind); for histograms a
    region only one of the two shows is taken from that one."""
    average, new = np.asarray(average, np.float32), np.asarray(new, np.float32)
    if average.ndim == 2:  # (REGIONS, BINS) histograms
        has_a, has_n = average.sum(-1, keepdims=True) > 0, new.sum(-1, keepdims=True) > 0
        mixed = (1 - rate) * average + rate * new
        return np.where(has_a & has_n, mixed, np.where(has_n, new, average))
    return (1 - rate) * average + rate * new
