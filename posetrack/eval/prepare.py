"""From ground-truth and predicted ``Sequence`` pairs to the per-frame arrays poseval scores.

This reproduces poseval's loading pipeline (``eval_helpers.load_data_dir``, ``cleanupData``,
``removeIgnoredPoints``) on whole arrays, and adds the checks poseval lacks (item 4 of the issue):

* frames are paired by index, as in poseval, but only after checking that both sequences list the same images
  (poseval compares only the counts, so a reversed prediction file scores silently);
* duplicate or missing track ids and ids >= 10000 are refused with a message instead of an assertion.

Quirks kept on purpose because published numbers carry them: a ground-truth frame without people is dropped
together with the prediction frame at that index (so predictions on unlabelled frames cost nothing); in a frame
with ignore regions every ground-truth *and* predicted joint strictly inside a polygon is deleted and a person
left without joints is deleted.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import shapely

from ..errors import PosetrackError
from ..formats.common import MAX_TRACK_ID, present_joints
from ..layouts import joint_mapping
from ..types import Frame, Sequence

# For each of poseval's 15 joint ids, its slot in the 17-slot posetrack18 layout.
EVAL_SLOTS = joint_mapping("posetrack18", "posetrack15")
NUM_JOINTS = 15



def head_sizes(heads: np.ndarray) -> np.ndarray:
    """poseval's PCKh unit for ``(G, 4)`` x1, y1, x2, y2 head boxes: 0.6 x the box diagonal."""
    heads = np.asarray(heads, np.float64).reshape(-1, 4)
    return 0.6 * np.hypot(heads[:, 2] - heads[:, 0], heads[:, 3] - heads[:, 1])

@dataclass
class EvalFrame:
    """One evaluated frame: G ground-truth and P predicted people over poseval's 15 joints."""

    gt_xy: np.ndarray       # (G, 15, 2)
    gt_has: np.ndarray      # (G, 15) bool, annotated joints
    gt_ids: np.ndarray      # (G,)
    head_size: np.ndarray   # (G,) 0.6 x head-box diagonal, the PCKh unit
    pr_xy: np.ndarray       # (P, 15, 2)
    pr_has: np.ndarray      # (P, 15) bool, predicted joints (all of them count for AP)
    pr_score: np.ndarray    # (P, 15)
    pr_ids: np.ndarray      # (P,)
    pr_has_mot: np.ndarray  # (P, 15) bool, predicted joints that count for MOTA (``min_joint_score``)
    mot_fake: bool          # poseval's fake object/hypothesis pair: no GT or no prediction left in the frame


@dataclass
class EvalSequence:
    name: str
    frames: list[EvalFrame]


def _same_image(a: Frame, b: Frame) -> bool:
    if a.file_name == b.file_name or a.image_id == b.image_id:
        return True
    # Predictions written elsewhere may carry another path prefix; the sequence folder and file name must agree.
    tail = lambda name: os.path.normpath(name).split(os.sep)[-2:]  # noqa: E731
    return tail(a.file_name) == tail(b.file_name)


def check_pair(gt: Sequence, pred: Sequence, where: str) -> None:
    """Refuse a prediction sequence the official evaluation would mis-score or crash on."""
    if len(pred.frames) != len(gt.frames):
        raise PosetrackError(f"{where}: the prediction lists {len(pred.frames)} images, the ground truth "
                             f"{len(gt.frames)}; write one entry per ground-truth image, in its order "
                             "(posetrack.formats.prediction_template)")
    for i, (g, p) in enumerate(zip(gt.frames, pred.frames)):
        if not _same_image(g, p):
            raise PosetrackError(f"{where}: image {i} is {p.file_name!r} (id {p.image_id}) in the prediction but "
                                 f"{g.file_name!r} (id {g.image_id}) in the ground truth; list the images in the "
                                 "ground truth's order")
    for kind, seq in (("ground truth", gt), ("prediction", pred)):
        for f in seq.frames:
            ids = np.asarray(f.track_ids, dtype=np.int64).reshape(-1)
            if ids.size != len(f):
                raise PosetrackError(f"{where}: {kind} image {f.file_name}: {len(f)} people but {ids.size} "
                                     "track ids")
            if (ids < 0).any():
                raise PosetrackError(f"{where}: {kind} image {f.file_name}: a person has no track_id; the "
                                     "official evaluation needs one on every person (run the tracker)")
            if (ids >= MAX_TRACK_ID).any():
                raise PosetrackError(f"{where}: {kind} image {f.file_name}: track id {ids.max()} >= "
                                     f"{MAX_TRACK_ID}, which the official evaluation refuses; renumber the tracks")
            if kind == "prediction" and len(np.unique(ids)) != ids.size:
                values, counts = np.unique(ids, return_counts=True)
                dup = values[counts > 1][0]
                raise PosetrackError(f"{where}: prediction image {f.file_name}: track id {dup} is used twice in "
                                     "one frame; each person needs its own id")


def _eval_joints(frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoints on poseval's 15 joints, their presence, and which people exist for poseval at all (a 2017
    annorect without annopoints, kept in memory as all-NaN keypoints, is removed by ``cleanupData``)."""
    kpts = np.asarray(frame.keypoints, dtype=np.float64)
    if kpts.ndim != 3 or kpts.shape[1:] != (17, 3):
        if kpts.size == 0:
            kpts = np.zeros((0, 17, 3))
    if kpts.shape[1:] != (17, 3):
        raise PosetrackError(f"image {frame.file_name}: keypoints have {kpts.shape[1]} joints, expected the 17 "
                             "posetrack18 slots")
    has_points = ~np.isnan(kpts[..., :2]).all((1, 2))
    kpts = kpts[:, EVAL_SLOTS]
    return kpts, present_joints(kpts), has_points


def _inside(polygons: list, xy: np.ndarray) -> np.ndarray:
    """Which of ``(..., 2)`` points lie strictly inside any polygon (shapely ``contains``, as poseval)."""
    flat = xy.reshape(-1, 2)
    inside = np.zeros(len(flat), dtype=bool)
    if len(flat):
        points = shapely.points(np.nan_to_num(flat))
        for poly in polygons:
            inside |= shapely.contains(poly, points)
    return inside.reshape(xy.shape[:-1])


def _polygons(frame: Frame) -> list:
    # poseval would crash on a polygon with fewer than 3 corners; such a region contains no point.
    return [shapely.Polygon(np.asarray(r, dtype=np.float64)) for r in frame.ignore_regions if len(r) >= 3]


def prepare_sequence(gt: Sequence, pred: Sequence, name: str, min_joint_score: float | None = None,
                     scoreless: list[np.ndarray] | None = None) -> EvalSequence:
    """Per-frame arrays for one checked sequence pair; ``scoreless[i]`` marks predicted joints without a score
    (poseval ranks them at -9999)."""
    frames = []
    for i, (g, p) in enumerate(zip(gt.frames, pred.frames)):
        if len(g) == 0:  # cleanupData: drop empty GT frames and the prediction frame at that index
            continue
        gk, g_has, g_keep = _eval_joints(g)
        pk, p_has, p_keep = _eval_joints(p)
        heads = np.asarray(g.head_boxes, dtype=np.float64).reshape(-1, 4)
        if len(heads) != len(g):
            heads = np.full((len(g), 4), np.nan)
        heads, gt_ids = heads[g_keep], np.asarray(g.track_ids).reshape(-1)[g_keep]
        gk, g_has = gk[g_keep], g_has[g_keep]
        scores = pk[..., 2].copy()
        if scoreless is not None and scoreless[i] is not None:
            scores[scoreless[i][:, EVAL_SLOTS]] = -9999.0
        pk, p_has, scores = pk[p_keep], p_has[p_keep], scores[p_keep]
        pr_ids = np.asarray(p.track_ids).reshape(-1)[p_keep]
        p_mot = p_has if min_joint_score is None else p_has & (scores >= min_joint_score)
        alive_mot = np.ones(len(pk), dtype=bool)
        polygons = _polygons(g) if len(g.ignore_regions) else []
        if polygons:
            g_has = g_has & ~_inside(polygons, gk[..., :2])
            p_in = _inside(polygons, pk[..., :2])
            p_has, p_mot = p_has & ~p_in, p_mot & ~p_in
            g_alive, alive_mot = g_has.any(1), p_mot.any(1)
            gk, g_has, heads, gt_ids = gk[g_alive], g_has[g_alive], heads[g_alive], gt_ids[g_alive]
            p_alive = p_has.any(1)
            alive_mot = alive_mot[p_alive]
            pk, p_has, p_mot, scores, pr_ids = pk[p_alive], p_has[p_alive], p_mot[p_alive], scores[p_alive], \
                pr_ids[p_alive]
        bad_head = ~np.isfinite(heads).all(1) & g_has.any(1)
        if bad_head.any() and len(pk):
            raise PosetrackError(f"{name}: ground-truth image {g.file_name} has a person without a head box "
                                 "(bbox_head / x1..y2); PCKh is normalised by it")
        head_size = head_sizes(heads)
        frames.append(EvalFrame(
            gt_xy=gk[..., :2], gt_has=g_has, gt_ids=gt_ids.astype(np.int64), head_size=head_size,
            pr_xy=pk[..., :2], pr_has=p_has, pr_score=scores, pr_ids=pr_ids.astype(np.int64),
            pr_has_mot=p_mot, mot_fake=len(gk) == 0 or not alive_mot.any()))
    return EvalSequence(name=name, frames=frames)
