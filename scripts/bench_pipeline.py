"""Benchmark of the whole pipeline (not a test): ms per frame per stage, end-to-end fps, and flat memory.

1. Throughput (default): a ``posetrack synth`` 1280x720 video with 6 people, run by ``Pipeline.run_sequence``
   with the ``fast_cpu`` and ``paper_r50_256x192`` configs, against a baseline in the same run that uses the same
   stages one frame and one box at a time with no read-ahead (what a naive loop does). Real weights cannot be
   downloaded here, so the detector and pose network have random weights of the configs' architectures, built
   in this script: their cost is real, their output is not. The detector runs on every frame (its cost is what
   is timed) but the boxes handed on are the synthetic ground truth's, and the pose network runs on every box
   but the poses handed on are a template fitted into the box, so the tracker sees the 6 people a trained
   detector and pose network would find (not random boxes and joints). Three runs per config: ``baseline``,
   ``serial`` (the pipeline with ``run.overlap=false``: batched, read-ahead, every other stage on the main
   loop) and ``pipeline`` (the default: detector batches, flow and overlay encoding on their own threads). Stage
   columns are each stage's work in ms per frame, wherever it ran; ``elapsed`` is the wall clock per frame.
2. Demo models (``--configs demo``, ``--every 1,2,3,5``): the packaged demo detector and pose network, real
   weights and real output, on ``posetrack synth`` clips (640x480, default options, seeds the models never trained
   on), scored with ``posetrack.eval`` (mAP, MOTA). ``--configs demo`` runs the demo's own settings
   (``posetrack demo``) and the fast config with the demo models; ``--every`` runs the fast config with the demo
   models at ``detector.every`` = each N (``--rounds R``: the N take turns R times and each keeps its fastest
   round, as ``timeit`` does on a shared machine). Speed is reported as frames per CPU second
   (``time.process_time`` of the whole process, every thread: the machine is shared) and per wall-clock second;
   ``boxes/f`` is boxes per frame that reached the pose network, ``det`` the frames the detector looked at.
3. Memory (``--memory``): peak RSS of a 1,000-frame and of a 10,000-frame run (each in its own process, final
   JSON and overlay video included) on a long 320x240 stream, with cheap stand-ins for the networks (ground-truth
   boxes, a template pose fitted into each box) so the decoder, flow, tracker, partial file, drawing, encoder and
   final writer are what is measured. Flat means the two peaks differ by far less than 100 MB.

    OMP_NUM_THREADS=1 python scripts/bench_pipeline.py                   # throughput, ~4 minutes on one core
    OMP_NUM_THREADS=1 python scripts/bench_pipeline.py --configs fast    # the fast config only
    OMP_NUM_THREADS=1 python scripts/bench_pipeline.py --memory          # memory, ~3 minutes
    OMP_NUM_THREADS=1 python scripts/bench_pipeline.py --configs demo    # demo models, 640x480, 5 people
    OMP_NUM_THREADS=1 python scripts/bench_pipeline.py --every 1,2,3,5   # detector every N frames, demo models
    OMP_NUM_THREADS=1 python scripts/bench_pipeline.py --every 1,3 --rounds 3 --sequences 2 --frames 60
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported: 2 shared cores here

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from posetrack.config import PipelineConfig, load_config
from posetrack.detect.base import BoxSource, Detections
from posetrack.formats import read_sequence_any
from posetrack.layouts import get_layout
from posetrack.pipeline import Pipeline
from posetrack.pose.checkpoint import PoseModelInfo, save_checkpoint
from posetrack.pose.network import PoseNetConfig, PoseResNet
from posetrack.pipeline import STAGES, SequenceJob

CONFIGS = {"fast": ("fast_cpu", 24), "paper": ("paper_r50_256x192", 6)}  # config, frames (paper: run once, short)
# Demo-model runs: the config file (None: the defaults, as ``posetrack demo``) under the demo's own overrides.
DEMO_RUNS = {"demo": None, "demo-fast": "fast_cpu"}


class DetectThenGroundTruth(BoxSource):
    """Runs the (random-weight) detector for its cost, then hands on the ground-truth boxes of those frames."""

    def __init__(self, detector: BoxSource, boxes: list[Detections], batch_size: int):
        self.detector, self.boxes, self.batch_size = detector, boxes, batch_size

    def __call__(self, frames, frame_indices):
        for start in range(0, len(frames), self.batch_size):  # the baseline: batch 1
            self.detector.batch_size = self.batch_size
            self.detector(frames[start:start + self.batch_size], frame_indices[start:start + self.batch_size])
        return [self.boxes[i % len(self.boxes)] for i in frame_indices]


class OneBoxAtATime:
    """The baseline's pose stage: the same network, called once per person."""

    def __init__(self, estimator):
        self.estimator, self.layout = estimator, estimator.layout

    def __call__(self, frame, boxes, scores):
        outputs = [self.estimator(frame, boxes[i:i + 1], scores[i:i + 1]) for i in range(len(boxes))]
        return np.concatenate([o[0] for o in outputs]), np.concatenate([o[1] for o in outputs])


class TemplatePoses:
    """A fixed pose fitted into each box. Alone (memory mode) it is a pose "network" costing nothing; with
    ``network`` it runs that (random-weight) network first, for its cost, and hands on the template: random
    weights put joints anywhere in the box, so their propagated boxes would not merge with the next detections
    and would double the people the network sees, which no trained network does."""

    def __init__(self, network=None):
        self.network = network
        self.layout = get_layout("posetrack18")
        rng = np.random.default_rng(0)
        template = rng.uniform(0, 1, (17, 2))
        template = (template - template.min(0)) / (template.max(0) - template.min(0))  # spans the whole box
        self.template = template.astype(np.float32)

    def __call__(self, frame, boxes, scores):
        if self.network is not None:
            self.network(frame, boxes, scores)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        xy = boxes[:, None, :2] + self.template[None] * (boxes[:, None, 2:] - boxes[:, None, :2])
        kpts = np.concatenate([xy, np.full(xy.shape[:2] + (1,), 0.9, np.float32)], -1)
        return kpts, np.asarray(scores, np.float32) * 0.9


def random_weights(workdir: Path, config: PipelineConfig) -> PipelineConfig:
    """Point ``config`` at random weights of its own architectures, saved in our formats."""
    from torchvision.models import detection as tvd

    builders = {"resnet50_fpn": tvd.fasterrcnn_resnet50_fpn, "resnet50_fpn_v2": tvd.fasterrcnn_resnet50_fpn_v2,
                "mobilenet_v3_large_fpn": tvd.fasterrcnn_mobilenet_v3_large_fpn,
                "mobilenet_v3_large_320_fpn": tvd.fasterrcnn_mobilenet_v3_large_320_fpn}
    torch.manual_seed(0)
    det_file = workdir / f"det_{config.detector.variant}.pth"
    torch.save(builders[config.detector.variant](weights=None, weights_backbone=None).state_dict(), det_file)
    name = config.pose.weights  # e.g. mmpose_res50_coco_256x192: depth and input size from the name
    depth = int(name.split("res")[1].split("_")[0])
    height, width = (int(v) for v in name.rsplit("_", 1)[1].split("x"))
    arch = PoseNetConfig(depth=depth, num_joints=17)
    pose_file = workdir / f"pose_{name}.pth"
    model = PoseResNet(arch)
    with torch.no_grad():  # heatmaps above the joint thresholds: every person is kept, as with real weights
        model.final_layer.bias.fill_(1.0)
    save_checkpoint(pose_file, model, PoseModelInfo(arch=arch, input_size=(width, height), layout="coco17",
                                                    color_order="rgb"))
    config.detector.weights, config.pose.weights = str(det_file), str(pose_file)
    return config


def ground_truth_boxes(gt_file: Path) -> list[Detections]:
    return [Detections(f.boxes.astype(np.float32), np.full(len(f), 0.95, np.float32))
            for f in read_sequence_any(gt_file).frames]


def synth(workdir: Path, frames: int, width: int, height: int, people: int) -> tuple[Path, Path]:
    from posetrack.synth.writer import write_dataset

    root = workdir / f"synth_{width}x{height}_{frames}"
    if not root.exists():
        write_dataset(str(root), split="val", sequences=1, frames=frames, people=people, seed=7, width=width,
                      height=height, fps=25.0, video=True)
    video = next((root / "videos" / "val").glob("*.mp4"))
    return video, root / "annotations" / "val" / f"{video.stem}.json"


def run_once(config: PipelineConfig, video: Path, boxes: list[Detections], out: Path, mode: str,
             warmup: Path) -> dict:
    baseline = mode == "baseline"
    config.run.overlap = mode == "pipeline"
    if baseline:
        config.run.read_ahead = 0
    pipeline = Pipeline(config)
    detector_batch = 1 if baseline else config.detector.batch_size
    pipeline.detector = DetectThenGroundTruth(pipeline.detector, boxes, detector_batch)
    network = OneBoxAtATime(pipeline.estimator) if baseline else pipeline.estimator
    pipeline.estimator = TemplatePoses(network)
    job = SequenceJob(video.stem, str(video))
    pipeline.run_sequence(SequenceJob(warmup.stem, str(warmup)), out, video=False)  # first-call allocations
    result = pipeline.run_sequence(job, out)
    return {"ms": result.times.ms_per_frame(), "fps": result.frames / result.seconds, "frames": result.frames,
            "elapsed": 1000 * result.seconds / max(result.frames, 1)}


def throughput(args, workdir: Path) -> None:
    rows = []
    for key in args.configs.split(","):
        name, frames = CONFIGS[key]
        frames = args.frames or frames
        video, gt = synth(workdir, frames, 1280, 720, 6)
        warmup = synth(workdir, 2, 1280, 720, 6)[0]
        boxes = ground_truth_boxes(gt)
        for mode in ("baseline", "serial", "pipeline"):
            config = load_config(PipelineConfig, name, [f"run.device={args.device}", "run.quiet=true",
                                                        *args.overrides])
            random_weights(workdir, config)
            start = time.perf_counter()
            stats = run_once(config, video, boxes, workdir / "out", mode, warmup)
            label = f"{key} {mode}"
            rows.append((label, stats))
            print(f"  {label}: {stats['frames']} frames, {stats['fps']:.2f} fps "
                  f"({time.perf_counter() - start:.0f} s incl. warm-up)", file=sys.stderr)
    where = (torch.cuda.get_device_name() if args.device == "cuda" else
             f"CPU, {torch.get_num_threads()} torch thread(s)")
    print(f"\nms/frame on a 1280x720 synth video, 6 people, {where}, random weights")
    print(f"{'run':<18}" + "".join(f"{s:>9}" for s in STAGES) + f"{'elapsed':>9}{'e2e fps':>9}{'ratio':>7}")
    base = {}
    for label, stats in rows:
        key = label.split()[0]
        base.setdefault(key, stats["fps"])  # the first row of each config is its baseline
        print(f"{label:<18}" + "".join(f"{stats['ms'][s]:>9.1f}" for s in STAGES)
              + f"{stats['elapsed']:>9.1f}{stats['fps']:>9.2f}{stats['fps'] / base[key]:>6.2f}x")


def demo_clips(workdir: Path, args) -> Path:
    """``posetrack synth`` clips with default options (``--sequences --frames --people --seed``, 640x480)."""
    from posetrack.synth.writer import write_dataset

    root = workdir / f"clips_{args.seed}_{args.sequences}x{args.frames or 100}_{args.people}p"
    if not root.exists():
        write_dataset(str(root), split="val", sequences=args.sequences, frames=args.frames or 100,
                      people=args.people, seed=args.seed, width=640, height=480, video=True)
    return root


def run_demo_models(config_name: str | None, overrides: list[str], root: Path, out: Path) -> dict:
    """The demo models over every clip of ``root`` (MP4 in, JSON and overlay video out, as ``posetrack run``),
    after a warm-up on a clip's first frames; speed, counts and mAP/MOTA."""
    import shutil

    from posetrack.demo.runner import DEMO_SETTINGS
    from posetrack.eval.evaluation import evaluate
    from posetrack.eval.files import load_pairs
    from posetrack.pipeline import StageTimes

    config = load_config(PipelineConfig, config_name, [*DEMO_SETTINGS, "run.device=cpu", "run.quiet=true",
                                                       *overrides])
    pipeline = Pipeline(config)
    gt_files = sorted((root / "annotations" / "val").glob("*.json"))
    shutil.rmtree(out, ignore_errors=True)
    pipeline.run_sequence(SequenceJob(gt_files[0].stem, str(root), str(gt_files[0])), out / "warmup", video=False)
    times, cpu, wall = StageTimes(), time.process_time(), time.perf_counter()
    for gt in gt_files:  # the images the ground truth lists: the prediction names them as poseval expects
        times.merge(pipeline.run_sequence(SequenceJob(gt.stem, str(root), str(gt)), out).times)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    gts, preds, scoreless = load_pairs(root / "annotations" / "val", out)
    metrics = evaluate(gts, preds, scoreless=scoreless)
    return {"frames": times.frames, "cpu_fps": times.frames / cpu, "wall_fps": times.frames / wall,
            "ms": times.ms_per_frame(), "boxes": times.boxes_per_frame(), "detected": times.counts["detected"],
            "mAP": metrics["ap"]["total"], "MOTA": metrics["mota"]["total"]}


def demo_table(rows: list[tuple[str, dict]], title: str) -> None:
    print(f"\n{title}")
    print(f"{'run':<16}" + "".join(f"{s:>8}" for s in STAGES)
          + f"{'boxes/f':>8}{'det':>6}{'cpu fps':>9}{'wall fps':>9}{'x cpu':>7}{'x wall':>7}{'mAP':>7}{'MOTA':>7}")
    base = rows[0][1]
    for label, r in rows:
        print(f"{label:<16}" + "".join(f"{r['ms'][s]:>8.1f}" for s in STAGES)
              + f"{r['boxes']:>8.1f}{r['detected']:>6}{r['cpu_fps']:>9.2f}{r['wall_fps']:>9.2f}"
              + f"{r['cpu_fps'] / base['cpu_fps']:>6.2f}x{r['wall_fps'] / base['wall_fps']:>6.2f}x"
              + f"{r['mAP']:>7.1f}{r['MOTA']:>7.1f}")


def demo_models(args, workdir: Path) -> None:
    root = demo_clips(workdir, args)
    clips = (f"{args.sequences} posetrack synth clip(s) x {args.frames or 100} frames, 640x480, {args.people} "
             f"people, seed {args.seed}, CPU, {torch.get_num_threads()} torch thread(s), demo models")
    rows = []
    if args.every:
        best = {}
        for _ in range(args.rounds):  # the N take turns; each keeps its fastest round (as timeit), same output
            for n in (int(v) for v in args.every.split(",")):
                r = run_demo_models("fast_cpu", [f"detector.every={n}", *args.overrides], root, workdir / "demo_out")
                print(f"  every={n}: {r}", file=sys.stderr)
                for key in ("cpu_fps", "wall_fps"):
                    r[key] = max(r[key], best.get(n, r)[key])
                best[n] = r
        rows = [(f"fast every={n}", r) for n, r in best.items()]
        rounds = f", best of {args.rounds} rounds" if args.rounds > 1 else ""
        demo_table(rows, f"detector.every N, fast config; {clips}{rounds}")
        return
    for key in args.configs.split(","):
        rows.append((key, run_demo_models(DEMO_RUNS[key], args.overrides, root, workdir / "demo_out")))
        print(f"  {rows[-1]}", file=sys.stderr)
    demo_table(rows, clips)


def memory_child(video: str, gt: str, out: str) -> None:
    config = load_config(PipelineConfig, "fast_cpu", ["run.quiet=true", "detector.source=file",
                                                      "detector.file=unused"])
    pipeline = Pipeline(config, poses=gt)  # poses mode loads no network; the stand-ins replace the stages
    pipeline.poses = None
    pipeline.estimator = TemplatePoses()
    boxes = ground_truth_boxes(Path(gt))
    boxes = boxes + boxes[-2:0:-1]  # ping-pong, as the long video plays the short one
    pipeline.detector = DetectThenGroundTruth(_NoDetector(), boxes, 1)
    start = time.perf_counter()
    result = pipeline.run_sequence(SequenceJob(Path(video).stem, video), out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"frames": result.frames, "peak_mb": peak_mb, "seconds": time.perf_counter() - start,
                      "ms": result.times.ms_per_frame()}))


class _NoDetector(BoxSource):
    needs_pixels = False

    def __call__(self, frames, frame_indices):
        return [Detections.empty() for _ in frame_indices]


def long_video(workdir: Path, base: Path, frames: int) -> Path:
    """``frames`` frames of the short synthetic ``base`` video played forwards and backwards (ping-pong), so
    the people keep moving smoothly however long the stream is."""
    import av

    from posetrack.io import VideoWriter

    out = workdir / f"long_{frames}.mp4"
    if out.exists():
        return out
    with av.open(str(base)) as container:
        images = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    cycle = images + images[-2:0:-1]
    with VideoWriter(out, 25, (images[0].shape[1], images[0].shape[0]), preset="ultrafast") as writer:
        for i in range(frames):
            writer.write(cycle[i % len(cycle)])
    return out


def memory(args, workdir: Path) -> None:
    base, gt = synth(workdir, 250, 320, 240, 6)
    rows = []
    for frames in (1000, args.long_frames):
        video = long_video(workdir, base, frames)
        cmd = [sys.executable, __file__, "--memory-child", str(video), str(gt), str(workdir / "mem_out")]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"  {frames} frames: {rows[-1]}", file=sys.stderr)
    print("\npeak RSS of a whole run (320x240, 6 people, DIS flow, overlay video, final JSON)")
    print(f"{'frames':>8}{'peak MB':>10}{'ms/frame':>10}")
    for row in rows:
        print(f"{row['frames']:>8}{row['peak_mb']:>10.0f}{1000 * row['seconds'] / row['frames']:>10.1f}")
    print(f"difference: {rows[1]['peak_mb'] - rows[0]['peak_mb']:.0f} MB (criterion: under 100 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="fast,paper",
                        help="comma-separated: fast, paper (random weights); or demo, demo-fast (the demo models)")
    parser.add_argument("--every", default=None, metavar="N,N,...",
                        help="detector.every values to compare with the demo models (fast config), e.g. 1,2,3,5")
    parser.add_argument("--rounds", type=int, default=1,
                        help="--every: run the N values in turn this many times, each keeping its fastest round")
    parser.add_argument("--sequences", type=int, default=3, help="demo-model runs: synth clips")
    parser.add_argument("--people", type=int, default=5, help="demo-model runs: people per clip")
    parser.add_argument("--seed", type=int, default=4242, help="demo-model runs: synth seed (unseen in training)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="config overrides for every run, e.g. --set tracker.flow=raft_small (repeatable)")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames per config (default: fast 24, paper 6; demo-model clips 100)")
    parser.add_argument("--memory", action="store_true", help="peak RSS after 1,000 and after 10,000 frames")
    parser.add_argument("--long-frames", type=int, default=10000)
    parser.add_argument("--workdir", default=None, help="keep synthetic videos here (default: a temp folder)")
    parser.add_argument("--memory-child", nargs=3, metavar=("VIDEO", "GT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        demo = args.every or any(key in DEMO_RUNS for key in args.configs.split(","))
        (memory if args.memory else demo_models if demo else throughput)(args, workdir)


if __name__ == "__main__":
    main()
