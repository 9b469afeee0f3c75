"""Golden outputs: the files a fixed set of commands writes, kept so that a change meant to keep behaviour can be
checked byte for byte.

The commands are run through the ``posetrack`` command line (a fresh process each, one torch thread), so the files
are what a user gets. ``python tests/golden.py --record DIR`` writes them into ``DIR`` (``tests/data/golden`` is
the committed set, recorded before the redesign of issue 13, the demo networks' files again with issue 19's
models); ``tests/test_golden.py`` runs the same commands and compares every byte.

Inputs are made here, deterministically: a ``posetrack synth`` clip with its ground truth, and noisy poses from
``posetrack.synth.noisy_observations`` written as a PoseTrack 2018 file (for ``--poses`` and ``posetrack track``).
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

# The paper's tracker (no re-linking): what the files were recorded with before re-linking became the default.
PAPER_TRACKER = ["--set", "tracker.relink_seconds=0"]
DEMO_MODELS = ["--pose-weights", "demo", "--detector-weights", "demo", "--set",
               "detector.variant=mobilenet_v3_large_320_fpn", "--set", "detector.min_size=320", "--set",
               "detector.max_size=640", "--device", "cpu", "--no-video", "-q", *PAPER_TRACKER]
FORMATS = ("2018", "2017", "coco")


def posetrack(*args, cwd=None) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "posetrack", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"posetrack {' '.join(map(str, args))} failed ({done.returncode}):\n{done.stderr}")


def make_inputs(work: Path, frames: int, people: int, seed: int) -> tuple[Path, Path, Path]:
    """``(video, ground-truth file, noisy poses file)`` of one synthetic clip."""
    posetrack("synth", work / "synth", "--split", "val", "--sequences", 1, "--frames", frames, "--people", people,
              "--seed", seed, "--scenario", "crossing", "--pan", 1.5)
    gt = next((work / "synth" / "annotations" / "val").glob("*.json"))
    video = work / "synth" / "videos" / "val" / f"{gt.stem}.mp4"
    code = ("import sys\n"
            "from posetrack.formats import posetrack18\n"
            "from posetrack.synth import noisy_observations\n"
            "seq = posetrack18.read_sequence(sys.argv[1])\n"
            "noisy = noisy_observations(seq, seed=3, jitter_px=3, miss_rate=0.15, miss_runs=3, false_positives=0.5)\n"
            "posetrack18.write_sequence(sys.argv[2], noisy)\n")
    poses = work / f"{gt.stem}.poses.json"
    subprocess.run([sys.executable, "-c", code, str(gt), str(poses)], check=True)
    return video, gt, poses


def outputs(work: Path, frames: int = 40, people: int = 4, seed: int = 11, demo_frames: int | None = 40) -> dict:
    """Run every command; returns ``{relative name: path of the file it wrote}``."""
    video, gt, poses = make_inputs(work, frames, people, seed)
    files = {}
    for mode, extra in (("detect", DEMO_MODELS), ("poses", ["--poses", poses, "--no-video", "-q", *PAPER_TRACKER])):
        for fmt in FORMATS:
            out = work / f"run_{mode}_{fmt}"
            posetrack("run", video, "-o", out, "--format", fmt, *extra)
            files[f"run_{mode}_{fmt}.json"] = out / f"{gt.stem}.json"
            if fmt != "coco":
                metrics = work / f"eval_{mode}_{fmt}.json"
                posetrack("eval", gt, out / f"{gt.stem}.json", "--json", metrics)
                files[f"eval_{mode}_{fmt}.json"] = metrics
    tracked = work / "track.json"
    posetrack("track", video, "--poses", poses, "-o", tracked, *PAPER_TRACKER)
    files["track.json"] = tracked
    if demo_frames:
        demo = work / "demo"
        posetrack("demo", "-o", demo, "--frames", demo_frames, "--no-video", "--device", "cpu", *PAPER_TRACKER)
        files["demo_metrics.json"] = demo / "metrics.json"
        for clip in sorted(demo.glob("*.json")):
            if clip.name != "metrics.json":
                files[f"demo_{clip.name}"] = clip
    return files


def record(dest: Path, work: Path, **kwargs) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name, path in outputs(work, **kwargs).items():
        with open(path, "rb") as src, gzip.GzipFile(dest / f"{name}.gz", "wb", mtime=0) as gz:
            shutil.copyfileobj(src, gz)
        print(f"{name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", required=True, type=Path, help="folder for the gzipped outputs")
    parser.add_argument("--work", type=Path, default=Path("/tmp/posetrack-golden-work"))
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--demo-frames", type=int, default=40, help="0: skip the demo")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    record(args.record, args.work, frames=args.frames, people=args.people, demo_frames=args.demo_frames)
