"""Identities through occlusions through the command line, as a user runs it (not a test).

For each seed: ``posetrack synth --scenario occlusion`` writes a clip (MP4) and its ground truth; noisy poses are
made from the ground-truth *file* (so joints hidden behind something are absent, as PoseTrack annotates them, rather
than guessed as in ``bench_track.py --scenario occlusion``); ``posetrack run CLIP.mp4 --poses P.json`` tracks them
with the paper's tracker (``--set tracker.relink_seconds=0``) and with the default (re-linking); ``posetrack eval``
scores both. Prints one markdown row per tracker, summed over the seeds as ``posetrack eval`` does.

    OMP_NUM_THREADS=1 python scripts/bench_track_cli.py --seed 300 --sequences 8
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posetrack.formats import read_sequence_any, write_sequence
from posetrack.synth import noisy_observations

PANS = (0.0, 1.5, -2.0, 3.0)  # as bench_track.OCCLUSION_PANS
TRACKERS = (("paper (relink_seconds 0)", ["--set", "tracker.relink_seconds=0"]), ("re-linking (default)", []))


def posetrack(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "posetrack", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=300, help="seed of the first clip")
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--work", default=None, help="folder for the clips and results (default: a temporary one)")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                        help="one more tracker row: the default with these tracker settings (repeatable)")
    args = parser.parse_args()
    trackers = list(TRACKERS) + [(f"default, {v}", [a for kv in v.split(",") for a in ("--set", f"tracker.{kv}")])
                                 for v in args.variant]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        gt_dir = work / "gt"
        gt_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        for i in range(args.sequences):
            seed = args.seed + i
            clip = work / f"clip{seed}"
            posetrack("synth", str(clip), "--seed", str(seed), "--scenario", "occlusion", "--frames",
                      str(args.frames), "--people", str(args.people), "--width", "960", "--height", "540",
                      "--pan", str(PANS[i % len(PANS)]), "--sequences", "1")
            gt_file = next((clip / "annotations" / "val").glob("*.json"))
            video = clip / "videos" / "val" / f"{gt_file.stem}.mp4"
            name = f"{seed:06d}_mpii_val"  # one name per seed, so the clips of all seeds share one folder
            (gt_dir / f"{name}.json").write_bytes(gt_file.read_bytes())
            poses = noisy_observations(read_sequence_any(gt_file), seed, jitter_px=3.0, miss_rate=0.15,
                                       miss_runs=3.0, false_positives=0.5)
            poses_file = work / f"poses{seed}.json"
            write_sequence(poses_file, poses)
            for t, (_, extra) in enumerate(trackers):
                out = work / f"run{t}" / str(seed)
                posetrack("run", str(video), "-o", str(out), "--poses", str(poses_file), "--no-video", "-q", *extra)
                dest = work / f"pred{t}"
                dest.mkdir(exist_ok=True)
                (dest / f"{name}.json").write_bytes((out / f"{gt_file.stem}.json").read_bytes())
            print(f"clip {i + 1}/{args.sequences} done ({time.perf_counter() - started:.0f} s)", flush=True)
        print("\n| tracker | MOTA | IDF1 | IDP | IDR | id switches | mAP |\n|---|---|---|---|---|---|---|")
        for t, (label, _) in enumerate(trackers):
            report = work / f"eval{t}.json"
            posetrack("eval", str(gt_dir), str(work / f"pred{t}"), "--json", str(report))
            r = json.loads(report.read_text())
            print(f"| {label} | {r['mota']['total']:.1f} | {r['idf1']['total']:.1f} | {r['idp']['total']:.1f} | "
                  f"{r['idr']['total']:.1f} | {r['num_switches']['total']:.1f} | {r['ap']['total']:.1f} |")


if __name__ == "__main__":
    main()
