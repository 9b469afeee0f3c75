"""``posetrack batch``: every sequence of a data set, resumable, one bad file never stopping the rest.

A sequence whose final JSON (and video, when asked) is already in the output folder is skipped, so rerunning a
killed batch continues where it stopped; ``overwrite`` redoes everything. A sequence that fails (a corrupt video,
a missing image, a malformed detections file) is reported on one line and the batch goes on; the summary counts
done / skipped / failed sequences, and the exit code is 1 when any failed. Under torchrun the sequences are split
across processes (``posetrack.distributed``: each rank takes every N-th sequence on its own device) and rank 0
merges the summary.
"""
from __future__ import annotations

import logging
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import click

from ..config import PipelineConfig, output_formats
from ..errors import PosetrackError
from .. import distributed
from ..pipeline import (OutputPaths, StageTimes, discover_jobs, ensure_writable, refuse_replacing_input,
                        remove_finished_leftovers)

log = logging.getLogger("posetrack.run")


@dataclass
class Outcome:
    name: str
    status: str  # done | skipped | failed
    frames: int = 0
    seconds: float = 0.0
    message: str = ""


def run_batch(input_path: str, out_dir: str, config: PipelineConfig, split: str = "val", video: bool | None = None,
              overwrite: bool = False, run_eval: bool = False, poses: str | None = None) -> int:
    """Run the batch (this process's share of it under torchrun); returns the exit code."""
    jobs, gt_dir = discover_jobs(input_path, split)
    if video is None:
        video = gt_dir is None  # PoseTrack roots are for scoring: no overlays unless asked
    formats = output_formats(config.run.output_format)
    if run_eval and gt_dir is not None and not {"posetrack18", "posetrack17", "posetrack21"} & set(formats):
        raise PosetrackError("--eval scores PoseTrack files; add a PoseTrack format (--format 2018, 2017 or 2021), "
                             "or evaluate COCO results with eval-coco")
    quiet = config.run.quiet
    ranks = distributed.join(config.run.device)
    try:
        ensure_writable(out_dir)
        pipeline, problem = None, None
        try:
            from ..pipeline import Pipeline

            pipeline = Pipeline(config, poses=poses, device=ranks.device,
                                progress=ranks.is_main, restart=overwrite)
        except PosetrackError as err:
            problem = str(err)
        # Every rank learns whether every rank could start, so none waits forever for a rank that gave up.
        problems = [p for p in distributed.gather(ranks, problem) if p]
        if problems:
            raise PosetrackError(problems[0])
        start = time.perf_counter()
        outcomes, times = _run_jobs(pipeline, ranks.shard(jobs), out_dir, (video, formats), overwrite, quiet,
                                    ranks)
        wall = time.perf_counter() - start
        gathered = distributed.gather(ranks, ([o.__dict__ for o in outcomes], times.to_dict(), wall))
        merged = StageTimes()
        all_outcomes = []
        for rank_outcomes, rank_times, _ in gathered:
            all_outcomes += [Outcome(**o) for o in rank_outcomes]
            merged.merge(rank_times)
        wall = max(w for _, _, w in gathered)
        failed = [o for o in all_outcomes if o.status == "failed"]
        if ranks.is_main:
            _summary(all_outcomes, merged, wall, quiet, ranks.world_size)
            if run_eval:
                _evaluate(gt_dir, out_dir, bool(failed))
        # The ranks leave the process group together: a rank that tore its gloo connections down while rank 0
        # was still writing the summary made rank 0 abort at exit now and then ("terminate called without an
        # active exception", exit -6 after a complete run).
        distributed.barrier(ranks)
        return 1 if failed else 0
    finally:
        distributed.leave(ranks)


def _run_jobs(pipeline, jobs, out_dir, outputs, overwrite, quiet, ranks):
    video, formats = outputs
    from tqdm import tqdm

    say = (lambda text: None) if quiet else tqdm.write
    prefix = f"[rank {ranks.rank}] " if ranks.distributed else ""
    times = StageTimes()
    outcomes = []
    show = not quiet and ranks.is_main
    for job in tqdm(jobs, desc="sequences", unit="seq", disable=None if show else True, dynamic_ncols=True):
        paths = OutputPaths(Path(out_dir), job.name)
        if not overwrite and paths.is_done(video, formats):
            # A run killed after its final files were renamed into place, before it removed its partial file.
            remove_finished_leftovers(paths)
            outcomes.append(Outcome(job.name, "skipped"))
            say(f"{prefix}skipped {job.name}: {paths.json.name} exists (--overwrite redoes it)")
            continue
        try:
            refuse_replacing_input(paths, job.source, video)
            result = pipeline.run_sequence(job, out_dir, video=video, position=1)
        except PosetrackError as err:
            outcomes.append(Outcome(job.name, "failed", message=str(err)))
        except Exception as err:  # noqa: BLE001 - one broken sequence must not stop the data set
            log.debug("%s failed:\n%s", job.name, traceback.format_exc())
            outcomes.append(Outcome(job.name, "failed", message=f"{type(err).__name__}: {err}"))
        else:
            times.merge(result.times)
            outcomes.append(Outcome(job.name, "done", result.frames, result.seconds))
            say(f"{prefix}done {job.name}: {result.frames} frames, {result.tracks} tracks, "
                f"{result.frames / max(result.seconds, 1e-9):.1f} frames/s")
        if outcomes[-1].status == "failed" and not quiet:  # quiet: only the summary names it
            tqdm.write(f"{prefix}FAILED {job.name}: {outcomes[-1].message}", file=sys.stderr)
    return outcomes, times


def _summary(outcomes: list[Outcome], times: StageTimes, wall: float, quiet: bool, world: int) -> None:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    frames = sum(o.frames for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    err = sys.stderr
    if not quiet:
        procs = f" on {world} processes" if world > 1 else ""
        click.echo(f"batch: {len(outcomes)} sequences: {counts['done']} done, {counts['skipped']} skipped, "
                   f"{counts['failed']} failed; {frames} frames in {wall:.1f} s "
                   f"({frames / max(wall, 1e-9):.1f} frames/s{procs})")
        if times.frames:
            click.echo(times.table(), file=err)
    for o in failed:
        click.echo(f"failed: {o.name}: {o.message}", file=err)


def _evaluate(gt_dir: str | None, out_dir: str, some_failed: bool) -> None:
    if gt_dir is None:
        click.echo("note: --eval needs a PoseTrack root (ground truth); nothing evaluated",
                   file=sys.stderr)
        return
    from ..eval.evaluation import evaluate
    from ..eval.files import load_pairs
    from ..eval.pt21_eval import detect_benchmark, run_pt21
    from ..eval.tables import format_tables

    note = " (failed sequences scored as empty)" if some_failed else ""
    benchmark = detect_benchmark(gt_dir)
    if benchmark == "posetrack21":  # the PoseTrack21 kit's numbers for a PoseTrack21 root
        text, _ = run_pt21(benchmark, gt_dir, out_dir, missing_as_empty=some_failed)
        click.echo(f"Evaluation (PoseTrack21) of {gt_dir}{note}:\n{text}")
        return
    gts, preds, scoreless = load_pairs(gt_dir, out_dir, missing_as_empty=some_failed)
    result = evaluate(gts, preds, missing_as_empty=some_failed, scoreless=scoreless)
    click.echo(format_tables(result, title=f"Evaluation: {len(gts)} sequences of {gt_dir}{note}"))
