"""Re-drawing the overlay after an id edit against decoding plus encoding the same video.

Baseline, measured in the same run: decode every frame of the source video, then encode those frames to H.264
with ``posetrack.io.VideoWriter`` (same settings as the overlay). Edit: ``posetrack.results.rerender.edit_result``
on a run's JSON with ``--video`` (JSON, then overlay drawn with ``posetrack.viz.draw_poses`` while decoding on the
read-ahead thread). Prints both times and their ratio.

    python scripts/bench_edit.py [--frames 300] [--width 1280] [--height 720]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from posetrack.formats import posetrack18
from posetrack.io import VideoWriter, open_source
from posetrack.results.edit import parse_argument
from posetrack.results.rerender import edit_result
from posetrack.synth import make_sequence, noisy_observations
from posetrack.track import track_sequence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        syn = make_sequence(seed=1, frames=args.frames, people=6, width=args.width, height=args.height)
        source = tmp / "source.mp4"
        with VideoWriter(source, 25, (args.width, args.height)) as writer:
            for image in syn.frames:
                writer.write(image)
        tracked = track_sequence(syn.frames, noisy_observations(syn.truth, seed=1))
        run = tmp / "run.json"
        posetrack18.write_sequence(run, tracked)
        victim = int(tracked.frames[0].track_ids[0])
        base, edit = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with open_source(source) as frames:
                images = [f.image for f in frames]
            t1 = time.perf_counter()
            with VideoWriter(tmp / "plain.mp4", 25, (args.width, args.height)) as writer:
                for image in images:
                    writer.write(image)
            base.append((t1 - t0, time.perf_counter() - t1))
            t0 = time.perf_counter()
            edit_result(run, [parse_argument("delete", str(victim))], tmp / "edited.json", video=source)
            edit.append(time.perf_counter() - t0)
        decode, encode = min(b[0] for b in base), min(b[1] for b in base)
        best = min(edit)
        print(f"{args.frames} frames {args.width}x{args.height}: decode {decode:.2f} s + encode {encode:.2f} s = "
              f"{decode + encode:.2f} s; edit + re-draw {best:.2f} s ({best / (decode + encode):.2f}x)")


if __name__ == "__main__":
    main()
