"""``posetrack eval`` (PoseTrack mAP / MOTA / IDF1) and ``posetrack eval-coco`` (COCO keypoint AP)."""
from __future__ import annotations

import click

from ..errors import PosetrackError


@click.command("eval")
@click.argument("gt", type=click.Path(path_type=str))
@click.argument("pred", type=click.Path(path_type=str))
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the numbers to this file.")
@click.option("--per-sequence", is_flag=True, help="Print a table per sequence too.")
@click.option("--min-joint-score", type=float, default=None,
              help="Ignore predicted joints scoring below this for MOTA only (off by default: poseval counts "
                   "every written joint).")
@click.option("--missing-as-empty", is_flag=True, help="Score a missing prediction file as empty instead of failing.")
@click.option("--mot-engine", type=click.Choice(["fast", "motmetrics"]), default="fast", show_default=True,
              help="'motmetrics' feeds motmetrics.MOTAccumulator as poseval does; 'fast' replays it (same counts).")
@click.option("--benchmark", type=click.Choice(["auto", "posetrack18", "posetrack21", "posetrack21-mot"]),
              default="auto", show_default=True,
              help="posetrack18: poseval's mAP/MOTA; posetrack21: the PoseTrack21 kit's keypoint HOTA and mAP; "
                   "posetrack21-mot: its box HOTA/MOTA/IDF1 on the MOT layout; auto: told from the GT files.")
@click.option("--fix-known-bugs", is_flag=True,
              help="posetrack21: count a labeled frame without predictions per frame, not per sequence (kit "
                   "issue 10); the table header says so.")
@click.option("--use-ignore-regions", is_flag=True,
              help="posetrack21-mot: MOTA/IDF1 as evaluate_mot.py --use_ignore_regions (box HOTA always uses them).")
def eval_command(gt, pred, json_out, per_sequence, min_joint_score, missing_as_empty, mot_engine, benchmark,
                 fix_known_bugs, use_ignore_regions):
    """Score PoseTrack predictions PRED against ground truth GT (two folders of per-sequence files, or two files),
    with the same mAP, MOTA, precision and recall as the official poseval (and the identity measures IDF1, IDP,
    IDR and id switches on the same per-joint matching), or (PoseTrack21) the same keypoint HOTA, mAP and box
    HOTA/MOTA/IDF1 as the official PoseTrack21 kit."""
    from ..formats import write_json
    from ..eval.evaluation import evaluate
    from ..eval.files import load_pairs
    from ..eval.pt21_eval import detect_benchmark, run_pt21
    from ..eval.tables import format_tables, json_ready

    if benchmark == "auto":
        benchmark = detect_benchmark(gt)
    if benchmark != "posetrack18":
        text, result = run_pt21(benchmark, gt, pred, missing_as_empty=missing_as_empty, per_sequence=per_sequence,
                                fix_known_bugs=fix_known_bugs, use_ignore_regions=use_ignore_regions)
        click.echo(text)
        if json_out:
            write_json(json_out, json_ready(result))
        return
    if fix_known_bugs or use_ignore_regions:
        raise PosetrackError("--fix-known-bugs and --use-ignore-regions apply to the PoseTrack21 benchmarks only; "
                             "pass --benchmark posetrack21 or posetrack21-mot")

    gts, preds, scoreless = load_pairs(gt, pred, missing_as_empty)
    result = evaluate(gts, preds, min_joint_score=min_joint_score, missing_as_empty=missing_as_empty,
                      per_sequence=per_sequence, mot_engine=mot_engine, scoreless=scoreless)
    if per_sequence:
        for name, seq_result in result["sequences"].items():
            click.echo(format_tables(seq_result, title=f"Sequence {name}"))
            click.echo()
    click.echo(format_tables(result, title=f"Total ({len(gts)} sequences)"))
    click.echo(f"(MOTP above is CLEAR-MOT's, over matched joints; poseval with motmetrics >= 1.2 prints "
               f"{result['motp_poseval']['total']:.1f} because it also sums motmetrics' RAW rows.)")
    if json_out:
        write_json(json_out, json_ready(result))


@click.command("eval-coco")
@click.argument("gt", type=click.Path(path_type=str))
@click.argument("results", type=click.Path(path_type=str))
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the numbers to this file.")
def eval_coco_command(gt, results, json_out):
    """COCO keypoint AP of RESULTS (a COCO result list) against the COCO keypoint annotation file GT."""
    from ..formats import write_json
    from ..eval.cocoeval import coco_ap, format_coco
    from ..eval.tables import json_ready

    stats = coco_ap(gt, results)
    click.echo(format_coco(stats))
    if json_out:
        write_json(json_out, json_ready(stats))
