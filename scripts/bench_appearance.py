#!/usr/bin/env python
"""Which appearance descriptor tells a person who comes back after an occlusion from the others? (issue 14)

On ``posetrack synth --scenario occlusion`` sequences, with ground-truth poses (visible joints only), every
re-appearance (a person absent from the ground truth for ``--min-gap`` frames or more, up to ``--max-gap``, then
seen again) is a query: its descriptor (mean over its first 3 well-seen frames within 1 s; well seen = at least
8 of the 15 scored joints visible) is compared with the descriptors of the candidates a re-linking tracker would
hold, the people lost in the last ``--max-gap`` frames and not in view (descriptor: mean over the last 5
well-seen frames before they vanished). Reported per descriptor: the share of queries whose true identity ranks
first, the mean reciprocal rank, and the ROC AUC of same-person vs other-person similarities.

Descriptors (``posetrack.track.appearance``): HSV colour histograms of the pose's torso and limb regions, and
the backbone features of the pose network ``--pose-weights`` (the demo one by default;
``PoseEstimator(return_features=True)``: mean-pooled in the crop of the visible joints' box enlarged 15%, with
flip test). Also printed: what each costs per frame.

    OMP_NUM_THREADS=1 python scripts/bench_appearance.py [--sequences 8] [--frames 300] [--people 8]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from posetrack.geometry import keypoint_boxes
from posetrack.pose.estimator import PoseEstimator
from posetrack.synth import make_sequence
from posetrack.track.appearance import colour_histograms, feature_similarity, histogram_similarity

SCORED = [j for j in range(17) if j not in (3, 4)]
WELL_SEEN = 8
KINDS = ("colour histograms", "backbone features")
PANS = (0.0, 1.5, -2.0, 3.0)


def visibility(seq) -> tuple[np.ndarray, np.ndarray]:
    """``(T, P)`` listed in the ground truth and ``(T, P)`` number of visible scored joints."""
    t_n, p_n = seq.scene.num_frames, seq.scene.num_people
    listed, seen = np.zeros((t_n, p_n), bool), np.zeros((t_n, p_n), int)
    for t, f in enumerate(seq.truth.frames):
        listed[t, f.track_ids] = True
        seen[t, f.track_ids] = (f.keypoints[:, SCORED, 2] > 0).sum(1)
    return listed, seen


def events(listed, seen, min_gap, max_gap):
    """Queries ``(person, first frames after the gap)`` and, per query, the candidates ``{person: frames}``."""
    t_n, p_n = listed.shape
    segments = []  # (person, start, end) of each stretch of presence
    for p in range(p_n):
        edges = np.flatnonzero(np.diff(np.r_[0, listed[:, p].astype(int), 0]))
        segments += [(p, int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]

    def last_good(p, end):
        frames = [t for t in range(end - 1, max(end - 50, -1), -1) if seen[t, p] >= WELL_SEEN]
        return frames[:5]

    out = []
    for p, start, _ in segments:
        before = [(a, b) for q, a, b in segments if q == p and b <= start]
        if not before or not min_gap <= start - before[-1][1] <= max_gap:
            continue
        query = [t for t in range(start, min(start + 25, t_n)) if seen[t, p] >= WELL_SEEN][:3]
        if not query:
            continue
        candidates = {}
        for q in range(p_n):
            ends = [b for r, a, b in segments if r == q and b <= start and start - b <= max_gap]
            if q != p and (listed[start, q] or not ends):
                continue
            frames = last_good(q, (before[-1][1] if q == p else ends[-1]))
            if frames:
                candidates[q] = frames
        if p in candidates and len(candidates) >= 2:
            out.append((p, query, candidates))
    return out


def describe(seq, estimator, needed: dict[int, list[int]]) -> dict:
    """``{kind: {(t, p): descriptor}}`` for the ``needed`` frames -> people."""
    out = {kind: {} for kind in KINDS}
    for t in sorted(needed):
        frame = seq.frames[t]
        people = sorted(needed[t])
        truth = seq.truth.frames[t]
        kpts = truth.keypoints[[list(truth.track_ids).index(p) for p in people]].copy()
        kpts[kpts[..., 2] <= 0] = 0  # what the ground truth file holds: visible joints only
        hist = colour_histograms(frame, kpts, min_score=0.5)
        _, _, feats = estimator(frame, keypoint_boxes(kpts, min_score=0.5, enlarge=0.15))
        out[KINDS[0]].update({(t, p): h for p, h in zip(people, hist)})
        out[KINDS[1]].update({(t, p): f for p, f in zip(people, feats)})
    return out


def score(queries, descriptors) -> dict:
    results = {}
    for kind in KINDS:
        sim_fn = histogram_similarity if kind == KINDS[0] else feature_similarity
        ranks, same, other = [], [], []
        for key, (p, query, candidates) in queries:
            q = np.mean([descriptors[key][kind][(t, p)] for t in query], 0)[None]
            names = sorted(candidates)
            gallery = np.stack([np.mean([descriptors[key][kind][(t, c)] for t in candidates[c]], 0) for c in names])
            sims = np.nan_to_num(sim_fn(q, gallery)[0], nan=-1.0)
            truth = sims[names.index(p)]
            ranks.append(1 + int((sims > truth).sum()))
            same.append(truth)
            other += [s for c, s in zip(names, sims) if c != p]
        same, other = np.array(same), np.array(other)
        auc = ((same[:, None] > other[None]).mean() + 0.5 * (same[:, None] == other[None]).mean())
        ranks = np.array(ranks)
        results[kind] = {"top1": 100 * (ranks == 1).mean(), "mrr": (1 / ranks).mean(), "auc": auc}
    return results


def feature_cost(weights: str, frames: int = 100, people: int = 8) -> None:
    """Milliseconds per frame of the demo pose network (flip test, one core) with and without the features,
    and of the colour histograms, on the middle frames of an occlusion sequence."""
    seq = make_sequence(seed=1, frames=3 * frames, people=people, width=640, height=360, scenario="occlusion",
                        lazy=True)
    plain = PoseEstimator.from_checkpoint(weights, device="cpu", flip_test=True)
    with_features = PoseEstimator.from_checkpoint(weights, device="cpu", flip_test=True, return_features=True)
    inputs = []
    for t, (img, f) in enumerate(zip(seq.frames, seq.truth.frames)):
        if t < frames or t >= 2 * frames:
            continue
        well_seen = (f.keypoints[:, SCORED, 2] > 0).sum(1) >= WELL_SEEN
        inputs.append((img, keypoint_boxes(f.keypoints[well_seen], 0.5, 0.15), f.keypoints[well_seen]))
    cells = []
    for name, fn in (("pose network", lambda i, b, k: plain(i, b)),
                     ("pose network + features", lambda i, b, k: with_features(i, b)),
                     ("colour histograms", lambda i, b, k: colour_histograms(i, k, min_score=0.5))):
        fn(*inputs[0])
        times = []
        for args in inputs * 2:
            t0 = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - t0)
        cells.append(f"{name} {1000 * np.median(times):.1f} ms")
    people_seen = np.mean([len(b) for _, b, _ in inputs])
    print(f"\nPer frame ({people_seen:.1f} people, median): " + ", ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--people", type=int, default=8)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--min-gap", type=int, default=10, help="frames absent, at least (the paper's L_Q)")
    ap.add_argument("--max-gap", type=int, default=100, help="frames absent, at most (4 s at 25 fps)")
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--pose-weights", default="demo", help="pose network whose features are compared")
    args = ap.parse_args()
    estimator = PoseEstimator.from_checkpoint(args.pose_weights, device="cpu", flip_test=True,
                                              return_features=True)
    queries, descriptors, started = [], {}, time.perf_counter()
    for i in range(args.sequences):
        seq = make_sequence(seed=args.seed + i, frames=args.frames, people=args.people, width=args.width,
                            height=args.height, scenario="occlusion", pan=PANS[i % len(PANS)])
        listed, seen = visibility(seq)
        found = events(listed, seen, args.min_gap, args.max_gap)
        needed = {}
        for p, query, candidates in found:
            for t in query:
                needed.setdefault(t, set()).add(p)
            for c, frames in candidates.items():
                for t in frames:
                    needed.setdefault(t, set()).add(c)
        descriptors[i] = describe(seq, estimator, needed)
        queries += [(i, e) for e in found]
        print(f"sequence {i}: {len(found)} re-appearances, {sum(len(v) for v in needed.values())} descriptors",
              flush=True)
    n_candidates = np.mean([len(c) for _, (_, _, c) in queries])
    print(f"\n{len(queries)} re-appearances after {args.min_gap}-{args.max_gap} frames absent, "
          f"{n_candidates:.1f} candidates each on average ({time.perf_counter() - started:.0f} s)\n")
    print("| descriptor | true identity first | mean reciprocal rank | ROC AUC same vs other |")
    print("|---|---|---|---|")
    for kind, r in score(queries, descriptors).items():
        print(f"| {kind} | {r['top1']:.1f}% | {r['mrr']:.3f} | {r['auc']:.3f} |")
    if not args.no_speed:
        feature_cost(args.pose_weights)


if __name__ == "__main__":
    main()
