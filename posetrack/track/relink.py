"""Lost-track memory and re-linking: identities that survive an occlusion (issue 14; beyond the paper).

The paper's tracker matches a pose only against tracks seen in the last ``L_Q`` frames; anyone hidden longer comes
back as a new person. With ``tracker.relink_seconds > 0`` a track whose last appearance leaves the queue is kept as
*lost* for that many seconds of video, and a pose that matches no live track is compared with the lost ones:

* **where**: the person's last position, moved with the camera since (the flow field's dominant motion: the
  median of a coarse grid of flow vectors), and where its own velocity (camera motion removed, damped over time)
  would have taken it. People stop, turn round or walk on while hidden, so the pose may be anywhere near the
  *segment* between the two; the gate around it grows with the time lost (``relink_gate`` box heights, plus
  ``relink_gate_growth`` per second). A pose of very different size (outside ``relink_scale``) is no candidate.
* **who**: HSV colour histograms of the torso and limbs the pose locates (``track.appearance``; measured on the
  occlusion scenario to rank the true identity first 95% of the time, against 50% for pooled pose-network
  features), from the joints the tracker shows (``joint_threshold``: a hidden joint would paint the occluder's
  colours). Each live track keeps a running average, sampled every ``relink_sample_every`` frames from poses with
  most joints shown. A pair re-links when its mean Bhattacharyya coefficient reaches ``relink_min_similarity``;
  the best pairs go first (greedy, as Algorithm 1).
* **when**: a person coming back from behind something is first seen half hidden, too little to recognise. So a
  *young* track (born in the last second, or ``L_Q`` frames if more) keeps being compared with the lost ones, frame
  after frame; when it is recognised it takes the lost id from then on (``relink`` returns the renames, the tracker
  applies them to its queue).

Memory stays bounded: lost tracks expire after ``relink_seconds``, and the live states are those of the queue.
Everything is per frame and vectorised over people; histograms are computed only for the poses that would start a
new track while lost tracks exist, and for the sampled live poses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config.tracker import TrackerConfig
from .appearance import blend_histograms, colour_histograms, histogram_similarity

CAMERA_GRID = 32  # the dominant motion is the median of every 32nd flow vector in each direction
STRIDE = 1        # colours from every pixel (2: a quarter of the work, but 3 IDF1 points fewer on the occlusion clips)


def camera_motion(flow: np.ndarray | None) -> np.ndarray:
    """The flow field's dominant motion ``(dx, dy)``: the median of a coarse grid of its vectors."""
    if flow is None:
        return np.zeros(2, np.float32)
    return np.median(flow[::CAMERA_GRID, ::CAMERA_GRID].reshape(-1, 2), axis=0).astype(np.float32)


@dataclass
class TrackState:
    """What re-linking knows of one track: where it was last seen (moved with the camera since), its size, its
    own velocity (px/frame, camera motion removed), its colours, and how long ago it was seen."""

    center: np.ndarray
    height: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))
    appearance: np.ndarray | None = None
    unseen: int = 0          # frames since it was last seen
    lost: int = 0            # frames since it left the queue (lost tracks only)
    samples: int = 0         # appearance samples in the average
    born: int = 0            # frame index of the track's first appearance
    good: bool = True        # the last view showed enough of the person to trust its motion
    sized: bool = True       # ``height`` comes from such a view (a track born half hidden: its best guess yet)
    relinked: bool = False   # took a lost id back (or is one): no longer a candidate for re-linking


def pose_geometry(keypoints: np.ndarray, boxes: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 2)`` centres (the mean of the confident joints, else the box centre) and ``(N,)`` heights (box)."""
    kpts = np.asarray(keypoints, np.float32)
    seen = kpts[..., 2] > min_score
    count = seen.sum(1)
    mean = (kpts[..., :2] * seen[..., None]).sum(1) / np.maximum(count, 1)[:, None]
    box_centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    centres = np.where(count[:, None] > 0, mean, box_centre)
    return centres.astype(np.float32), np.maximum(boxes[:, 3] - boxes[:, 1], 1.0).astype(np.float32)


class Relinker:
    """Live and lost track states of one ``FlowTracker`` (see the module docstring)."""

    def __init__(self, config: TrackerConfig, fps: float):
        self.c = config
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.max_lost = max(1, round(config.relink_seconds * self.fps))
        self.young = max(int(config.queue_length), round(self.fps))  # frames a new track may still be re-linked
        self.decay = float(config.relink_velocity_decay) ** (1.0 / self.fps)  # per frame, from per second
        self.live: dict[int, TrackState] = {}
        self.lost: dict[int, TrackState] = {}
        self.frame_index = 0

    # ------------------------------------------------------------------ per frame

    def advance(self, camera: np.ndarray) -> None:
        """A new frame: every state not yet seen in it moves with the camera; lost ones also by their own
        (damped) velocity; lost tracks past ``relink_seconds`` are forgotten."""
        self.frame_index += 1
        for state in self.live.values():
            state.center = state.center + camera
            state.unseen += 1
        for tid in list(self.lost):
            state = self.lost[tid]
            state.lost += 1
            if state.lost > self.max_lost:
                del self.lost[tid]
                continue
            state.unseen += 1
            state.center = state.center + camera

    def relink(self, frame: np.ndarray | None, ids: np.ndarray, keypoints: np.ndarray,
               boxes: np.ndarray) -> dict[int, int]:
        """``{young id: old id}``: the young tracks of this frame (``ids``, their poses) recognised as lost tracks
        or as live tracks not seen in this frame."""
        c = self.c
        young = np.array([tid in self.live and not self.live[tid].relinked
                          and self.frame_index - self.live[tid].born < self.young for tid in ids.tolist()], bool)
        if frame is None or not young.any():  # most frames: no young track, nothing to compare
            return {}
        # Besides the lost tracks: live ones not seen in this frame. Algorithm 1 sometimes fails to match a person
        # it saw a moment ago (half hidden, few joints in common); the track is still in the queue, not lost.
        pool = {**{t: s for t, s in self.live.items() if s.unseen and s.appearance is not None}, **self.lost}
        if not pool:
            return {}
        rows = np.flatnonzero(young)
        centres, heights = pose_geometry(keypoints[rows], boxes[rows], c.joint_min_score)
        lost_ids = list(pool)
        states = [pool[t] for t in lost_ids]
        last = np.stack([s.center for s in states])                             # (L, 2)
        reach = np.stack([s.velocity for s in states]) * self._travel(states)[:, None]
        gate = np.array([c.relink_gate + c.relink_gate_growth * s.unseen / self.fps for s in states], np.float32)
        size = np.array([s.height for s in states], np.float32)
        dist = _segment_distance(centres, last, last + reach)                   # (N, L)
        ratio = heights[:, None] / size[None, :]
        # Two tracks seen in one frame are two people: the lost one must have gone before the young one came.
        last_seen = self.frame_index - np.array([s.unseen for s in states])
        born = np.array([self.live[int(ids[r])].born for r in rows])
        ok = (dist <= gate[None, :] * np.maximum(size[None, :], heights[:, None])) & \
             (ratio >= 1 / c.relink_scale) & (ratio <= c.relink_scale) & (last_seen[None, :] < born[:, None])
        if not ok.any():
            return {}
        hist = colour_histograms(frame, keypoints[rows], min_score=c.joint_threshold, layout=c.layout,
                                 stride=STRIDE)
        sim = np.nan_to_num(histogram_similarity(hist, np.stack([s.appearance for s in states])), nan=0.0)
        sim = np.where(ok, sim, -1.0)
        # A pose nearly as like another lost track (two people in similar clothes) is left alone.
        runner_up = np.sort(sim, axis=1)[:, -2] if sim.shape[1] > 1 else np.full(len(sim), -1.0)
        sim = np.where((sim >= c.relink_min_similarity) & (sim - runner_up[:, None] >= c.relink_margin), sim, -1.0)
        out: dict[int, int] = {}
        for flat in np.argsort(-sim, axis=None, kind="stable"):
            r, l = divmod(int(flat), len(lost_ids))
            if sim[r, l] < 0:
                break
            tid = int(ids[rows[r]])
            if tid in out or lost_ids[l] in out.values():
                continue
            out[tid] = lost_ids[l]
        for young_id, lost_id in out.items():  # the lost state goes on under its own id
            self.live.pop(young_id, None)
            state = self.lost.pop(lost_id) if lost_id in self.lost else self.live.pop(lost_id)
            state.relinked = True
            self.live[lost_id] = state
        return out

    def appearance(self, track_id: int) -> np.ndarray | None:
        """A live track's colour average (None: not sampled yet)."""
        state = self.live.get(track_id)
        return None if state is None else state.appearance

    def veto(self, frame: np.ndarray | None, ids: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """Rows whose match with a track not seen in the previous frame the colours contradict (a different
        person stepped into the place of one who is hidden)."""
        limit = self.c.relink_veto_similarity
        rows = [n for n, tid in enumerate(ids.tolist()) if tid in self.live and self.live[tid].unseen >= 2
                and self.live[tid].appearance is not None]
        if not rows or frame is None or limit <= 0:
            return np.zeros(0, np.int64)
        hist = colour_histograms(frame, keypoints[rows], min_score=self.c.joint_threshold, layout=self.c.layout,
                                 stride=STRIDE)
        known = np.stack([self.live[int(ids[n])].appearance for n in rows])
        sim = np.einsum("nrk,nrk->nr", np.sqrt(hist), np.sqrt(known))
        both = (hist.sum(-1) > 0) & (known.sum(-1) > 0)
        with np.errstate(invalid="ignore"):
            mean = (sim * both).sum(-1) / both.sum(-1)
        return np.asarray(rows, np.int64)[np.nan_to_num(mean, nan=1.0) < limit]

    def observe(self, frame: np.ndarray | None, ids: np.ndarray, keypoints: np.ndarray,
                boxes: np.ndarray) -> list[int]:
        """The frame's tracked people: their states (a re-linked id comes back from the lost ones) follow them;
        colours are sampled every ``relink_sample_every`` frames of a track from mostly visible poses."""
        c = self.c
        if not len(ids):
            return
        centres, heights = pose_geometry(keypoints, boxes, c.joint_min_score)
        shown = (keypoints[..., 2] >= c.joint_threshold).mean(1)
        # Python scalars for the loop: indexing numpy arrays one element at a time costs more than the work.
        heights_, shown_ = heights.tolist(), shown.tolist()
        due_now = self.frame_index % c.relink_sample_every == 0
        sample = []
        for n, tid in enumerate(np.asarray(ids).tolist()):
            # A person half hidden shows a box too small and a centre that slides as the parts shown change:
            # size and motion are taken from fuller views only.
            good = shown_[n] >= c.relink_visible_fraction / 2
            state = self.live.get(tid)
            if state is None:
                state = TrackState(centres[n], heights_[n], born=self.frame_index, good=good, sized=good)
            elif state.unseen and good and state.good:
                # Own velocity over the frames since last seen, the camera's motion taken out (the state's
                # centre moved with the camera meanwhile).
                step = (centres[n] - state.center) / state.unseen
                state.velocity = (0.7 * state.velocity + 0.3 * step).astype(np.float32)
            if good:
                state.height, state.sized = heights_[n], True
            elif not state.sized:
                state.height = max(state.height, heights_[n])
            state.center, state.good, state.unseen, state.lost = centres[n], good, 0, 0
            self.live[tid] = state
            # A track not sampled yet takes a less visible pose rather than none: it could not be re-linked.
            enough = shown_[n] >= c.relink_visible_fraction or (state.samples == 0 and good)
            if frame is not None and enough and (due_now or state.samples == 0):
                sample.append(n)
        if sample:
            hist = colour_histograms(frame, keypoints[sample], min_score=c.joint_threshold, layout=c.layout,
                                     stride=STRIDE)
            states = [self.live[int(ids[n])] for n in sample]
            known = [n for n, state in enumerate(states) if state.appearance is not None]
            if known:  # one running-average step for all of them at once
                mixed = blend_histograms(np.stack([states[n].appearance for n in known]), hist[known], 0.2)
                for n, mix in zip(known, mixed):
                    states[n].appearance = mix
            for n, state in enumerate(states):
                if state.appearance is None:
                    state.appearance = hist[n]
                state.samples += 1

    def forget_live(self, queued: set[int]) -> None:
        """Tracks whose last appearance left the queue become lost (those never sampled cannot be re-linked and
        are dropped)."""
        for tid in [t for t in self.live if t not in queued]:
            state = self.live.pop(tid)
            if state.appearance is not None:
                self.lost[tid] = state

    def _travel(self, states: list[TrackState]) -> np.ndarray:
        """Frames of damped motion since each state was last seen: ``sum(decay^i)`` over ``unseen`` frames."""
        unseen = np.array([s.unseen for s in states], np.float32)
        if self.decay >= 1.0:
            return unseen
        return (1 - self.decay ** unseen) / (1 - self.decay)


def relabel(track_ids: np.ndarray, renames: dict[int, int]) -> np.ndarray:
    """``track_ids`` with every renamed (young) id replaced by the lost id it turned out to be (ids are never
    reused, so one map serves every frame of the video)."""
    ids = np.asarray(track_ids, np.int64)
    if not renames or not len(ids):
        return ids
    return np.array([renames.get(t, t) for t in ids.tolist()], np.int64)


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, L)`` distance from each point to each segment ``a[l] -> b[l]``."""
    ab = b - a                                                     # (L, 2)
    length = (ab ** 2).sum(-1)
    ap = points[:, None, :] - a[None]                              # (N, L, 2)
    t = np.clip((ap * ab[None]).sum(-1) / np.maximum(length, 1e-9)[None], 0, 1)
    closest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=-1)
