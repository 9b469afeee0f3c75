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
# A pixel's bin is (h * 16 // 180) * 16 + (s * 4 // 256) * 4 + v * 4 // 256 (OpenCV's 8-bit hue is 0-179), 0..255:
# the hue's share from this table, the others by shifts (s >> 6, v >> 6); a region label adds label * 256.
_HUE_SHARE = (np.minimum(np.arange(256) * HSV_BINS[0] // 180, HSV_BINS[0] - 1) * HSV_BINS[1] * HSV_BINS[2]).astype(
    np.uint8)
assert HSV_BINS[1:] == (4, 4) and BINS == 256, "the shifts in colour_histograms assume 4 x 4 bins"
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
    lay = get_layout(layout)
    kpts = np.asarray(keypoints, np.float32).reshape(-1, lay.num_joints, 3)
    counts = np.zeros((len(kpts), len(REGIONS), BINS), np.float32)
    if not len(kpts):
        return counts
    h, w = frame.shape[:2]
    torso = [lay.index(name) for name in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
    limbs = _limb_segments(lay)
    # Everything but the drawing and the counting is done for all poses at once: the patch around each pose's
    # confident joints, the joints in its pixels (1/16 px for OpenCV's shift=4), the shrunk torso quadrilateral.
    ok = kpts[..., 2] >= min_score
    # Joints not shown are never drawn: at 0 they cannot overflow the integer pixel arithmetic below.
    xy = np.where(ok[..., None], kpts[..., :2], np.float32(0))
    seen_min = np.where(ok[..., None], xy, np.inf).min(1)     # (N, 2) extent of the shown joints
    seen_max = np.where(ok[..., None], xy, -np.inf).max(1)
    lo = np.floor(seen_min).clip(-1e9, 1e9).astype(np.int64) - 2
    hi = np.ceil(seen_max).clip(-1e9, 1e9).astype(np.int64) + 3
    lo[~ok.any(1)] = hi[~ok.any(1)] = 0   # nobody shown: an empty patch, skipped below
    corner = np.maximum(lo, 0)
    end = np.minimum(hi, [w, h])
    # Clipped so that a joint placed absurdly far off the frame still fits OpenCV's int coordinates (x 16).
    local = np.clip((xy - corner[:, None].astype(np.float32)) / stride, -1e6, 1e6)
    quad = local[:, torso]
    centre = quad.sum(1, keepdims=True) * 0.25
    quads = np.ascontiguousarray(np.round((centre + (quad - centre) * (1 - TORSO_SHRINK)) * 16), np.int32)
    torso_ok = ok[:, torso].all(1).tolist()
    mid = (quad[:, 0] + quad[:, 1]) / 2 - (quad[:, 3] + quad[:, 2]) / 2
    # Without the whole torso, the limbs' scale comes from the person's joint extent.
    extent = 0.3 * (seen_max - seen_min).max(1)
    scales = np.where(torso_ok, np.hypot(mid[:, 0], mid[:, 1]), extent).tolist()
    ends = np.round(local * 16).astype(np.int64).tolist()
    boxes = np.concatenate([corner, end], 1).tolist()
    oks = ok.tolist()
    for n, (x0, y0, x1, y1) in enumerate(boxes):
        if sum(oks[n]) < 2 or x1 <= x0 or y1 <= y0:
            continue
        labels = np.zeros((-(-(y1 - y0) // stride), -(-(x1 - x0) // stride)), np.uint8)
        if torso_ok[n]:
            cv2.fillConvexPoly(labels, quads[n], 1, cv2.LINE_8, 4)
        width = max(int(round(LIMB_WIDTH * scales[n])), 1)
        for region, a, b in limbs:
            if oks[n][a] and oks[n][b]:
                cv2.line(labels, ends[n][a], ends[n][b], region + 1, width, cv2.LINE_8, 4)
        patch = np.ascontiguousarray(frame[y0:y1:stride, x0:x1:stride])
        hue, sat, val = cv2.split(cv2.cvtColor(patch, cv2.COLOR_BGR2HSV))
        code = cv2.LUT(hue, _HUE_SHARE)                 # the pixel's bin: hue share + saturation and value shares
        code += (sat >> 6) << 2
        code += val >> 6
        code16 = labels.astype(np.uint16) << 8          # and its region: label * BINS (label 0: outside every region)
        code16 |= code
        counts[n] = np.bincount(code16.ravel(), minlength=(len(REGIONS) + 1) * BINS)[BINS:].reshape(-1, BINS)
    total = counts.sum(-1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


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
        return blend_histograms(average, new, rate)
    return (1 - rate) * average + rate * new


def blend_histograms(average: np.ndarray, new: np.ndarray, rate: float) -> np.ndarray:
    """``blend`` of ``(..., REGIONS, BINS)`` histograms: many tracks' running averages in one step."""
    has_a, has_n = average.sum(-1, keepdims=True) > 0, new.sum(-1, keepdims=True) > 0
    mixed = (1 - rate) * average + rate * new
    return np.where(has_a & has_n, mixed, np.where(has_n, new, average))
