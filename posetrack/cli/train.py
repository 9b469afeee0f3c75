"""``posetrack train`` and ``posetrack train-detector``.

Both run as one process, or as many under ``torchrun --nproc-per-node N -m posetrack train CONFIG``.
"""
from __future__ import annotations

import math

import click

_SET = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                    help="Override a config field, e.g. --set optim.lr=5e-4 (repeatable).")
_RESUME = click.option("--resume", is_flag=True, help="Continue the run in --out from its last.pth.")
_OUT = click.option("--out", default=None, metavar="DIR", help="Run folder (default: the config's 'out').")
_QUIET = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")


@click.command("train")
@click.argument("config")
@_SET
@_RESUME
@_OUT
@_QUIET
def train(config, overrides, resume, out, quiet):
    """Train a SimpleBaseline pose network from CONFIG (a YAML file or a shipped name such as coco/res50_256x192).

    Writes OUT/config.yaml, OUT/log.jsonl, OUT/last.pth (resumable) and OUT/best.pth (best validation).
    """
    from ..train.pose_trainer import PoseTrainer
    from ..train.recipe import TrainConfig

    _fit_and_report(PoseTrainer, TrainConfig, config, overrides, out, resume, quiet)


@click.command("train-detector")
@click.argument("config")
@_SET
@_RESUME
@_OUT
@_QUIET
def train_detector(config, overrides, resume, out, quiet):
    """Fine-tune a torchvision Faster R-CNN to person boxes of a COCO-format data set, from CONFIG.

    The checkpoints (OUT/last.pth, OUT/best.pth) load as detector weights: --set detector.weights=OUT/best.pth.
    """
    from ..train.detector_trainer import DetectorTrainer
    from ..train.recipe import DetectorTrainConfig

    _fit_and_report(DetectorTrainer, DetectorTrainConfig, config, overrides, out, resume, quiet,
                    metric="person box AP")


def _fit_and_report(trainer_cls, config_cls, config, overrides, out, resume, quiet, metric=None) -> None:
    """Load CONFIG with its --set overrides, train, and print one summary line on the main process."""
    from ..config import load_config

    cfg = load_config(config_cls, config, overrides)
    trainer = trainer_cls(cfg, out=out, resume=resume, progress=not quiet)
    summary = trainer.fit()
    if trainer.ctx.is_main:
        best = summary["best"]
        shown = (f"best {metric or trainer.metric} {best:.2f} at epoch {summary['best_epoch']}"
                 if math.isfinite(best) else "no validation")
        click.echo(f"trained {summary['step']} steps; {shown}; checkpoints in {trainer.out}")
