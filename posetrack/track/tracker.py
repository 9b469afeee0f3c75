"""FlowTrack: the paper's online tracker (§3, Algorithm 1), one frame at a time, in two calls with the pose
network between them:

1. ``propose(frame, boxes, scores, flow)``: the poses in the queue move by the flow ``F_{k-1→k}`` (joint
   propagation, §3.1); the propagated poses' boxes join the detector's and NMS unifies them (§3.3). The result is
   the boxes the pose network must look at.
2. ``assign(keypoints, scores, boxes, ...)``: the poses estimated on those boxes; duplicates of one person are
   dropped, the similarity between every track of the queue ``Q`` (the last ``L_Q`` frames) and every pose is
   computed (§3.2), and ids are assigned greedily (Algorithm 1); the frame's poses join the queue.

The caller runs the estimator between the two (``posetrack.pipeline`` does, timing and batching it), and computes
the flow when ``needs_flow()`` says the frame needs it. ``update(frame, boxes, scores)`` does all of it with a
``pose_fn`` for library users, and ``update_poses`` tracks poses that are given (no network, no proposals).

Poses whose person score is below ``det_threshold`` (0.5, §4.2) are dropped before matching, so they never take
an id; joints below ``joint_threshold`` (0.4, §4.2) are zeroed in the output only (matching sees every joint).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from ..config.tracker import TrackerConfig
from ..errors import PosetrackError
from ..geometry import greedy_suppress
from ..layouts import get_layout
from ..types import Frame
from .flow import flow_from_config
from .matching import IdCounter, assign_ids
from .propagate import propagate_joints, propagated_boxes, unify_boxes
from .contest import weigh_contested
from .relink import Relinker, camera_motion
from .similarity import Candidates, Similarity, make_similarity, pose_oks

PoseFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class Proposal(NamedTuple):
    """The boxes the pose network must look at in one frame: ``NMS(B_det ∪ B_flow)`` (Algorithm 1, line 9)."""

    boxes: np.ndarray      # (M, 4) float32
    scores: np.ndarray     # (M,) float32 box scores (a propagated box: its previous box's score x the decay)
    from_flow: np.ndarray  # (M,) bool: a propagated box (the detector missed the person, or lost the NMS to it)


@dataclass
class TrackedFrame:
    """The tracked people of one frame. ``from_flow`` marks people found on a propagated box. ``pose_index`` is
    each person's row in the poses handed to ``assign`` (so a caller finds what else it knows of them)."""

    keypoints: np.ndarray   # (N, K, 3), joints below joint_threshold set to 0, 0, 0
    boxes: np.ndarray       # (N, 4) the box the pose was estimated in (or the joints' box for given poses)
    scores: np.ndarray      # (N,) person scores
    track_ids: np.ndarray   # (N,) int64, unique within the frame, never reused
    from_flow: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    pose_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.track_ids)


@dataclass
class _Entry:
    """One frame of the queue: its tracked people as seen, and their joints propagated to the current frame.

    ``box_scores`` are the scores of the boxes the poses were estimated in (the person scores for given poses).
    """

    ids: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray
    box_scores: np.ndarray
    moved: np.ndarray


class FlowTracker:
    """Online pose tracker (see the module docstring). Memory: ``L_Q`` frames of poses and the previous frame.

    ``flow`` overrides the config's flow method (any ``(prev, frame) -> (H, W, 2)`` callable) where the tracker
    computes the flow itself; ``similarity`` overrides the config's similarity (any ``(Candidates, keypoints,
    boxes) -> (T, N)`` callable); ``pose_fn(frame, boxes, scores) -> (keypoints, person_scores)`` is the estimator
    ``update`` runs.
    """

    def __init__(self, config: TrackerConfig | None = None, pose_fn: PoseFn | None = None,
                 flow: Callable | None = None, similarity: Similarity | None = None, fps: float = 25.0):
        self.config = config = config or TrackerConfig()
        self.pose_fn = pose_fn
        self.sigmas = get_layout(config.layout).sigmas
        self.similarity = similarity or make_similarity(config.similarity, self.sigmas, config.joint_min_score,
                                                        config.reduction, config.min_common_joints)
        # A similarity of one's own may read the propagated poses, so it gets them.
        self.similarity_uses_flow = similarity is not None or config.similarity in ("flow", "multiflow")
        self._flow = flow
        self._queue: deque[_Entry] = deque(maxlen=int(config.queue_length))
        self._ids = IdCounter()
        self._prev_frame: np.ndarray | None = None
        # Re-linking of lost tracks (``relink_seconds`` of video at ``fps``); None: the paper's tracker exactly.
        self.relinker = Relinker(config, fps) if config.relink_seconds > 0 else None
        self._frame: np.ndarray | None = None
        # ``{young id: lost id}`` of every re-link so far, and of the last frame only: the young id's frames
        # already returned (at most ``settle_frames`` back) belong to the lost one (``relink.relabel``).
        self.renames: dict[int, int] = {}
        self.renamed_now: dict[int, int] = {}

    @property
    def settle_frames(self) -> int:
        """How many frames back a re-link may rename a returned id (0: ids are final when returned)."""
        return self.relinker.young if self.relinker is not None else 0

    @property
    def flow(self) -> Callable:
        if self._flow is None:
            self._flow = flow_from_config(self.config)
        return self._flow

    def reset(self) -> None:
        """Forget every track (a new video); ids keep counting so they stay unique across resets."""
        self._queue.clear()
        self._prev_frame = None
        if self.relinker is not None:
            self.relinker = Relinker(self.config, self.relinker.fps)

    def _uses_flow(self, poses_given: bool) -> bool:
        return (self.similarity_uses_flow or (self.config.propagate and not poses_given)
                or self.relinker is not None)

    def needs_flow(self, poses_given: bool = False) -> bool:
        """Whether the next frame needs ``F_{k-1→k}``: something is tracked that propagation or a flow
        similarity moves, or a lost track whose place moves with the camera. ``poses_given``: the next call is
        ``update_poses`` (no proposals)."""
        tracked = any(len(e.ids) for e in self._queue) or (self.relinker is not None and bool(self.relinker.lost))
        return self._uses_flow(poses_given) and self._prev_frame is not None and tracked

    def _advance(self, frame: np.ndarray, flow: np.ndarray | None, poses_given: bool) -> np.ndarray | None:
        """Move every pose in the queue into the current frame by ``flow`` (computed here when it is needed and
        not given)."""
        if flow is None and self.needs_flow(poses_given):
            flow = self.flow(self._prev_frame, frame)
        if self.relinker is not None:
            self._frame = frame
            self.relinker.advance(camera_motion(flow))
        if flow is not None and self._queue:
            moved = np.concatenate([e.moved for e in self._queue])
            moved = propagate_joints(moved, flow, self.config.joint_min_score)
            start = 0
            for entry in self._queue:
                entry.moved = moved[start:start + len(entry.ids)]
                start += len(entry.ids)
        self._prev_frame = frame if self._uses_flow(poses_given) else None
        return flow

    # ------------------------------------------------------------------ the two steps

    def propose(self, frame: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray,
                flow: np.ndarray | None = None) -> Proposal:
        """The boxes to estimate poses in: the detector's ``(N, 4)`` boxes and scores unified with the boxes of
        the propagated poses. ``flow`` is ``F_{k-1→k}`` when ``needs_flow()`` (computed here if not given)."""
        c = self.config
        flow = self._advance(frame, flow, poses_given=False)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        box_scores = np.asarray(box_scores, np.float32).reshape(-1)
        flow_boxes, flow_scores = np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        if c.propagate and flow is not None and self._queue:
            flow_boxes, flow_scores = self._propagated_boxes(self._queue[-1], frame.shape)
        boxes, box_scores, source = unify_boxes(boxes, box_scores, flow_boxes, flow_scores, c.nms_iou)
        return Proposal(boxes, box_scores, source >= 0)

    def assign(self, keypoints: np.ndarray, scores: np.ndarray, boxes: np.ndarray,
               box_scores: np.ndarray | None = None, from_flow: np.ndarray | None = None,
               suppress_duplicates: bool = True) -> TrackedFrame:
        """Track ids for the frame's ``(N, K, 3)`` poses (person ``scores``, estimated in ``boxes`` of
        ``box_scores``): drop duplicate poses of one person (``suppress_duplicates``), drop people below
        ``det_threshold``, then match the rest to the queue's tracks greedily; the frame joins the queue."""
        c = self.config
        k = len(self.sigmas)
        keypoints = np.asarray(keypoints, np.float32)
        if keypoints.size == 0:
            keypoints = keypoints.reshape(0, k, 3)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (k, 3):
            raise PosetrackError(f"poses have shape {keypoints.shape[1:]} but layout {c.layout!r} has {k} joints; "
                                 "set TrackerConfig.layout to the poses' layout")
        scores = np.asarray(scores, np.float32).reshape(-1)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        box_scores = scores if box_scores is None else np.asarray(box_scores, np.float32).reshape(-1)
        from_flow = np.zeros(len(keypoints), bool) if from_flow is None else np.asarray(from_flow, bool)
        keep = self._distinct_people(keypoints, scores, boxes) if suppress_duplicates else np.arange(len(keypoints))
        keep = keep[scores[keep] >= c.det_threshold]
        keypoints, scores, boxes, box_scores, from_flow = (
            keypoints[keep], scores[keep], boxes[keep], box_scores[keep], from_flow[keep])
        candidates = self._candidates()
        if len(candidates) and len(keypoints):
            similarity = np.asarray(self.similarity(candidates, keypoints, boxes), np.float32)
        else:
            similarity = np.zeros((len(candidates), len(keypoints)), np.float32)
        if self.relinker is not None:  # look-alike poses told apart by their colours (contest.py)
            similarity = weigh_contested(similarity, candidates.ids, self.relinker.appearance, self._frame,
                                         keypoints, c)
        ids = assign_ids(candidates.ids, similarity, c.match_threshold, self._ids)
        if self.relinker is not None:
            ids = self._relink(ids, keypoints, boxes)
        self._queue.append(_Entry(ids, boxes, keypoints, box_scores, keypoints.copy()))
        if self.relinker is not None:
            self.relinker.forget_live({int(t) for e in self._queue for t in e.ids})
        shown = keypoints * (keypoints[..., 2:] >= c.joint_threshold)
        return TrackedFrame(shown, boxes, scores, ids, from_flow, keep.astype(np.int64))

    # ------------------------------------------------------------------ conveniences

    def update(self, frame: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray) -> TrackedFrame:
        """``propose``, the ``pose_fn`` on the proposed boxes, ``assign``: one frame with the detector's boxes."""
        if self.pose_fn is None:
            raise PosetrackError("FlowTracker.update needs a pose estimator: pass pose_fn=PoseEstimator(...) or "
                                 "track given poses with update_poses")
        proposal = self.propose(frame, boxes, box_scores)
        if len(proposal.boxes):
            keypoints, scores = self.pose_fn(frame, proposal.boxes, proposal.scores)
        else:
            keypoints, scores = np.zeros((0, len(self.sigmas), 3), np.float32), np.zeros(0, np.float32)
        return self.assign(keypoints, scores, *proposal)

    def update_poses(self, frame: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                     flow: np.ndarray | None = None) -> TrackedFrame:
        """Track one frame of given ``(N, K, 3)`` poses and person ``scores``: no boxes are proposed and no pose is
        dropped as a duplicate (each given pose is a person); the flow still serves the flow similarities."""
        self._advance(frame, flow, poses_given=True)
        keypoints = np.asarray(keypoints, np.float32).reshape(-1, len(self.sigmas), 3)
        # Every joint the poses place (score > 0), not only confident ones: the box sets the OKS scale.
        boxes, _ = propagated_boxes(keypoints, 0.0, self.config.box_enlarge)
        return self.assign(keypoints, scores, boxes, suppress_duplicates=False)

    def update_frame(self, frame: np.ndarray, poses: Frame, flow: np.ndarray | None = None) -> TrackedFrame:
        """``update_poses`` for a ``types.Frame`` of given poses (as a PoseTrack reader returns them): its person
        scores, or 1 where the file has none."""
        scores = poses.scores if len(poses.scores) == len(poses) else np.ones(len(poses), np.float32)
        return self.update_poses(frame, poses.keypoints, scores, flow)

    # ------------------------------------------------------------------ internals

    def _relink(self, ids: np.ndarray, keypoints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Young tracks recognised as lost ones take the lost id, here and in the queue (see ``relink``)."""
        vetoed = self.relinker.veto(self._frame, ids, keypoints)
        if len(vetoed):
            ids = ids.copy()
            ids[vetoed] = self._ids.take(len(vetoed))
        self.relinker.observe(self._frame, ids, keypoints, boxes)
        self.renamed_now = renames = self.relinker.relink(self._frame, ids, keypoints, boxes)
        self.renames.update(renames)
        for young, lost in renames.items():
            ids = np.where(ids == young, lost, ids)
            for entry in self._queue:
                entry.ids = np.where(entry.ids == young, lost, entry.ids)
        return ids

    def _distinct_people(self, keypoints, scores, boxes) -> np.ndarray:
        """Indices of the poses to keep, in order: one per person, the best-scoring.

        Box NMS cannot always tell that a propagated box and a detector box hold the same person: the propagated
        box spans only the joints confident in the previous frame (often the upper body), so its IoU with the
        detector's full-body box can stay under the NMS threshold. The network then finds the same person in both
        boxes. Their poses agree on the joints both see, which OKS over those joints (the tracker's own pose
        similarity) detects; the lower-scoring duplicate is dropped, as the official OKS-NMS does for COCO.
        """
        c = self.config
        if c.pose_nms >= 1.0 or len(keypoints) < 2:
            return np.arange(len(keypoints))
        sim = pose_oks(keypoints, boxes, keypoints, boxes, self.sigmas, c.joint_min_score, c.min_common_joints)
        keep = greedy_suppress(np.argsort(-scores, kind="stable"), sim, c.pose_nms)
        return np.sort(keep)

    def _propagated_boxes(self, prev: _Entry, shape) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        boxes, valid = propagated_boxes(prev.moved, c.joint_min_score, c.box_enlarge)
        h, w = shape[:2]
        boxes = np.clip(boxes, 0, [w - 1, h - 1, w - 1, h - 1]).astype(np.float32)
        # A person who walked off the frame leaves a sliver; a box under 2 px a side holds nobody.
        valid &= (boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2)
        # The decay applies to the box score, not to the estimator's rescored person score: the rescoring
        # (box score x joint confidence) would otherwise compound frame after frame and end a propagated track
        # after two or three missed detections. With the default 0.95 a person the detector misses
        # stays above the 0.5 threshold for about ten frames of propagation alone.
        return boxes[valid], prev.box_scores[valid] * np.float32(c.propagated_decay)

    def _candidates(self) -> Candidates:
        newest_first = list(reversed(self._queue))
        k = len(self.sigmas)
        if not newest_first:
            z = np.zeros((0, k, 3), np.float32)
            b = np.zeros((0, 4), np.float32)
            return Candidates(np.zeros(0, np.int64), b, z, z, z, b, np.zeros(0, np.int64))
        ids = np.concatenate([e.ids for e in newest_first])
        history = np.concatenate([e.moved for e in newest_first]).reshape(-1, k, 3)
        track_ids, newest, track = np.unique(ids, return_index=True, return_inverse=True)
        boxes = np.concatenate([e.boxes for e in newest_first]).reshape(-1, 4)
        keypoints = np.concatenate([e.keypoints for e in newest_first]).reshape(-1, k, 3)
        return Candidates(track_ids, boxes[newest], keypoints[newest], history[newest], history, boxes,
                          track.reshape(-1))
