"""Rendering speed of the synthetic world on one core: ``python scripts/bench_synth.py [--frames 300]``.

Prints frames per second for ``make_sequence`` (image + label buffer + visibility) under a few scenarios, and
for ``write_dataset`` (adding JPEG files, the PoseTrack/COCO JSON and the H.264 video).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from posetrack.synth import make_sequence  # noqa: E402
from posetrack.synth.writer import write_dataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--people", type=int, default=6)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    make_sequence(seed=0, frames=5, people=2)  # warm-up: first-call costs are not rendering speed
    cases = {
        "static camera": dict(),
        "pan 2 px/frame": dict(pan=2.0),
        "pan + zoom 1.3": dict(pan=2.0, zoom=1.3),
        "no clutter, no noise": dict(clutter=False, noise=0),
    }
    for label, kwargs in cases.items():
        start = time.perf_counter()
        make_sequence(seed=0, frames=args.frames, people=args.people, **kwargs)
        seconds = time.perf_counter() - start
        print(f"make_sequence {label:<22} {args.frames / seconds:7.0f} frames/s  (640x480, {args.people} people)")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        write_dataset(out, frames=args.frames, people=args.people, seed=0)
        seconds = time.perf_counter() - start
    print(f"write_dataset (JPEG + JSON + MP4)     {args.frames / seconds:7.0f} frames/s")


if __name__ == "__main__":
    main()
