"""The demo models beyond the demo's own clips (issue 19): accuracy on default ``posetrack synth`` clips, the
demo's held-out clips, and boxes per frame on real footage. Not a test: it prints what the README reports.

    OMP_NUM_THREADS=1 python scripts/measure_demo_models.py synth --seed 4242 --sequences 8 --frames 100
    OMP_NUM_THREADS=1 python scripts/measure_demo_models.py heldout --sequences 20     # posetrack demo --seed 7
    OMP_NUM_THREADS=1 python scripts/measure_demo_models.py vtest --frames 100
    OMP_NUM_THREADS=1 python scripts/measure_demo_models.py synth --people 10,12 --width 720 --no-clutter
    OMP_NUM_THREADS=1 python scripts/measure_demo_models.py negatives

* ``synth``: ``posetrack synth`` clips with default options (640x480, clutter, enter/leave, noise 4) at a seed the
  demo models never trained on (training used 999-1015, the demo 2018 and 7), people 4, 5, 6 in turn (one split
  per crowd size: ``val4``, ``val5``, ``val6``), run with the demo's settings (``posetrack demo``'s) and scored.
* ``heldout``: ``posetrack demo --seed 7 --frames 100 --sequences N --no-video`` (the first N of its 20 clips).
* ``vtest``: OpenCV's ``vtest.avi`` (768x576, real people), its first frames as a PNG folder, run with the demo
  settings; boxes per frame that reached the pose network (``detector.max_boxes`` caps the detector's).

* ``negatives``: false boxes where nobody is: the detector alone (the demo settings' threshold) on 20 views of
  ``vtest.avi``'s background (the per-pixel median of every 5th frame: the real scene with its people gone;
  jittered crops at 640x480, brightness 0.8-1.2, noise, JPEG quality 40-90) and on 36 people-free ``posetrack synth``
  frames (clutter, pans, 480-720 px, seeds never trained on). Boxes per frame at the threshold and at 0.9.

Every run prints the stage table (ms per frame, boxes per frame) and frames per CPU second (``time.process_time``
of the whole process; the machine is shared) beside the wall clock. ``--set`` adds pipeline overrides.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import tempfile
import time
from pathlib import Path

from posetrack.demo.runner import demo_config, run_demo
from posetrack.eval.evaluation import evaluate
from posetrack.eval.files import load_pairs
from posetrack.pipeline import Pipeline, SequenceJob, StageTimes

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def run_jobs(jobs: list[SequenceJob], out: Path, overrides: list[str]) -> StageTimes:
    pipeline = Pipeline(demo_config("cpu", False, overrides))
    times, cpu, wall = StageTimes(), time.process_time(), time.perf_counter()
    for job in jobs:
        times.merge(pipeline.run_sequence(job, out, video=False).times)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(times.table())
    print(f"{times.frames / cpu:.2f} frames per CPU second, {times.frames / wall:.2f} per wall second")
    return times


def synth(args, work: Path) -> None:
    from posetrack.synth.writer import write_dataset

    root, out = work / "synth", work / "pred"
    crowds = [int(p) for p in args.people.split(",")]
    splits = {f"val{p}": p for p in crowds}
    counts = [len(range(i, args.sequences, len(crowds))) for i in range(len(crowds))]
    options = dict(width=args.width, height=args.height or args.width * 3 // 4, clutter=args.clutter,
                   scenario=args.scenario, pan=args.pan, zoom=args.zoom, noise=args.noise)
    gts, preds, scoreless, jobs = [], [], {}, []
    for (split, people), n, k in zip(splits.items(), counts, range(len(crowds))):
        if n == 0:
            continue
        write_dataset(str(root), split=split, sequences=n, frames=args.frames, people=people, seed=args.seed + k,
                      video=False, **options)
        jobs += [SequenceJob(g.stem, str(root), str(g)) for g in sorted((root / "annotations" / split).glob("*.json"))]
    times = run_jobs(jobs, out, args.overrides)
    for split in splits:
        if (root / "annotations" / split).exists():
            g, p, s = load_pairs(root / "annotations" / split, out)
            gts, preds = gts + g, preds + p
            scoreless.update(s or {})
    metrics = evaluate(gts, preds, scoreless=scoreless)
    print(f"synth seed {args.seed}: {len(jobs)} sequences x {args.frames} frames, people {args.people}, {options}: "
          f"mAP {metrics['ap']['total']:.1f}, MOTA {metrics['mota']['total']:.1f}, "
          f"{times.boxes_per_frame():.1f} boxes per frame")


def heldout(args, work: Path) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_demo(work / "demo", seed=7, sequences=args.sequences, frames=args.frames, device="cpu",
                      video=False, overrides=args.overrides)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    m = result.metrics
    print(f"posetrack demo --seed 7 --sequences {args.sequences} --frames {args.frames}: mAP {m['ap']['total']:.1f}, "
          f"MOTA {m['mota']['total']:.1f} ({result.frames} frames; {cpu:.0f} CPU s, {wall:.0f} s wall incl. "
          "rendering and scoring)")


def vtest(args, work: Path) -> None:
    import cv2

    frames = work / "vtest"
    frames.mkdir()
    capture = cv2.VideoCapture(VTEST)
    for i in range(args.frames):
        ok, image = capture.read()
        if not ok:
            break
        cv2.imwrite(str(frames / f"{i:06d}.png"), image)
    capture.release()
    times = run_jobs([SequenceJob("vtest", str(frames))], work / "pred", args.overrides)
    print(f"vtest.avi, first {times.frames} frames: {times.boxes_per_frame():.1f} boxes per frame reached the pose "
          f"network; detector on {times.counts['detected']} frames")


def negatives(args, work: Path) -> None:
    import cv2
    import numpy as np

    from posetrack.demo.runner import demo_config
    from posetrack.detect.sources import make_box_source
    from posetrack.synth import make_sequence

    config = demo_config("cpu", False, args.overrides)
    detector = make_box_source(config.detector, "cpu")
    capture, frames = cv2.VideoCapture(VTEST), []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    background = np.median(np.stack(frames[::5]), axis=0).astype(np.uint8)
    rng = np.random.default_rng(0)
    views = []
    for _ in range(20):
        image = np.clip((background + rng.normal(0, 3, background.shape)) * rng.uniform(0.8, 1.2), 0, 255)
        x, y = rng.integers(0, 100), rng.integers(0, 80)
        ok, jpeg = cv2.imencode(".jpg", image[y:y + 480, x:x + 640].astype(np.uint8),
                                [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])
        views.append(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
    synthetic = []
    for k in range(12):
        width = (640, 480, 720)[k % 3]
        synthetic += make_sequence(8800 + k, frames=3, people=0, width=width, height=width * 3 // 4,
                                   pan=(0.0, 3.0, -4.0)[k % 3], clutter=k % 4 != 3).frames
    threshold = config.detector.score_threshold
    for name, images in (("vtest.avi background, 20 views", views), ("people-free synth frames", synthetic)):
        scores = np.concatenate([detector([image], [i])[0].scores for i, image in enumerate(images)])
        print(f"{name}: {np.sum(scores >= threshold) / len(images):.2f} boxes per frame at {threshold}, "
              f"{np.sum(scores >= 0.9) / len(images):.2f} at 0.9 ({len(images)} frames)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["synth", "heldout", "vtest", "negatives"])
    parser.add_argument("--seed", type=int, default=4242, help="synth: the seed of the first crowd size")
    parser.add_argument("--sequences", type=int, default=None, help="synth: 8; heldout: 20")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--people", default="4,5,6", help="synth: crowd sizes, taking turns over the sequences")
    parser.add_argument("--width", type=int, default=640, help="synth: frame width")
    parser.add_argument("--height", type=int, default=None, help="synth: frame height (default 3/4 of the width)")
    parser.add_argument("--no-clutter", dest="clutter", action="store_false", help="synth: plain backdrops")
    parser.add_argument("--scenario", default="random", choices=["random", "crossing"])
    parser.add_argument("--pan", type=float, default=0.0)
    parser.add_argument("--zoom", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=4.0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()
    args.sequences = args.sequences or {"synth": 8, "heldout": 20}.get(args.what)
    with tempfile.TemporaryDirectory() as tmp:
        {"synth": synth, "heldout": heldout, "vtest": vtest, "negatives": negatives}[args.what](args, Path(tmp))


if __name__ == "__main__":
    main()
