"""A training run -> the packaged demo file: fp16 weights, the training config, the validation numbers and the
loss curve inside (``meta``), so the file says how it was made.

    python -m posetrack.demo.export pose runs/demo_pose posetrack/data/demo_pose.pth
    python -m posetrack.demo.export detector runs/demo_detector_finetune posetrack/data/demo_detector.pth \
        --first-stage runs/demo_detector

The run's ``best.pth`` (best validation) is taken when it exists, else ``last.pth`` (a run stopped early). A
later-stage run (a fine-tune started from another run's checkpoint) records the runs before it too:
``meta["demo"]["first_stage"]`` (and, for a third and fourth stage, ``["second_stage"]``, ``["third_stage"]``; for
a run started from a packaged file, ``["previous"]``) holds each one's config, epoch,
step, loss and validation numbers.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..errors import PosetrackError


def run_checkpoint(run: Path) -> Path:
    for name in ("best.pth", "last.pth"):
        if (run / name).is_file():
            return run / name
    raise PosetrackError(f"{run}: no best.pth or last.pth; train first (scripts/train_demo_models.sh)")


def loss_curve(run: Path, points: int = 12) -> list[dict]:
    """A few (epoch, step, loss) rows of the run's ``log.jsonl``, first and last included."""
    path = run / "log.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    if len(rows) > points:
        picks = sorted({round(i * (len(rows) - 1) / (points - 1)) for i in range(points)})
        rows = [rows[i] for i in picks]
    return [{k: r[k] for k in ("epoch", "step", "loss") if k in r} for r in rows]


def provenance(run: Path, source: Path, extra: dict | None = None) -> dict:
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"
    return {"checkpoint": source.name, "loss_curve": loss_curve(run), "torch": str(torch.__version__),
            "device": device, "script": "scripts/train_demo_models.sh", **(extra or {})}


def export_pose(run: str | Path, dest: str | Path, extra: dict | None = None) -> dict:
    from ..pose.checkpoint import load_pose_model, save_checkpoint

    run = Path(run)
    source = run_checkpoint(run)
    model, info = load_pose_model(source)
    info.meta = {**info.meta, "demo": provenance(run, source, extra)}
    save_checkpoint(dest, model, info, half=True)
    return info.meta


def stage_summary(run: str | Path) -> dict:
    """What a later-stage file should say of an earlier run of its chain."""
    from ..checkpoint_io import read_checkpoint

    source = run_checkpoint(Path(run))
    meta = read_checkpoint(source).get("meta") or {}
    keep = ("epoch", "step", "loss", "val", "config")
    return {"checkpoint": source.name, **{k: meta[k] for k in keep if k in meta},
            "loss_curve": loss_curve(Path(run)), **({"demo": meta["demo"]} if "demo" in meta else {})}


def previous_file(path: str | Path) -> dict:
    """What a stage started from a packaged file should say of it: its name, hash and record."""
    import hashlib

    from ..checkpoint_io import read_checkpoint

    path = Path(path)
    meta = read_checkpoint(path).get("meta") or {}
    keep = ("epoch", "step", "loss", "val", "config", "demo", "score_calibration")
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            **{k: meta[k] for k in keep if k in meta}}


def export_detector(run: str | Path, dest: str | Path, extra: dict | None = None) -> dict:
    from ..checkpoint_io import read_checkpoint

    run = Path(run)
    source = run_checkpoint(run)
    raw = read_checkpoint(source)
    if not isinstance(raw, dict) or raw.get("format") != "posetrack.detector":
        raise PosetrackError(f"{source}: not a posetrack train-detector checkpoint")
    state = {k: v.half() if v.is_floating_point() else v for k, v in raw["model"].items()}
    meta = {**raw["meta"], "demo": provenance(run, source, extra)}
    with atomic_path(dest) as tmp:
        torch.save({"format": raw["format"], "model": state, "meta": meta}, tmp)
    return meta


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Export a demo training run as a packaged fp16 checkpoint.")
    parser.add_argument("kind", choices=["pose", "detector"])
    parser.add_argument("run")
    parser.add_argument("dest")
    parser.add_argument("--note", action="append", default=[], metavar="KEY=VALUE",
                        help="Extra provenance recorded in meta['demo'] (repeatable).")
    parser.add_argument("--first-stage", metavar="RUN", help="The first run of this model's chain (recorded).")
    parser.add_argument("--second-stage", metavar="RUN",
                        help="For a third stage: the run it was fine-tuned from, itself started from --first-stage.")
    parser.add_argument("--third-stage", metavar="RUN",
                        help="For a fourth stage: the run it was fine-tuned from, itself from --second-stage.")
    parser.add_argument("--previous", metavar="FILE",
                        help="A packaged file this run was fine-tuned from: its record (meta) is kept inside.")
    a = parser.parse_args(argv)
    bad = [n for n in a.note if "=" not in n]
    if bad:
        parser.error(f"--note {bad[0]!r}: give KEY=VALUE")
    extra = dict(n.split("=", 1) for n in a.note)
    try:
        for key in ("first_stage", "second_stage", "third_stage"):
            if getattr(a, key):
                extra[key] = stage_summary(getattr(a, key))
        if a.previous:
            extra["previous"] = previous_file(a.previous)
        meta = (export_pose if a.kind == "pose" else export_detector)(a.run, a.dest, extra)
    except PosetrackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    val = {k: round(v, 2) for k, v in (meta.get("val") or {}).items() if k in ("mAP", "MOTA", "AP", "AP50")}
    size = Path(a.dest).stat().st_size / 1e6
    print(f"{a.dest}: {size:.1f} MB, epoch {meta.get('epoch')}, step {meta.get('step')}, loss {meta.get('loss')}, "
          f"val {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
