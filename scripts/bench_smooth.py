"""Smoothing on noisy ground-truth poses: mean joint acceleration (jitter) and mAP / MOTA, raw against smoothed.

Each clip: ``posetrack.synth.make_sequence`` (its exact ground truth), the ground truth made noisy by
``noisy_observations`` (joint jitter, short runs of missed detections), tracked by the flow tracker (the code
``posetrack run --poses`` runs), then ``posetrack.results.postprocess`` with each setting. Jitter is
``posetrack.results.stats.mean_acceleration``; mAP and MOTA are ``posetrack.eval.evaluate`` against the truth.

    python scripts/bench_smooth.py [--clips 4] [--frames 100] [--jitter 3]
"""
from __future__ import annotations

import argparse

from posetrack.eval import evaluate
from posetrack.results import PostConfig, postprocess
from posetrack.results.stats import mean_acceleration
from posetrack.synth import make_sequence, noisy_observations
from posetrack.synth import file_ground_truth
from posetrack.track import track_sequence

SETTINGS = {"none": PostConfig(), "savgol": PostConfig(smooth="savgol"), "one-euro": PostConfig(smooth="one-euro"),
            "fill 5 + savgol": PostConfig(smooth="savgol", fill_gaps=5), "fill 5": PostConfig(fill_gaps=5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--jitter", type=float, default=3.0, help="joint noise sigma, pixels")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    truths, tracked = [], []
    for i in range(args.clips):
        syn = make_sequence(seed=args.seed + i, frames=args.frames, people=5, name=f"{i + 1:06d}_mpii_val")
        noisy = noisy_observations(syn.truth, seed=i, jitter_px=args.jitter, miss_rate=0.05, miss_runs=2)
        tracked.append(track_sequence(syn.frames, noisy))
        truths.append(file_ground_truth(syn.truth))
    print(f"{args.clips} clips x {args.frames} frames, joint jitter {args.jitter} px")
    print(f"{'setting':16s} {'jitter px/f²':>12s} {'x raw':>6s} {'mAP':>6s} {'MOTA':>6s}")
    base = None
    for name, config in SETTINGS.items():
        out = [postprocess(s, config, fps=25) for s in tracked]
        jitter = sum(mean_acceleration(s) for s in out) / len(out)
        base = base or jitter
        metrics = evaluate(truths, out)
        print(f"{name:16s} {jitter:12.2f} {jitter / base:6.2f} {metrics['ap']['total']:6.1f} "
              f"{metrics['mota']['total']:6.1f}")


if __name__ == "__main__":
    main()
