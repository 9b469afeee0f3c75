"""Similarities between the tracks in the queue and the poses of the current frame (§3.2), as ``(T, N)`` matrices.

* ``bbox``: IoU of the track's last box and the pose's box (S_Bbox).
* ``pose``: OKS of the track's last pose and the pose (S_Pose).
* ``flow``: OKS of the track's last pose *propagated by optical flow to the current frame* and the pose
  (S_Flow, Eq. 1). A track last seen a few frames ago was propagated step by step with each frame's flow.
* ``multiflow``: the same for every appearance of the track in the last ``L_Q`` frames, reduced over the queue by
  ``max`` or ``mean`` (S_Multi-Flow; the paper does not say how the scores are combined).

OKS follows ``geometry.oks`` with the layout's sigmas and, as the scale, the area of each pose's box (the box the
pose was estimated in; for given poses, its joints' box enlarged by 15%). The box, not the confident joints'
extent: a person half out of the frame or half hidden shows two or three joints whose own box is tiny, which
would make OKS demand sub-pixel agreement. Only joints above ``min_score`` in *both* poses count, so joints the
estimator could not see (or that were never propagated) add no noise; a pair with no such joint in common has
similarity 0. A pair that shares fewer than ``min_joints`` such joints is scored as if the missing ones had
similarity 0: one or two joints of a person at the frame edge can agree by chance, and greedy matching would
otherwise prefer that chance agreement over a well-supported match.

A similarity is any callable ``(candidates, keypoints, boxes) -> (T, N)``; ``make_similarity`` builds the four
above from a name, and ``FlowTracker`` accepts a callable of one's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from ..config.tracker import REDUCTIONS, SIMILARITIES
from ..errors import PosetrackError
from ..geometry import box_area, box_iou, oks



@dataclass
class Candidates:
    """The tracks the current frame can be matched to: every track id in the queue.

    ``boxes``, ``keypoints`` and ``moved`` describe each track's newest appearance (as seen, and propagated to
    the current frame). ``history`` holds every appearance in the queue propagated to the current frame,
    ``history_boxes`` their boxes (as seen) and ``history_track`` the row of ``ids`` each belongs to.
    """

    ids: np.ndarray            # (T,) int64
    boxes: np.ndarray          # (T, 4)
    keypoints: np.ndarray      # (T, K, 3)
    moved: np.ndarray          # (T, K, 3)
    history: np.ndarray        # (M, K, 3)
    history_boxes: np.ndarray  # (M, 4)
    history_track: np.ndarray  # (M,) int64 in [0, T)

    def __len__(self) -> int:
        return len(self.ids)


Similarity = Callable[[Candidates, np.ndarray, np.ndarray], np.ndarray]


def pose_oks(a: np.ndarray, a_boxes: np.ndarray, b: np.ndarray, b_boxes: np.ndarray, sigmas: np.ndarray,
             min_score: float, min_joints: int = 3) -> np.ndarray:
    """``(N, M)`` OKS between two sets of poses, each scaled by its own box area, over the joints seen in both,
    shrunk by ``n / min_joints`` where they share only ``n < min_joints`` joints."""
    sim = oks(a, b, box_area(a_boxes), sigmas, b_areas=box_area(b_boxes), min_score=min_score)
    if min_joints <= 1 or sim.size == 0:
        return sim
    common = (a[..., 2] > min_score).astype(np.float32) @ (b[..., 2] > min_score).astype(np.float32).T
    return sim * np.minimum(common / min_joints, 1.0)


def bbox_similarity(candidates: Candidates, keypoints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    return box_iou(candidates.boxes, boxes)


def pose_similarity(candidates: Candidates, keypoints: np.ndarray, boxes: np.ndarray, *, sigmas: np.ndarray,
                    min_score: float, min_joints: int = 3) -> np.ndarray:
    return pose_oks(candidates.keypoints, candidates.boxes, keypoints, boxes, sigmas, min_score, min_joints)


def flow_similarity(candidates: Candidates, keypoints: np.ndarray, boxes: np.ndarray, *, sigmas: np.ndarray,
                    min_score: float, min_joints: int = 3) -> np.ndarray:
    # The propagated pose keeps its box's area: a person's size barely changes over a few frames.
    return pose_oks(candidates.moved, candidates.boxes, keypoints, boxes, sigmas, min_score, min_joints)


def multiflow_similarity(candidates: Candidates, keypoints: np.ndarray, boxes: np.ndarray, *, sigmas: np.ndarray,
                         min_score: float, min_joints: int = 3, reduction: str = "max") -> np.ndarray:
    per_appearance = pose_oks(candidates.history, candidates.history_boxes, keypoints, boxes, sigmas, min_score,
                              min_joints)
    return reduce_by_track(per_appearance, candidates.history_track, len(candidates), reduction)


def reduce_by_track(values: np.ndarray, track: np.ndarray, num_tracks: int, reduction: str) -> np.ndarray:
    """Collapse the rows of ``values`` (M, N) that belong to one track into one row: ``(num_tracks, N)``."""
    out = np.zeros((num_tracks, values.shape[1]), np.float32)
    if len(track) == 0 or values.shape[1] == 0:
        return out
    order = np.argsort(track, kind="stable")
    track_sorted = track[order]
    starts = np.flatnonzero(np.r_[True, track_sorted[1:] != track_sorted[:-1]])
    rows = track_sorted[starts]
    if reduction == "max":
        out[rows] = np.maximum.reduceat(values[order], starts, axis=0)
    elif reduction == "mean":
        counts = np.diff(np.r_[starts, len(track)])
        out[rows] = np.add.reduceat(values[order], starts, axis=0) / counts[:, None]
    else:
        raise PosetrackError(f"unknown queue reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")
    return out


def make_similarity(name: str, sigmas: np.ndarray, min_score: float, reduction: str = "max",
                    min_joints: int = 3) -> Similarity:
    """The similarity called ``name`` with its parameters bound."""
    oks_options = dict(sigmas=np.asarray(sigmas, np.float32), min_score=min_score, min_joints=min_joints)
    if name == "bbox":
        return bbox_similarity
    if name == "pose":
        return partial(pose_similarity, **oks_options)
    if name == "flow":
        return partial(flow_similarity, **oks_options)
    if name == "multiflow":
        if reduction not in REDUCTIONS:
            raise PosetrackError(f"unknown queue reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")
        return partial(multiflow_similarity, reduction=reduction, **oks_options)
    raise PosetrackError(f"unknown similarity {name!r}; choose one of {', '.join(SIMILARITIES)}")
