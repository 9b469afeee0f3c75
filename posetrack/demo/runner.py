"""``run_demo``: render clips, run the whole pipeline on them with the packaged models, score the result.

The clips come from ``world.write_clips`` (seeds the demo models never trained on). The pipeline is
``posetrack.pipeline.Pipeline``, the code ``posetrack run`` uses, with the demo detector (Faster R-CNN
MobileNetV3-Large-FPN at 320 px, the 320 variant's 150 proposals) and the demo pose network. Scoring is
``posetrack.eval.evaluate`` on the files written, exactly what ``posetrack eval OUT/data/annotations/demo OUT``
reports; ``OUT/metrics.json`` is its ``--json`` output.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..config import PipelineConfig, load_config
from .world import DEMO_SEED, write_clips

SPLIT = "demo"
# The pipeline settings of the demo, as --set overrides of the defaults (user --set values come after).
DEMO_SETTINGS = ("detector.variant=mobilenet_v3_large_320_fpn", "detector.weights=demo", "detector.min_size=320",
                 "detector.max_size=640", "pose.weights=demo")


@dataclass
class DemoResult:
    metrics: dict            # posetrack.eval.evaluate's result
    out: Path
    sequences: list[str]
    frames: int
    seconds: dict            # render, pipeline, eval


def demo_config(device: str = "auto", video: bool = True, overrides=()) -> PipelineConfig:
    extra = [f"run.device={device}", f"video.write={str(video).lower()}", "run.quiet=true"]
    return load_config(PipelineConfig, None, [*DEMO_SETTINGS, *extra, *overrides])


def run_demo(out: str | Path, seed: int = DEMO_SEED, sequences: int = 1, frames: int = 200, people: int = 6,
             device: str = "auto", video: bool = True, overrides=(), say=print) -> DemoResult:
    """Write ``OUT/data`` (clips + ground truth), ``OUT/<seq>.json`` (+ ``.mp4``) and ``OUT/metrics.json``."""
    from ..eval.evaluation import evaluate
    from ..eval.files import load_pairs
    from ..eval.tables import json_ready
    from ..formats.common import write_json
    from ..pipeline import Pipeline
    from ..pipeline import SequenceJob, ensure_writable

    out = Path(ensure_writable(out))
    data = out / "data"
    seconds = {}
    t0 = time.perf_counter()
    gt_files = write_clips(data, SPLIT, seed, sequences, frames, people)
    seconds["render"] = time.perf_counter() - t0
    say(f"rendered {sequences} synthetic clip(s) of {frames} frames, {people} people (seed {seed}) in {data}")

    t0 = time.perf_counter()
    config = demo_config(device, video, overrides)
    pipeline = Pipeline(config)
    done = 0
    for gt in gt_files:
        result = pipeline.run_sequence(SequenceJob(gt.stem, str(data), str(gt)), out, video=video)
        done += result.frames
        shown = f" + {result.video_path.name}" if result.video_path else ""
        say(f"{result.json_path.name}{shown}: {result.people} poses in {result.tracks} tracks, "
            f"{result.frames / max(result.seconds, 1e-9):.1f} frames/s on {pipeline.device}")
    seconds["pipeline"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    gts, preds, scoreless = load_pairs(data / "annotations" / SPLIT, out)
    metrics = evaluate(gts, preds, scoreless=scoreless)
    write_json(out / "metrics.json", json_ready(metrics))
    seconds["eval"] = time.perf_counter() - t0
    return DemoResult(metrics, out, [g.stem for g in gt_files], done, seconds)
