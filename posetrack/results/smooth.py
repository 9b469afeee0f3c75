"""Keypoint smoothing per track and joint: One-Euro (online) and Savitzky-Golay (offline), and ``postprocess``.

Both act on x, y only (scores and absent joints are kept) and respect gaps: a joint missing in the previous frame
of its track (or a track missing in the previous frame) starts afresh, so a person who reappears is not pulled
back towards where they were last seen.

* ``OneEuroSmoother(config, fps)``: call it once per frame with that frame's track ids and keypoints; it keeps
  state only for the tracks of the previous frame, so memory stays flat on long videos. The One-Euro filter
  (Casiez, Roussel, Vogel, CHI 2012) is a low-pass filter whose cut-off rises with the joint's speed: still
  joints are smoothed hard, fast ones lag little. mmpose and Sports2D offer it for pose jitter.
* ``savgol(seq, config)``: ``scipy.signal.savgol_filter`` over each run of a joint's observations, for whole
  sequences (it looks ``savgol_window // 2`` frames ahead).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import savgol_filter

from ..formats import present_joints
from ..types import Sequence
from ..config.post import PostConfig
from .gaps import fill_gaps
from .people import People


def postprocess(seq: Sequence, config: PostConfig, fps: float) -> Sequence:
    """``seq`` with ``config``'s gap filling, then its smoothing, applied (``seq`` itself when both are off).
    Gaps are filled first so that filled-in joints join the runs the smoother sees."""
    if not config.active:
        return seq
    seq = fill_gaps(seq, config.fill_gaps)
    if config.smooth == "savgol":
        return savgol(seq, config)
    if config.smooth == "one-euro":
        return one_euro(seq, config, fps)
    return seq


class OneEuroSmoother:
    """The One-Euro filter on every joint of every track, one frame at a time (see the module doc)."""

    def __init__(self, config: PostConfig, fps: float):
        if not fps or fps <= 0:
            raise ValueError(f"One-Euro smoothing needs a positive frame rate, got {fps}")
        self.config = config
        self.dt = 1.0 / float(fps)
        self._state: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # id -> x_hat, dx_hat, seen

    def __call__(self, track_ids, keypoints) -> np.ndarray:
        """Smoothed ``(N, K, 3)`` float64 keypoints of one frame (people with id -1 are passed through)."""
        kpts = np.array(keypoints, np.float64, copy=True)
        ids = np.asarray(track_ids, np.int64).reshape(-1)
        n, k = kpts.shape[:2]
        seen = present_joints(kpts) & (ids >= 0)[:, None]
        x_prev, dx_prev, seen_prev = np.zeros((n, k, 2)), np.zeros((n, k, 2)), np.zeros((n, k), bool)
        for i, tid in enumerate(ids.tolist()):  # gathering the previous frame's state: a dict look-up per person
            state = self._state.get(tid)
            if state is not None:
                x_prev[i], dx_prev[i], seen_prev[i] = state
        go_on = seen & seen_prev
        c = self.config
        x = kpts[..., :2]
        dx = np.where(go_on[..., None], (x - x_prev) / self.dt, 0.0)
        dx_hat = _blend(_alpha(c.one_euro_d_cutoff, self.dt), dx, dx_prev)
        cutoff = c.one_euro_min_cutoff + c.one_euro_beta * np.linalg.norm(dx_hat, axis=-1, keepdims=True)
        x_hat = np.where(go_on[..., None], _blend(_alpha(cutoff, self.dt), x, x_prev), x)
        kpts[..., :2] = np.where(seen[..., None], x_hat, x)
        self._state = {tid: (x_hat[i], dx_hat[i], seen[i]) for i, tid in enumerate(ids.tolist()) if tid >= 0}
        return kpts


def _alpha(cutoff, dt: float):
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def _blend(alpha, new, old):
    return alpha * new + (1 - alpha) * old


def one_euro(seq: Sequence, config: PostConfig, fps: float) -> Sequence:
    """``seq`` with every track's joints One-Euro filtered (the online filter run over the whole sequence)."""
    smoother = OneEuroSmoother(config, fps)
    people = People.of(seq)
    order = np.lexsort((people.row, people.frame))
    bounds = np.searchsorted(people.frame[order], np.arange(len(seq.frames) + 1))
    for i in range(len(seq.frames)):
        sel = order[bounds[i]:bounds[i + 1]]
        people.keypoints[sel] = smoother(people.track[sel], people.keypoints[sel])
    return people.to_sequence(seq)


def savgol(seq: Sequence, config: PostConfig) -> Sequence:
    """``seq`` with every run of every track's joints Savitzky-Golay filtered (``config.savgol_window`` frames,
    order ``config.savgol_order``; a run shorter than the window uses the largest odd window that fits, and a
    run too short for the polynomial is left as it is)."""
    people = People.of(seq)
    present = people.present
    for rows in people.tracks():
        frames = people.frame[rows]
        for joint in range(people.keypoints.shape[1]):
            seen = present[rows, joint]
            # A run ends where the joint is missing or the track skips a frame.
            breaks = np.flatnonzero(~seen[1:] | ~seen[:-1] | (np.diff(frames) != 1)) + 1
            for run in np.split(np.arange(len(rows)), breaks):
                run = run[seen[run]]
                window = min(config.savgol_window, len(run) - (1 - len(run) % 2))
                if window <= config.savgol_order or window < 3:
                    continue
                xy = people.keypoints[rows[run], joint, :2]
                people.keypoints[rows[run], joint, :2] = savgol_filter(xy, window, config.savgol_order, axis=0,
                                                                       mode="interp")
    return people.to_sequence(seq)
