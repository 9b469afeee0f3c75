"""``posetrack run LONG.mp4`` split across processes: under torchrun (one chunk per rank), or ``--shards K`` (K local
CPU processes started here, gloo between them, one thread each). The work of each rank is
``posetrack.pipeline.sharded``'s; here the group is joined or started, and a process that dies stops the rest.

``--shards K`` starts K processes (multiprocessing's ``spawn``) with the variables torchrun would set (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), so both ways run the same code. A shard that fails with an error
reports it through the group; one that dies without a word (killed, out of memory) is noticed here: the others
are told to stop (the stop file), given a moment, then terminated, and its chunk files removed.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from .. import distributed
from ..errors import PosetrackError

STOP_GRACE_SECONDS = 30.0  # how long the other shards get to notice the stop file before they are terminated


@dataclass
class ShardRequest:
    """What ``posetrack run`` hands to a sharded run: the job, where to write, and how to split."""

    job: object  # a SequenceJob
    out_dir: str
    shards: int | None  # --shards (None under torchrun)
    overlap: int | None  # --shard-overlap in frames (None: the default)
    poses: str | None = None


def wanted(shards: int | None) -> bool:
    """Whether this ``posetrack run`` is sharded: ``--shards`` other than 1, or several torchrun ranks."""
    return (shards is not None and shards != 1) or int(os.environ.get("WORLD_SIZE", "1")) > 1


def run_shards(config, request: ShardRequest):
    """The sharded run; the ``SequenceResult`` on the process that reports (rank 0, or the launcher), else None."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        if request.shards is not None:
            raise PosetrackError(f"--shards {request.shards} under torchrun: the torchrun processes are the shards; "
                                 "leave --shards out, or run without torchrun")
        try:
            return _rank(config, request)
        except PosetrackError:
            if int(os.environ.get("RANK", "0")) != 0:
                raise SystemExit(1) from None  # every rank knows the error; rank 0 says it, once
            raise
    from ..pipeline.sharded import plan_for

    if request.shards < 1:
        raise PosetrackError(f"--shards {request.shards}: give at least 1 (the number of processes)")
    plan_for(request.job, config, request.shards, request.overlap)  # a bad overlap: one line before any start
    if config.run.device == "auto":  # K processes on one machine: the CPU (torchrun gives each rank its GPU)
        config = dataclasses.replace(config, run=dataclasses.replace(config.run, device="cpu"))
    return _launch(config, request)


def _rank(config, request: ShardRequest):
    from ..pipeline import Pipeline
    from ..pipeline.sharded import ShardOptions, run_sharded

    ranks = distributed.join(config.run.device)
    try:
        pipeline, problem = None, None
        try:
            pipeline = Pipeline(config, poses=request.poses, device=ranks.device, progress=ranks.is_main)
        except PosetrackError as err:
            problem = str(err)
        problems = [p for p in distributed.gather(ranks, problem) if p]
        if problems:  # every rank learns it, so none waits for a rank that gave up
            raise PosetrackError(problems[0])
        options = ShardOptions(config.video.write, config.run.output_format, request.overlap)
        return run_sharded(pipeline, request.job, request.out_dir, options, ranks)
    finally:
        distributed.leave(ranks)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(rank: int, world: int, port: int, work: tuple, results) -> None:
    """One process of ``--shards``: join the group as ``rank`` and run its chunk; rank 0 reports."""
    config, request = work
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    import torch

    torch.set_num_threads(1)
    from ..cli.options import setup_logging

    setup_logging(config.run.quiet)
    try:
        result = _rank(config, dataclasses.replace(request, shards=None))
    except PosetrackError as err:
        if rank == 0:
            results.put(("error", str(err)))
        raise SystemExit(1) from None
    if rank == 0:  # the stage times hold a lock: sent as their dict
        results.put(("ok", dataclasses.replace(result, times=result.times.to_dict())))


def _launch(config, request: ShardRequest):
    from ..pipeline.sharded import ShardFiles

    context = multiprocessing.get_context("spawn")
    results = context.SimpleQueue()
    port = _free_port()
    procs = [context.Process(target=_child, args=(rank, request.shards, port, (config, request), results),
                             name=f"posetrack-shard-{rank}") for rank in range(request.shards)]
    for p in procs:
        p.start()
    files = ShardFiles(Path(request.out_dir), request.job.name, request.shards)
    try:
        dead = _wait(procs, files)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
    reported = results.get() if not results.empty() else None
    if reported is not None and reported[0] == "error":
        raise PosetrackError(reported[1])
    if dead is not None or reported is None:
        files.remove(range(request.shards))
        files.stop.unlink(missing_ok=True)
        rank, code = dead if dead is not None else (0, procs[0].exitcode)
        raise PosetrackError(f"shard {rank + 1} of {request.shards} stopped with exit code {code} (killed, or out "
                             "of memory?); the other shards were stopped and nothing was written")
    from ..pipeline import StageTimes

    result, times = reported[1], StageTimes()
    times.merge(result.times)
    return dataclasses.replace(result, times=times)


def _wait(procs, files) -> tuple[int, int] | None:
    """Wait for every process; the first (rank, exit code) that died without reporting through the group, if
    any (then the stop file is written and the others get ``STOP_GRACE_SECONDS`` to stop)."""
    from multiprocessing.connection import wait

    running, dead = list(procs), None
    while running:
        ready = wait([p.sentinel for p in running], timeout=STOP_GRACE_SECONDS if dead else None)
        if dead and not ready:
            break  # the caller terminates the rest
        for p in [p for p in running if not p.is_alive()]:
            running.remove(p)
            if p.exitcode not in (0, 1) and dead is None:  # 1: a reported error, which every rank raises
                dead = procs.index(p), p.exitcode
                files.stop.touch()
    return dead
