"""Box and keypoint geometry, vectorised over whole arrays.

Conventions, stated once for the whole package:

* boxes are ``(N, 4)`` float32 ``x1, y1, x2, y2`` in frame pixels;
* keypoints are ``(N, K, 3)`` float32 ``x, y, score``;
* ``xywh`` (COCO ``bbox``) and center/scale (the official code's crop parameters) exist only at the edges and are
  converted here.
"""
from __future__ import annotations

import numpy as np

PIXEL_STD = 200.0  # the official code expresses scale in units of 200 px (``pixel_std``)
CROP_PADDING = 1.25  # the official ``_xywh2cs`` enlarges every box by 25%
# A box around a pose's joints is "extended by 15%" (7.5% on each side): the propagated boxes of §3.1 and the
# ground-truth boxes of PoseTrack training and of the GT-box ablation (§4.2).
BOX_ENLARGE = 0.15


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def box_to_center_scale(boxes_xyxy: np.ndarray, aspect_ratio: float,
                        padding: float = CROP_PADDING) -> tuple[np.ndarray, np.ndarray]:
    """The official ``_xywh2cs`` for many boxes: ``(N, 2)`` centers and ``(N, 2)`` scales (in units of 200 px).

    The short side is grown until ``w / h == aspect_ratio`` (input width / input height), then both sides are
    multiplied by ``padding``.
    """
    xywh = xyxy_to_xywh(boxes_xyxy).astype(np.float64)
    x, y, w, h = xywh.T
    center = np.stack([x + w * 0.5, y + h * 0.5], axis=1)
    wide = w > aspect_ratio * h
    h = np.where(wide, w / aspect_ratio, h)
    w = np.where(~wide & (w < aspect_ratio * h), h * aspect_ratio, w)
    scale = np.stack([w, h], axis=1) / PIXEL_STD * padding
    return center.astype(np.float32), scale.astype(np.float32)


def keypoint_boxes(keypoints: np.ndarray, min_score: float = 0.0, enlarge: float = 0.0) -> np.ndarray:
    """Bounding box of each pose's joints with score > ``min_score``, each side grown by ``enlarge`` / 2.

    ``enlarge=BOX_ENLARGE`` is the paper's "extended by 15%" (7.5% on each side). Poses with no such joint get a
    zero box at the origin.
    """
    kpts = np.asarray(keypoints, dtype=np.float32)
    if kpts.shape[0] == 0:
        return np.zeros((0, 4), np.float32)
    valid = kpts[..., 2] > min_score
    big = np.float32(np.inf)
    x1 = np.where(valid, kpts[..., 0], big).min(1)
    y1 = np.where(valid, kpts[..., 1], big).min(1)
    x2 = np.where(valid, kpts[..., 0], -big).max(1)
    y2 = np.where(valid, kpts[..., 1], -big).max(1)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    boxes[~valid.any(1)] = 0
    if enlarge:
        grow = (boxes[:, 2:] - boxes[:, :2]) * (enlarge / 2)
        boxes = np.concatenate([boxes[:, :2] - grow, boxes[:, 2:] + grow], axis=1)
    return boxes.astype(np.float32)


def box_area(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` intersection over union of two sets of xyxy boxes (0 where both areas are 0)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy box NMS: indices of the kept boxes, highest score first.

    A box is removed when its IoU with an already kept box is strictly greater than ``iou_threshold``.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")
    iou = box_iou(boxes, boxes)
    return greedy_suppress(order, iou, iou_threshold)


def greedy_suppress(order: np.ndarray, overlap: np.ndarray, threshold: float) -> np.ndarray:
    """Walk ``order`` (best first), keeping each item whose ``overlap`` with every kept item is <= ``threshold``."""
    keep = []
    alive = np.ones(len(order), dtype=bool)
    for rank, i in enumerate(order):
        if not alive[rank]:
            continue
        keep.append(i)
        alive[rank + 1:] &= overlap[i, order[rank + 1:]] <= threshold
    return np.asarray(keep, dtype=np.int64)


def oks(a: np.ndarray, b: np.ndarray, areas: np.ndarray, sigmas: np.ndarray,
        b_areas: np.ndarray | None = None, min_score: float | None = None) -> np.ndarray:
    """``(N, M)`` object keypoint similarity between poses ``a`` (N, K, 3) and ``b`` (M, K, 3).

    Follows the official ``oks_iou``: ``e = d² / (2σ)² / ((area_a + area_b) / 2) / 2`` summed as ``exp(-e)`` and
    averaged over the counted joints. ``areas`` are the areas of ``a``; ``b_areas`` default to ``areas`` when the
    two sets are the same. With ``min_score``, only joints whose score exceeds it in both poses count (a pair with
    no such joint has similarity 0); without it every joint counts, as in the official OKS-NMS.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), np.float32)
    areas = np.asarray(areas, dtype=np.float32).reshape(-1)
    b_areas = areas if b_areas is None else np.asarray(b_areas, dtype=np.float32).reshape(-1)
    var = (2 * np.asarray(sigmas, dtype=np.float32)) ** 2
    mean_area = (areas[:, None] + b_areas[None, :]) / 2 + np.spacing(1, dtype=np.float32)
    # x and y separately and in place: a sum over a length-2 axis and fresh temporaries cost 5x the time
    # on the (N, M, K) arrays the tracker's similarities build every frame.
    dx = a[:, None, :, 0] - b[None, :, :, 0]
    dy = a[:, None, :, 1] - b[None, :, :, 1]
    e = dx * dx
    e += dy * dy
    e /= var
    e /= (2 * mean_area)[..., None]
    sim = np.exp(-e, out=e)
    if min_score is None:
        return sim.mean(-1).astype(np.float32)
    counted = (a[:, None, :, 2] > min_score) & (b[None, :, :, 2] > min_score)
    n = counted.sum(-1)
    sim *= counted
    return np.where(n > 0, sim.sum(-1) / np.maximum(n, 1), 0.0).astype(np.float32)


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray,
            threshold: float = 0.9) -> np.ndarray:
    """The official OKS-NMS: greedy by score, dropping poses whose OKS with a kept pose is > ``threshold``.

    ``areas`` are the enlarged crop areas (``prod(scale * 200)``) as in the official ``coco.py``.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")
    sim = oks(keypoints, keypoints, areas, sigmas)
    return greedy_suppress(order, sim, threshold)
