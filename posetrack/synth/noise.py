"""A stand-in for the detector and the pose network: ground truth made noisy, without track ids.

Tracker tests and benchmarks need detector-like input whose truth is known. ``noisy_observations`` jitters the
ground-truth boxes and joints, gives them detector-like scores (lower for occluded people and hidden joints),
drops detections in runs (a Markov chain per person, more likely when the person is mostly hidden), can force
given people to be missed on given frames, and adds false positives. Each frame's people come sorted by score,
as a detector returns them, with ``track_ids`` -1.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..errors import PosetrackError
from ..types import Frame, Sequence


def _miss_chain(rng, present, hidden, miss_rate, miss_runs, occluded_miss):
    """``(T, N)`` missed flags for the tracks present in each frame.

    A two-state chain: once missed, a track stays missed with probability ``1 - 1/miss_runs``; the start
    probability is chosen so that, in the long run, ``miss_rate`` of the detections are missed. Heavily hidden
    people (more than half their joints) start runs more often, as real detectors lose occluded people.
    """
    if miss_rate >= 1:
        return present.copy()
    stay = 1 - 1 / max(miss_runs, 1.0)
    start = miss_rate / (max(miss_runs, 1.0) * (1 - miss_rate))
    start = np.clip(start + occluded_miss * np.clip((hidden - 0.5) / 0.5, 0, 1), 0, 1)
    missed = np.zeros_like(present)
    state = np.zeros(present.shape[1], bool)
    draws = rng.random(present.shape)
    for t in range(present.shape[0]):
        state = np.where(state, draws[t] < stay, draws[t] < start[t]) & present[t]
        missed[t] = state
    return missed


def _track_ids(frame: Frame) -> np.ndarray:
    ids = np.asarray(frame.track_ids, np.int64).reshape(-1)
    return ids if ids.size == len(frame) else np.full(len(frame), -1, np.int64)


def _hidden_fraction(keypoints: np.ndarray) -> np.ndarray:
    """Share of each person's annotated joints (non-zero position) that are not visible (score 0)."""
    exists = (keypoints[..., :2] != 0).any(-1)
    seen = (keypoints[..., 2] > 0) & exists
    return 1 - seen.sum(-1) / np.maximum(exists.sum(-1), 1)


def noisy_observations(gt: Sequence, seed: int = 0, *, jitter_px: float = 2.0, miss_rate: float = 0.05,
                       miss_runs: float = 1.0, false_positives: float = 0.0, score_noise: float = 0.05,
                       occluded_miss: float = 0.3, force_miss: Mapping[int, Iterable[int]] | None = None,
                       return_sources: bool = False):
    """Detector- and pose-network-like observations of ``gt`` (a ground-truth ``Sequence``).

    ``jitter_px``: Gaussian noise (pixels) on box corners and visible joints (hidden joints get 3x, as a
    network guesses them). ``miss_rate``: long-run share of people missed; ``miss_runs``: mean length of a run
    of misses in frames. ``occluded_miss``: extra chance to start missing a person with most joints hidden.
    ``false_positives``: mean number of spurious low-score people per frame. ``score_noise``: sigma of the
    score noise. ``force_miss``: ``{track_id: frame indices}`` always missed (e.g. ``{1: range(10, 13)}``
    for "the detector misses person 1 for 3 frames").

    Returns a ``Sequence`` in ``gt``'s layout with boxes, box scores and ``(N, K, 3)`` keypoints with joint
    scores, ``track_ids`` -1 and unknown head boxes; with ``return_sources`` also, per frame, the ``(N,)``
    ground-truth track id each observation came from (-1 for false positives).
    """
    if not 0 <= miss_rate <= 1 or jitter_px < 0 or false_positives < 0 or score_noise < 0:
        raise PosetrackError("noisy_observations: need 0 <= miss_rate <= 1 and non-negative jitter_px, "
                             "false_positives and score_noise")
    rng = np.random.default_rng(seed)
    gt_k = next((f.keypoints.shape[1] for f in gt.frames if f.keypoints.ndim == 3), 17)
    n_frames = len(gt.frames)
    ids = np.unique(np.concatenate([np.zeros(0, np.int64)] + [_track_ids(f) for f in gt.frames]))
    ids = ids[ids >= 0]
    present = np.zeros((n_frames, len(ids)), bool)
    hidden = np.zeros((n_frames, len(ids)))
    for t, f in enumerate(gt.frames):
        known = _track_ids(f) >= 0
        cols = np.searchsorted(ids, _track_ids(f)[known])
        present[t, cols] = True
        hidden[t, cols] = _hidden_fraction(f.keypoints[known])
    missed = _miss_chain(rng, present, hidden, miss_rate, miss_runs, occluded_miss)
    for track, frame_indices in (force_miss or {}).items():
        col = np.searchsorted(ids, int(track))
        if col < len(ids) and ids[col] == int(track):
            rows = np.asarray([t for t in frame_indices if 0 <= t < n_frames], np.int64)
            missed[rows, col] = True

    # Poses with enough visible joints, to shape false positives like people.
    templates = np.concatenate([np.asarray(f.keypoints, np.float32).reshape(-1, gt_k, 3) for f in gt.frames])
    templates = templates[(templates[..., 2] > 0).sum(-1) >= 5]
    out_frames, sources = [], []
    for t, f in enumerate(gt.frames):
        track = _track_ids(f)
        col = np.minimum(np.searchsorted(ids, track), max(len(ids) - 1, 0))
        keep = ~((track >= 0) & missed[t, col]) if len(ids) else np.ones(len(f), bool)
        kpts = np.asarray(f.keypoints, np.float32)[keep].copy()
        boxes = np.asarray(f.boxes, np.float32)[keep].copy()
        src = track[keep]
        exists = (kpts[..., :2] != 0).any(-1)
        seen = kpts[..., 2] > 0
        sigma = np.where(seen, jitter_px, 3 * jitter_px)[..., None]
        kpts[..., :2] += rng.normal(0, 1, kpts[..., :2].shape).astype(np.float32) * sigma
        joint_score = np.where(seen, 0.9, 0.3) + rng.normal(0, score_noise, seen.shape)
        kpts[..., 2] = np.where(exists, np.clip(joint_score, 0.01, 1.0), 0)
        kpts[~exists] = 0
        boxes += rng.normal(0, jitter_px, boxes.shape).astype(np.float32)
        score = 0.95 - 0.4 * _hidden_fraction(f.keypoints[keep]) + rng.normal(0, score_noise, len(src))
        scores = np.clip(score, 0.05, 1.0)

        n_fp = rng.poisson(false_positives) if false_positives > 0 else 0
        if n_fp:
            fp_k, fp_b = _false_positives(rng, n_fp, f, templates, gt_k)
            kpts, boxes = np.concatenate([kpts, fp_k]), np.concatenate([boxes, fp_b])
            scores = np.concatenate([scores, rng.uniform(0.05, 0.5, n_fp)])
            src = np.concatenate([src, np.full(n_fp, -1, np.int64)])
        order = np.argsort(-scores, kind="stable")
        out_frames.append(Frame(
            file_name=f.file_name, image_id=f.image_id, keypoints=kpts[order].astype(np.float32),
            boxes=boxes[order].astype(np.float32), scores=scores[order].astype(np.float32),
            track_ids=np.full(len(order), -1, np.int64), head_boxes=np.full((len(order), 4), np.nan, np.float32),
            is_labeled=f.is_labeled, width=f.width, height=f.height))
        sources.append(src[order])
    seq = Sequence(name=gt.name, frames=out_frames, layout=gt.layout, vid_id=gt.vid_id)
    return (seq, sources) if return_sources else seq


def _false_positives(rng, n, frame, templates, k):
    """Spurious people: a random real pose (or random points) squeezed into a random box, with low scores."""
    width, height = frame.width or 640, frame.height or 480
    h = rng.uniform(0.15, 0.5, n) * height
    w = h * rng.uniform(0.3, 0.6, n)
    x1, y1 = rng.uniform(0, 1, n) * (width - w), rng.uniform(0, 1, n) * (height - h)
    boxes = np.stack([x1, y1, x1 + w, y1 + h], 1).astype(np.float32)
    if len(templates):
        xy = templates[rng.integers(len(templates), size=n), :, :2]
        have = (xy != 0).any(-1)
        lo = np.where(have[..., None], xy, np.inf).min(1, keepdims=True)
        hi = np.where(have[..., None], xy, -np.inf).max(1, keepdims=True)
        unit = np.where(have[..., None], (xy - lo) / np.maximum(hi - lo, 1e-3), 0)
    else:
        have = np.ones((n, k), bool)
        unit = rng.uniform(0, 1, (n, k, 2))
    kpts = np.zeros((n, unit.shape[1], 3), np.float32)
    size = np.stack([w, h], 1)[:, None]
    kpts[..., :2] = boxes[:, None, :2] + unit * size + rng.normal(0, 1, unit.shape) * 0.05 * h[:, None, None]
    kpts[..., 2] = rng.uniform(0.05, 0.4, have.shape)
    kpts[~have] = 0
    return kpts, boxes
