"""Joint propagation (§3.1) and box unification (§3.3).

A pose of frame ``k-1`` is moved into frame ``k`` by adding to each joint the flow ``F_{k-1→k}`` sampled at the
joint; the bounding box of the moved joints, enlarged by 15%, is a box the detector may have missed. Those boxes
join the detector's and a standard box NMS keeps one box per person (Algorithm 1, line 9).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..geometry import BOX_ENLARGE, keypoint_boxes, nms


def sample_flow(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear ``(..., 2)`` flow vectors at ``(..., 2)`` pixel positions; positions off the frame take the
    nearest border value (a joint that walked off-screen keeps moving with the image edge)."""
    points = np.asarray(points, dtype=np.float32)
    shape = points.shape[:-1]
    if points.size == 0:
        return np.zeros(shape + (2,), np.float32)
    xy = points.reshape(-1, 2)
    n = len(xy)
    # remap reads ``flow[map_y, map_x]`` for every entry of the maps: one call samples every joint at once. The
    # maps are laid out as rows of at most 4096 points because remap limits each side to SHRT_MAX.
    width = min(n, 4096)
    rows = -(-n // width)
    grid = np.zeros((rows * width, 2), np.float32)
    grid[:n] = xy
    grid = grid.reshape(rows, width, 2)
    vectors = cv2.remap(flow, np.ascontiguousarray(grid[..., 0]), np.ascontiguousarray(grid[..., 1]),
                        interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return vectors.reshape(-1, 2)[:n].reshape(shape + (2,))


def propagate_joints(keypoints: np.ndarray, flow: np.ndarray, min_score: float = 0.0) -> np.ndarray:
    """Move every joint with score > ``min_score`` by the flow at its position; other joints stay put.

    ``keypoints`` may have any leading shape ``(..., K, 3)``; scores are unchanged.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    moved = keypoints.copy()
    if keypoints.size == 0:
        return moved
    live = keypoints[..., 2] > min_score
    moved[..., :2] += sample_flow(flow, keypoints[..., :2]) * live[..., None]
    return moved


def propagated_boxes(keypoints: np.ndarray, min_score: float = 0.0,
                     enlarge: float = BOX_ENLARGE) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of propagated poses (joints with score > ``min_score``, each side grown by ``enlarge`` / 2, the
    paper's 15%) and a mask of the poses that have any such joint (the others get no box)."""
    valid = (np.asarray(keypoints)[..., 2] > min_score).any(-1)
    return keypoint_boxes(keypoints, min_score=min_score, enlarge=enlarge), valid


def unify_boxes(det_boxes: np.ndarray, det_scores: np.ndarray, flow_boxes: np.ndarray, flow_scores: np.ndarray,
                iou_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``NMS(B_det ∪ B_flow)``: the kept boxes, their scores, and for each kept box the index of the propagated
    box it came from (-1 for a detector box).

    On a tie in score the detector box wins (it comes first in the stable sort): it was measured on this frame.
    """
    det_boxes = np.asarray(det_boxes, np.float32).reshape(-1, 4)
    flow_boxes = np.asarray(flow_boxes, np.float32).reshape(-1, 4)
    boxes = np.concatenate([det_boxes, flow_boxes])
    scores = np.concatenate([np.asarray(det_scores, np.float32).reshape(-1),
                             np.asarray(flow_scores, np.float32).reshape(-1)])
    source = np.concatenate([np.full(len(det_boxes), -1), np.arange(len(flow_boxes))])
    keep = nms(boxes, scores, iou_threshold)
    return boxes[keep], scores[keep], source[keep]
