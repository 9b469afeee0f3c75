"""The synthetic world as PoseTrack21 ground truth: dense labels, ignore regions over hidden people, box-only
people on unlabeled frames.

PoseTrack21 annotates every person of a labeled frame with 17 keypoints, ``bbox`` and ``bbox_head``; a person
too hidden to annotate lies under an ignore region instead; people on frames that are not labeled are listed
with a box only (all keypoints 0). Here a person with fewer than ``HIDDEN_JOINTS`` visible evaluated joints gets an
ignore polygon over their body box and no annotation. The official kit crashes on a labeled frame without a
person outside its ignore regions, so such a frame is written as not labeled (its people box-only).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import shapely

from ..types import Frame, Sequence
from .sequence import file_ground_truth

HIDDEN_JOINTS = 4
_EVAL = [0, 1, 2] + list(range(5, 17))  # the 15 evaluated slots
_MARGIN = 4.0  # px around a hidden person's box


def _box_polygon(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = box + np.array([-_MARGIN, -_MARGIN, _MARGIN, _MARGIN])
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def _subset(f: Frame, keep: np.ndarray, box_only: bool, vid: int) -> dict:
    kpts = f.keypoints[keep].copy()
    if box_only:
        kpts[:] = 0
    ids = f.track_ids[keep]
    return dict(keypoints=kpts, boxes=f.boxes[keep], scores=f.scores[keep], track_ids=ids,
                head_boxes=f.head_boxes[keep], person_ids=vid * 1000 + ids)


def _outside_any(polygons: list, kpts: np.ndarray) -> bool:
    """Whether some annotated joint lies outside every polygon (the kit needs one per labeled frame)."""
    xy = kpts[:, _EVAL, :2].reshape(-1, 2)
    has = (xy > 0).all(1)
    if not has.any():
        return False
    inside = np.zeros(len(xy), bool)
    points = shapely.points(xy.astype(np.float64))
    for p in polygons:
        inside |= shapely.contains(shapely.Polygon(p), points)
    return bool((has & ~inside).any())


def pt21_ground_truth(truth: Sequence, labeled: list[bool]) -> Sequence:
    """PoseTrack21 ground truth from the synthetic ``truth`` (every frame's people) and which frames to label."""
    truth = file_ground_truth(truth)
    vid = truth.vid_id or 0
    frames = []
    for f, is_labeled in zip(truth.frames, labeled):
        kpts = f.keypoints[:, _EVAL]
        hidden = ((kpts[..., 0] > 0) & (kpts[..., 1] > 0)).sum(1) < HIDDEN_JOINTS
        regions = [_box_polygon(b) for b in f.boxes[hidden]] if is_labeled else []
        keep = ~hidden if is_labeled else np.ones(len(f), bool)
        if is_labeled and not _outside_any(regions, f.keypoints[keep]):
            is_labeled, regions, keep = False, [], np.ones(len(f), bool)
        frames.append(replace(f, **_subset(f, keep, not is_labeled, vid), ignore_regions=regions,
                              is_labeled=is_labeled))
    return replace(truth, frames=frames)
