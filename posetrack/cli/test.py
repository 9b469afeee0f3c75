"""``posetrack test``: score a pose checkpoint on a validation set, as the official ``pose_estimation/valid.py``
(``posetrack.train.evaluate`` does the work)."""
from __future__ import annotations

import json

import click


@click.command("test")
@click.argument("config")
@click.option("--weights", "-w", required=True, metavar="W",
              help="Pose weights: a registry name (posetrack weights list), 'demo', or a checkpoint file.")
@click.option("--boxes", default=None, metavar="gt|FILE",
              help="COCO person boxes: 'gt' or a COCO detection results JSON (default: the config's val.boxes).")
@click.option("--results", default=None, metavar="PATH",
              help="Write what was scored: a COCO keypoint results JSON, or for PoseTrack a folder of "
                   "per-sequence prediction files.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config field, e.g. --set val.max_images=100 (repeatable).")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N (default: the config's device).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto", show_default=True,
              help="auto: fp16 on CUDA, fp32 on the CPU (what training's validation uses).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Person crops per forward.")
@click.option("--no-flip", is_flag=True, help="No flip test (the paper's numbers use it).")
@click.option("--json", "json_out", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def test_command(config, weights, boxes, results, overrides, device, precision, batch_size, no_flip, json_out,
                     quiet):
    """Evaluate pose WEIGHTS on the validation set of CONFIG (a training YAML or a shipped name such as
    coco/res50_256x192), without training: COCO keypoint AP or PoseTrack mAP / MOTA.

    \b
    Reproduce the paper's ResNet-50 256x192 COCO val2017 number (70.4 AP) with its detection boxes:
      posetrack test coco/res50_256x192 --weights official_res50_coco_256x192 \\
          --boxes data/coco/COCO_val2017_detections_AP_H_56_person.json --results results.json
    """
    from ..config import load_config
    from ..train.evaluate import evaluate_checkpoint, format_report
    from ..train.recipe import TrainConfig

    cfg = load_config(TrainConfig, config, overrides)
    if boxes is not None:
        cfg.val.boxes = boxes
    if batch_size is not None:
        cfg.val.batch_size = batch_size
    if no_flip:
        cfg.val.flip_test = False
    report = evaluate_checkpoint(cfg, weights, device or cfg.device, precision, results, progress=not quiet)
    if json_out:
        from ..eval.tables import json_ready

        click.echo(json.dumps(json_ready(report)))
    else:
        click.echo(format_report(report))


