"""Benchmark of the FlowTrack tracker on synthetic sequences (not a test).

1. MOTA (posetrack.eval) of each of Table 5's tracking configurations, on synthetic sequences with crossings,
   people entering and leaving, missed detections, false positives and camera motion. Noisy ground truth stands
   in for the detector (``posetrack.synth.noisy_observations``) and for the pose network (the true joints of the
   person best overlapping each box, jittered, rescored like the official code: box score x mean joint score).
2. Sweeps of the settings the paper does not give (NMS IoU, propagated box score, L_Q, reduction, match
   threshold), around the defaults, to justify them.
3. Milliseconds per frame of the tracker alone (flow and pose network excluded) for 1, 10 and 50 people, and
   of DIS vs Farneback flow at 1280x720.

With ``--scenario occlusion`` instead: identities through occlusions (issue 14). On ``posetrack synth --scenario
occlusion`` sequences (people hidden 1-3 s by pillars and panels, leaving the view and back 2-4 s later, crossing,
twins, camera pans) each tracker configuration of ``IDENTITY_ROWS`` is scored (MOTA, IDF1, IDP, IDR, id switches,
mAP, the tracker's own ms/frame) on noisy ground-truth poses (as ``posetrack run --poses`` tracks them) and, unless
``--no-models``, end to end with the packaged demo detector and pose network (as ``posetrack run --pose-weights
demo --detector-weights demo`` runs them, on the rendered frames instead of the MP4).

    OMP_NUM_THREADS=1 python scripts/bench_track.py            # everything (~4 minutes on one core)
    OMP_NUM_THREADS=1 python scripts/bench_track.py --no-sweep
    OMP_NUM_THREADS=1 python scripts/bench_track.py --scenario occlusion [--sequences 8 --frames 300 --no-models]
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import time

import cv2
import numpy as np

from posetrack.eval import evaluate
from posetrack.geometry import box_iou
from posetrack.synth import make_sequence, noisy_observations
from posetrack.track import TABLE5, FlowTracker, TrackerConfig, flow_from_config, make_flow, relabel
from posetrack.types import Frame, Sequence

# Tracker configurations compared on the occlusion scenario: (name, TrackerConfig overrides of the defaults).
# The paper's tracker (Algorithm 1, Table 5 row 6) is the baseline; the default adds re-linking of lost tracks.
IDENTITY_ROWS = [("paper (Table 5 row 6)", {"relink_seconds": 0.0}), ("re-linking (default)", {})]
OCCLUSION_PANS = (0.0, 1.5, -2.0, 3.0)

# (scenario, people, pan px/frame, zoom at the end): crossings, crowds walking in and out, a panning camera.
SCENES = [("crossing", 2, 0.0, 1.0), ("crossing", 3, 0.0, 1.0), ("crossing", 3, 3.0, 1.0),
          ("crossing", 4, -4.0, 1.2), ("random", 4, 0.0, 1.0), ("random", 6, 0.0, 1.0), ("random", 8, 0.0, 1.0),
          ("random", 6, 4.0, 1.0), ("random", 8, 2.0, 1.3), ("random", 5, 6.0, 0.8), ("random", 10, -3.0, 1.0),
          ("random", 6, 8.0, 1.0), ("random", 5, 14.0, 1.0)]


class CachedFlow:
    """Computes each frame pair's flow once, so that every configuration sees identical flow for free."""

    def __init__(self, flow):
        self.flow, self.cache = flow, {}

    def __call__(self, prev, frame):
        key = (id(prev), id(frame))
        if key not in self.cache:
            self.cache[key] = self.flow(prev, frame)
        return self.cache[key]


class NoisyPoseNetwork:
    """Pose network stand-in for one frame: the joints of the person best overlapping each box (IoU >= 0.5),
    jittered; a box on nobody gets a low-confidence pose. Person score = box score x mean joint score > 0.2."""

    def __init__(self, truth: Frame, seed: int, jitter_px: float = 2.5):
        self.truth, self.rng, self.jitter = truth, np.random.default_rng(seed), jitter_px

    def __call__(self, frame, boxes, scores):
        n, k = len(boxes), self.truth.keypoints.shape[1] if len(self.truth) else 17
        out = np.zeros((n, k, 3), np.float32)
        iou = box_iou(boxes, self.truth.boxes)
        hit = iou.max(1) >= 0.5 if iou.shape[1] else np.zeros(n, bool)
        kpts = self.truth.keypoints[iou.argmax(1)[hit]] if hit.any() else np.zeros((0, k, 3), np.float32)
        exists = (kpts[..., :2] != 0).any(-1)
        seen = kpts[..., 2] > 0
        out[hit, :, :2] = kpts[..., :2] + self.rng.normal(0, 1, kpts[..., :2].shape) * np.where(
            seen, self.jitter, 3 * self.jitter)[..., None]
        out[hit, :, 2] = np.where(exists, np.clip(np.where(seen, 0.9, 0.3) + self.rng.normal(0, 0.05, seen.shape),
                                                  0.01, 1), 0)
        miss = ~hit
        centre = (boxes[miss, :2] + boxes[miss, 2:]) / 2
        out[miss, :, :2] = centre[:, None] + self.rng.normal(0, 10, (int(miss.sum()), k, 2))
        out[miss, :, 2] = self.rng.uniform(0.0, 0.25, (int(miss.sum()), k))
        conf = out[..., 2] > 0.2
        mean = np.where(conf.any(1), (out[..., 2] * conf).sum(1) / np.maximum(conf.sum(1), 1), 0)
        return out, np.asarray(scores, np.float32) * mean


def build_world(frames: int, width: int, height: int):
    world = []
    for seed, (scenario, people, pan, zoom) in enumerate(SCENES):
        seq = make_sequence(seed, frames=frames, people=people, width=width, height=height, scenario=scenario,
                            pan=pan, zoom=zoom, name=f"{seed + 1:06d}_mpii_val")
        det = noisy_observations(seq.truth, seed, jitter_px=3.0, miss_rate=0.15, miss_runs=3.0,
                                 false_positives=0.5, occluded_miss=0.5)
        world.append((seq, det))
    return world


def run_configs(world, configs: list[TrackerConfig]) -> list[dict]:
    """Track every sequence with every configuration (one sequence at a time, sharing its flow), then score."""
    preds = [[] for _ in configs]
    for seq, det in world:
        flows = {}
        for i, config in enumerate(configs):
            key = (config.flow, config.flow_preset, config.flow_scale)
            if key not in flows:
                flows[key] = CachedFlow(make_flow(config.flow, preset=config.flow_preset, scale=config.flow_scale))
            tracker = FlowTracker(config, flow=flows[key])
            out = []
            for t, (image, gt_frame, obs) in enumerate(zip(seq.frames, seq.truth.frames, det.frames)):
                tracker.pose_fn = NoisyPoseNetwork(gt_frame, seed=t)
                r = tracker.update(image, obs.boxes, obs.scores)
                out.append(Frame(gt_frame.file_name, gt_frame.image_id, r.keypoints, r.boxes, r.scores,
                                 r.track_ids, np.full((len(r), 4), np.nan, np.float32), width=gt_frame.width,
                                 height=gt_frame.height))
            out = [dataclasses.replace(f, track_ids=relabel(f.track_ids, tracker.renames)) for f in out]
            preds[i].append(Sequence(seq.name, out, seq.gt.layout, seq.gt.vid_id))
    results = []
    for pred in preds:
        r = evaluate([seq.gt for seq, _ in world], pred)
        results.append({key: r[key]["total"] for key in ("mota", "idf1", "num_switches", "ap", "precision",
                                                          "recall")})
    return results


def table5(world, base: TrackerConfig) -> None:
    rows = ("a1", "a2", "a3", "a4", "a5", "a6")
    configs = [dataclasses.replace(base, **TABLE5[row]) for row in rows]
    results = run_configs(world, configs + [dataclasses.replace(TrackerConfig(), layout=base.layout)])
    print("\n## Table 5 switches (and the default: row 6 with re-linking)\n")
    print("| row | joint prop. | similarity | MOTA | IDF1 | id switches | mAP | precision | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row, r in zip(rows + ("default",), results):
        switches = TABLE5.get(row, {"propagate": True, "similarity": "multiflow + re-linking"})
        print(f"| {row[1] if row in TABLE5 else row} | {'yes' if switches['propagate'] else 'no'} | "
              f"{switches['similarity']} | {r['mota']:.2f} | {r['idf1']:.2f} | {r['num_switches']:.1f} | "
              f"{r['ap']:.1f} | {r['precision']:.1f} | {r['recall']:.1f} |", flush=True)


def sweeps(world, base: TrackerConfig) -> None:
    grid = {"nms_iou": [0.3, 0.4, 0.5, 0.6, 0.7], "propagated_decay": [0.5, 0.8, 0.9, 0.95, 1.0],
            "queue_length": [1, 3, 5, 10], "reduction": ["max", "mean"],
            "match_threshold": [0.05, 0.1, 0.2, 0.3, 0.5], "flow_scale": [0.5, 1.0],
            "joint_min_score": [0.1, 0.2, 0.4], "min_common_joints": [1, 3, 5]}
    print("\n## Sweeps around the defaults (joint propagation + multi-flow), MOTA %\n")
    for name, values in grid.items():
        results = run_configs(world, [dataclasses.replace(base, **{name: v}) for v in values])
        print(f"- {name}: " + ", ".join(f"{v}: {r['mota']:.1f}" for v, r in zip(values, results)), flush=True)


def tracker_speed(repeats: int = 50, rounds: int = 10) -> None:
    # CPU time of this process, not the wall clock: on a machine shared with other work the wall clock counts the
    # time other processes held the core. Each cell is the mean over `repeats` frames (re-linking samples colours
    # on every 5th frame, so not the median); the four trackers take turns, `rounds` times, and each keeps its
    # lowest mean, as timeit does: on a shared machine the other rounds measure the neighbours too.
    print("\n## Tracker alone, mean CPU ms per frame (no flow, no pose network; one core)\n")
    print("| people | update (a6) | update_poses (a6) | update (a3, bbox) | update (default: a6 + re-linking) |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    zero_flow = np.zeros((720, 1280, 2), np.float32)
    frame = np.zeros((720, 1280, 3), np.uint8)
    for n in (1, 10, 50):
        base = rng.uniform([0, 0], [1180, 520], (n, 2)).astype(np.float32)
        shape = rng.uniform([0, 0], [80, 200], (17, 2)).astype(np.float32)
        kpts = np.concatenate([base[:, None] + shape, np.full((n, 17, 1), 0.9, np.float32)], -1)
        boxes = np.concatenate([kpts[..., :2].min(1), kpts[..., :2].max(1)], 1)
        scores = np.full(n, 0.95, np.float32)
        steps = []
        for row, given in (("a6", False), ("a6", True), ("a3", False), (None, False)):
            # The default samples each track's colours every relink_sample_every frames (none are lost here).
            config = TrackerConfig.from_table5(row) if row else TrackerConfig()
            tracker = FlowTracker(config, pose_fn=lambda f, b, s: (kpts[:len(b)], s), flow=lambda a, b: zero_flow)
            steps.append(functools.partial(tracker.update_poses, frame, kpts, scores) if given else
                         functools.partial(tracker.update, frame, boxes, scores))
        best = [np.inf] * len(steps)
        for step in steps:
            for _ in range(10):
                step()
        for _ in range(rounds):
            for i, step in enumerate(steps):
                t0 = time.process_time()
                for _ in range(repeats):
                    step()
                best[i] = min(best[i], (time.process_time() - t0) / repeats)
        print(f"| {n} | " + " | ".join(f"{1000 * b:.2f}" for b in best) + " |", flush=True)


def flow_speed(repeats: int = 5) -> None:
    print("\n## Optical flow at 1280x720, ms per frame pair (one core)\n")
    seq = make_sequence(0, frames=2, people=4, width=1280, height=720, pan=4.0)
    prev, frame = seq.frames
    print("| method | scale 1.0 | scale 0.5 |")
    print("|---|---|---|")
    for name, options in (("dis", {"preset": "ultrafast"}), ("dis", {"preset": "fast"}),
                          ("dis", {"preset": "medium"}), ("farneback", {})):
        cells = []
        for scale in (1.0, 0.5):
            flow = make_flow(name, scale=scale, **options)
            flow(prev, frame)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                flow(prev, frame)
                times.append(time.perf_counter() - t0)
            cells.append(f"{1000 * np.median(times):.1f}")
        label = name + (f" {options['preset']}" if options else "")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


class Timed:
    """Wraps a callable and adds up the seconds spent in it (to take flow and networks out of tracker time)."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args):
        t0 = time.perf_counter()
        try:
            return self.fn(*args)
        finally:
            self.seconds += time.perf_counter() - t0


def track_occlusion_sequence(seq, config: TrackerConfig, poses: Sequence | None, detections=None, estimator=None):
    """Track one rendered sequence, from given ``poses`` (as ``posetrack run --poses``) or from cached detector
    ``detections`` and the pose ``estimator``. Returns the prediction and the tracker's own seconds."""
    flow = Timed(flow_from_config(config))  # not cached: full-size flow fields of 300 frames fill the memory
    pose_fn = Timed(estimator) if estimator is not None else None
    tracker = FlowTracker(config, pose_fn=pose_fn, flow=flow)
    frames, spent = [], 0.0
    for t, (image, gt_frame) in enumerate(zip(seq.frames, seq.truth.frames)):
        before = flow.seconds + (pose_fn.seconds if pose_fn else 0.0)
        t0 = time.perf_counter()
        if poses is not None:
            given = poses.frames[t]
            r = tracker.update_poses(image, given.keypoints, given.scores)
        else:
            r = tracker.update(image, detections[t].boxes, detections[t].scores)
        spent += time.perf_counter() - t0 - (flow.seconds + (pose_fn.seconds if pose_fn else 0.0) - before)
        frames.append(Frame(gt_frame.file_name, gt_frame.image_id, r.keypoints, r.boxes, r.scores, r.track_ids,
                            np.full((len(r), 4), np.nan, np.float32), width=gt_frame.width, height=gt_frame.height))
    if tracker.renames:  # re-linked tracks: their first frames carried the young id
        frames = [dataclasses.replace(f, track_ids=relabel(f.track_ids, tracker.renames)) for f in frames]
    return Sequence(seq.name, frames, seq.gt.layout, seq.gt.vid_id), spent


def true_ids(poses: Sequence, sources: list, config: TrackerConfig) -> Sequence:
    """The given poses with their true track ids (false positives: ids of their own), thresholded as the tracker
    thresholds people and joints: the best identity measures any tracker could reach on these poses."""
    frames = []
    for f, src in zip(poses.frames, sources):
        keep = f.scores >= config.det_threshold
        ids = np.where(src >= 0, src, 5000 + np.arange(len(src)) + 10 * len(frames))[keep]
        kpts = f.keypoints[keep] * (f.keypoints[keep][..., 2:] >= config.joint_threshold)
        frames.append(dataclasses.replace(f, keypoints=kpts, scores=f.scores[keep], boxes=f.boxes[keep],
                                          track_ids=ids, head_boxes=f.head_boxes[keep]))
    return dataclasses.replace(poses, frames=frames)


def occlusion_benchmark(args) -> None:
    configs = [(name, dataclasses.replace(TrackerConfig(), layout="posetrack18", **overrides))
               for name, overrides in IDENTITY_ROWS]
    modes = ["noisy ground-truth poses"] + ([] if args.no_models else ["demo models end to end"])
    detector = estimator = None
    if not args.no_models:
        from posetrack.detect.faster_rcnn import FasterRCNNDetector
        from posetrack.pose.estimator import PoseEstimator
        # As golden.DEMO_MODELS: the demo detector at 320 px, the demo pose network with flip test.
        detector = FasterRCNNDetector("mobilenet_v3_large_320_fpn", "demo", min_size=320, max_size=640,
                                      device="cpu")
        estimator = PoseEstimator.from_checkpoint("demo", device="cpu", flip_test=True)
    reference = ("(reference) true ids", modes[0])
    preds = {(m, name): [] for m in modes for name, _ in configs}
    preds[reference[1], reference[0]] = []
    seconds = {(m, name): 0.0 for m in modes for name, _ in configs}
    gts, total_frames, started = [], 0, time.perf_counter()
    for i in range(args.sequences):
        seq = make_sequence(args.seed + i, frames=args.frames, people=args.people, width=args.width,
                            height=args.height, scenario="occlusion", pan=OCCLUSION_PANS[i % len(OCCLUSION_PANS)],
                            name=f"{i + 1:06d}_mpii_val")
        gts.append(seq.gt)
        total_frames += len(seq.frames)
        poses, sources = noisy_observations(seq.truth, args.seed + i, jitter_px=3.0, miss_rate=0.15,
                                            miss_runs=3.0, false_positives=0.5, return_sources=True)
        preds[reference[1], reference[0]].append(true_ids(poses, sources, configs[0][1]))
        detections = detector(seq.frames) if detector is not None else None
        for mode in modes:
            for name, config in configs:
                given = poses if mode == modes[0] else None
                pred, spent = track_occlusion_sequence(seq, config, given, detections, estimator)
                preds[mode, name].append(pred)
                seconds[mode, name] += spent
        print(f"sequence {i + 1}/{args.sequences} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n## Identities through occlusions: {args.sequences} occlusion sequences x {args.frames} frames, "
          f"{args.people} people, {args.width}x{args.height}\n")
    print("| tracker | input | MOTA | IDF1 | IDP | IDR | id switches | mAP | tracker ms/frame |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (mode, name), pred in preds.items():
        r = evaluate(gts, pred)
        ms = f"{1000 * seconds[mode, name] / total_frames:.2f}" if (mode, name) in seconds else "-"
        print(f"| {name} | {mode} | {r['mota']['total']:.1f} | {r['idf1']['total']:.1f} | {r['idp']['total']:.1f} "
              f"| {r['idr']['total']:.1f} | {r['num_switches']['total']:.1f} | {r['ap']['total']:.1f} | {ms} |",
              flush=True)
    print("\n(id switches: per joint type, averaged over the 15 joints, summed over sequences.)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["mixed", "occlusion"], default="mixed",
                        help="'mixed': Table 5, sweeps and speed on crossing and random scenes; 'occlusion': "
                             "identities through occlusions (IDENTITY_ROWS)")
    parser.add_argument("--frames", type=int, default=None, help="per sequence (default 100; occlusion: 300)")
    parser.add_argument("--width", type=int, default=None, help="default 640; occlusion: 960")
    parser.add_argument("--height", type=int, default=None, help="default 360; occlusion: 540")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--sequences", type=int, default=8, help="occlusion: number of sequences")
    parser.add_argument("--people", type=int, default=8, help="occlusion: people per sequence")
    parser.add_argument("--seed", type=int, default=200, help="occlusion: seed of the first sequence")
    parser.add_argument("--no-models", action="store_true", help="occlusion: skip the demo models end to end")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.scenario == "occlusion":
        # People at 8-10 m are then 120-150 px tall: 3 px of joint jitter stays well inside PCKh 0.5.
        args.frames, args.width, args.height = args.frames or 300, args.width or 960, args.height or 540
        occlusion_benchmark(args)
        return
    args.frames, args.width, args.height = args.frames or 100, args.width or 640, args.height or 360
    base = TrackerConfig(relink_seconds=0.0)  # the paper's tracker: Table 5 and the sweeps around its settings
    world = build_world(args.frames, args.width, args.height)
    print(f"{len(world)} synthetic sequences x {args.frames} frames at {args.width}x{args.height}; "
          f"defaults: {base}")
    table5(world, base)
    if not args.no_sweep:
        sweeps(world, base)
    if not args.no_speed:
        tracker_speed()
        flow_speed()


if __name__ == "__main__":
    main()
