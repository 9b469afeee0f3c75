"""Every person of a tracked ``Sequence`` in one flat table, grouped by track on demand.

Smoothing, gap filling, the CSV export and the report all work per track over time, while a ``Sequence`` is
stored per frame. ``People.of(seq)`` lays the people of all frames end to end (memory grows with the number of
people, not with frames x tracks), ``tracks()`` gives each track's rows in frame order, and ``to_sequence``
puts the (changed) table back into frames: people keep their order within a frame, people added by gap
filling come after them. Joint presence is the PoseTrack one (``formats.present_joints``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..formats import present_joints
from ..formats.common import interpolated_marks
from ..types import Frame, Sequence


@dataclass
class People:
    """``P`` people: the frame index each is in, its position there (-1: added), its track id and its arrays."""

    frame: np.ndarray         # (P,) int64, index into Sequence.frames
    row: np.ndarray           # (P,) int64, position within the frame; -1 for people added here
    track: np.ndarray         # (P,) int64, -1 for people without an id
    keypoints: np.ndarray     # (P, K, 3) float64 x, y, score
    boxes: np.ndarray         # (P, 4) float64 xyxy
    scores: np.ndarray        # (P,) float64
    interpolated: np.ndarray  # (P, K) bool

    @classmethod
    def of(cls, seq: Sequence) -> People:
        k = next((f.keypoints.shape[1] for f in seq.frames if np.ndim(f.keypoints) == 3), 17)
        counts = np.array([len(f) for f in seq.frames], np.int64)
        frames = [f for f in seq.frames if len(f)]

        def stack(get, shape, dtype):
            parts = [np.asarray(get(f), dtype).reshape((len(f),) + shape) for f in frames]
            return np.concatenate(parts) if parts else np.zeros((0,) + shape, dtype)

        return cls(frame=np.repeat(np.arange(len(seq.frames)), counts),
                   row=np.concatenate([np.arange(c) for c in counts]) if len(counts) else np.zeros(0, np.int64),
                   track=stack(_track_ids, (), np.int64),
                   keypoints=stack(lambda f: f.keypoints, (k, 3), np.float64),
                   boxes=stack(lambda f: f.boxes if len(f.boxes) == len(f) else np.full((len(f), 4), np.nan),
                               (4,), np.float64),
                   scores=stack(lambda f: f.scores if len(f.scores) == len(f) else np.ones(len(f)), (),
                                np.float64),
                   interpolated=stack(lambda f: _marks(f, k), (k,), bool))

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def present(self) -> np.ndarray:
        """``(P, K)`` which joints exist (not written as 0, 0, 0)."""
        return present_joints(self.keypoints)

    def tracks(self) -> list[np.ndarray]:
        """Row indices of each track (id >= 0) in frame order; tracks in order of first appearance (frame, then
        position in the frame)."""
        have = np.flatnonzero(self.track >= 0)
        if not have.size:
            return []
        order = have[np.lexsort((self.row[have], self.frame[have], self.track[have]))]
        starts = np.flatnonzero(np.r_[True, np.diff(self.track[order]) != 0])
        groups = np.split(order, starts[1:])
        first = np.array([(self.frame[g[0]], self.row[g[0]] if self.row[g[0]] >= 0 else 1 << 30) for g in groups])
        return [groups[i] for i in np.lexsort((first[:, 1], first[:, 0]))]

    def take(self, index: np.ndarray) -> People:
        return People(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})

    @classmethod
    def concat(cls, parts: list[People]) -> People:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(cls)})

    def to_sequence(self, seq: Sequence) -> Sequence:
        """``seq`` with its people replaced by this table's (frames, names and metadata kept)."""
        order = np.lexsort((np.where(self.row >= 0, self.row, 1 << 30), self.frame))
        bounds = np.searchsorted(self.frame[order], np.arange(len(seq.frames) + 1))
        frames = []
        for i, f in enumerate(seq.frames):
            sel = order[bounds[i]:bounds[i + 1]]
            marks = self.interpolated[sel]
            kept = len(f.head_boxes) == len(f) and (self.row[sel] >= 0).all() and len(sel) == len(f)
            frames.append(dataclasses.replace(
                f, keypoints=self.keypoints[sel].astype(np.float32), boxes=self.boxes[sel].astype(np.float32),
                scores=self.scores[sel].astype(np.float32), track_ids=self.track[sel].copy(),
                head_boxes=np.asarray(f.head_boxes, np.float32)[self.row[sel]] if kept
                else np.full((len(sel), 4), np.nan, np.float32),
                interpolated=marks if marks.any() else np.zeros((0, marks.shape[1]), bool)))
        return dataclasses.replace(seq, frames=frames)


def _track_ids(frame: Frame) -> np.ndarray:
    ids = np.asarray(frame.track_ids, np.int64).reshape(-1)
    return ids if ids.size == len(frame) else np.full(len(frame), -1, np.int64)


def _marks(frame: Frame, k: int) -> np.ndarray:
    marks = interpolated_marks(frame)
    return marks if marks.shape[1] == k else np.zeros((len(frame), k), bool)
