"""Joint layouts: names, flip pairs, skeleton edges, OKS sigmas, and the mappings between layouts.

Three layouts matter:

* ``coco17``: the COCO keypoint order, used by the official Simple Baselines and mmpose checkpoints.
* ``posetrack18``: the 17 slots of PoseTrack 2018 files (``categories[0].keypoints``). Slots 5-16 coincide with
  COCO; slot 1 is ``head_bottom`` and slot 2 ``head_top``; slots 3/4 (ears) are placeholders the evaluation never
  reads.
* ``posetrack15``: the 15 joints the official evaluation (poseval) scores, in poseval's internal id order. That
  id is also the index of the per-joint arrays in poseval's metric files.

Keypoint arrays everywhere are ``(N, K, 3)`` float32 ``x, y, score`` in the layout's order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import PosetrackError

# COCO OKS sigmas (cocoapi / official nms.py), per COCO-17 joint.
_COCO_SIGMAS = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89],
    dtype=np.float32) / 10.0

_LIMB_NAMES = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
               "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]

_LIMB_EDGES = [("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
               ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
               ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"),
               ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
               ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")]


@dataclass(frozen=True)
class JointLayout:
    """Everything that depends on which joint sits at which index."""

    name: str
    joints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    skeleton: tuple[tuple[int, int], ...]
    sigmas: np.ndarray

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps every left joint with its right partner."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


def _make(name: str, joints: list[str], extra_edges: list[tuple[str, str]], sigmas: np.ndarray) -> JointLayout:
    index = {j: i for i, j in enumerate(joints)}
    pairs = []
    for i, j in enumerate(joints):
        if j.startswith("left_") and "right_" + j[5:] in index:
            pairs.append((i, index["right_" + j[5:]]))
    edges = tuple((index[a], index[b]) for a, b in _LIMB_EDGES + extra_edges)
    return JointLayout(name, tuple(joints), tuple(pairs), edges, np.asarray(sigmas, dtype=np.float32))


COCO17 = _make(
    "coco17",
    ["nose", "left_eye", "right_eye", "left_ear", "right_ear"] + _LIMB_NAMES,
    [("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "right_eye"), ("left_eye", "left_ear"),
     ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder")],
    _COCO_SIGMAS)

# PoseTrack 2018 uses the COCO sigmas slot for slot (as mmpose's posetrack18 dataset info does); the head joints
# take the eye sigmas of the slots they replace.
POSETRACK18 = _make(
    "posetrack18",
    ["nose", "head_bottom", "head_top", "left_ear", "right_ear"] + _LIMB_NAMES,
    [("nose", "head_bottom"), ("nose", "head_top"), ("head_bottom", "left_shoulder"),
     ("head_bottom", "right_shoulder")],
    _COCO_SIGMAS)

# poseval's internal joint order (eval_helpers.Joint); index = poseval id.
POSETRACK15 = _make(
    "posetrack15",
    ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
     "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "head_bottom", "nose",
     "head_top"],
    [("nose", "head_bottom"), ("nose", "head_top")],
    _COCO_SIGMAS[[16, 14, 12, 11, 13, 15, 10, 8, 6, 5, 7, 9, 1, 0, 2]])

# Slots of the 17-slot PoseTrack 2018 layout that the evaluation never reads.
POSETRACK18_UNUSED = (3, 4)

LAYOUTS = {layout.name: layout for layout in (COCO17, POSETRACK18, POSETRACK15)}

# poseval's table columns: which poseval ids are averaged into each column.
EVAL_GROUPS = {
    "head": (12, 13, 14), "shoulder": (8, 9), "elbow": (7, 10), "wrist": (6, 11),
    "hip": (2, 3), "knee": (1, 4), "ankle": (0, 5),
}


def get_layout(name: str) -> JointLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise PosetrackError(f"unknown joint layout {name!r}; choose one of {', '.join(LAYOUTS)}") from None


def joint_mapping(src: JointLayout | str, dst: JointLayout | str) -> np.ndarray:
    """For each joint of ``dst``, the index of the same-named joint in ``src``, or -1 when ``src`` lacks it."""
    src = get_layout(src) if isinstance(src, str) else src
    dst = get_layout(dst) if isinstance(dst, str) else dst
    where = {j: i for i, j in enumerate(src.joints)}
    return np.array([where.get(j, -1) for j in dst.joints], dtype=np.int64)


def convert_keypoints(keypoints: np.ndarray, src: JointLayout | str, dst: JointLayout | str,
                      estimate_head: bool = True) -> np.ndarray:
    """Re-order ``(N, K, 3)`` keypoints from layout ``src`` to ``dst``; joints ``src`` lacks get ``0, 0, 0``.

    Going from COCO-17 to a PoseTrack layout, ``estimate_head`` fills ``head_bottom`` with the shoulders' midpoint
    and ``head_top`` by extending the line head_bottom→nose by half its length again beyond the nose (a common
    approximation when a COCO-trained network is scored on PoseTrack; each takes the lower score of its sources).
    """
    src = get_layout(src) if isinstance(src, str) else src
    dst = get_layout(dst) if isinstance(dst, str) else dst
    keypoints = np.asarray(keypoints, dtype=np.float32)
    mapping = joint_mapping(src, dst)
    out = np.zeros(keypoints.shape[:-2] + (dst.num_joints, 3), dtype=np.float32)
    have = mapping >= 0
    out[..., have, :] = keypoints[..., mapping[have], :]
    if estimate_head and src is COCO17 and "head_bottom" in dst.joints:
        ls, rs, nose = (keypoints[..., src.index(j), :] for j in ("left_shoulder", "right_shoulder", "nose"))
        bottom = np.concatenate([(ls[..., :2] + rs[..., :2]) / 2, np.minimum(ls[..., 2:], rs[..., 2:])], -1)
        top = np.concatenate([nose[..., :2] + 0.5 * (nose[..., :2] - bottom[..., :2]),
                              np.minimum(nose[..., 2:], bottom[..., 2:])], -1)
        out[..., dst.index("head_bottom"), :] = bottom
        out[..., dst.index("head_top"), :] = top
    return out
