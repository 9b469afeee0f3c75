"""``run_sharded``: one video tracked by every process of a group (torchrun's, or ``posetrack run --shards K``'s).

Each rank (``posetrack.distributed``) takes one chunk of ``ShardPlan`` (``posetrack.pipeline.shards``):

    1. track its frames and the overlap into ``OUT/.<name>.chunk<k>.partial.jsonl``;
    2. every rank learns how every chunk went; rank 0 stitches the chunks into
       ``OUT/.<name>.stitched.partial.jsonl``;
    3. each rank draws the overlay of the frames it keeps from the stitched ids (``.<name>.chunk<k>.mp4``, in
       parallel); rank 0 joins the parts (``posetrack.io.join``: a remux, not a second encoding), then writes the
       final files from the stitched partial file exactly as a single run does (``finalize``).

A chunk that fails writes ``OUT/.<name>.shards.stop``; the other chunks see it within a few frames and stop, so
no rank waits for work nobody needs. Every rank then raises the one line naming the failed shard, and every
chunk file is removed: the output folder holds the final files of the whole video, or nothing new. The folder
must be one every rank sees (one machine, or a shared file system).
"""
from __future__ import annotations

import contextlib
import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import distributed
from ..errors import PosetrackError
from .finalize import FinalFrames, finalize
from .inputs import SequenceJob, open_frames
from .outputs import OutputPaths, ensure_writable
from .sequence import SequenceOptions, SequenceResult, SequenceRun, _draw_and_write
from .shards import Chunk, ShardPlan, ShardStopped, merge_chunks
from .timing import StageTimes

log = logging.getLogger("posetrack.run")
DEFAULT_OVERLAP_SECONDS = 3.0


@dataclass
class ShardOptions:
    """``overlap``: frames the neighbouring chunks share (None: 3 s of the video, at most half a chunk)."""

    video: bool
    output_format: str
    overlap: int | None = None


def plan_for(job: SequenceJob, config, shards: int, overlap: int | None) -> ShardPlan:
    """The chunks of ``job``'s video over ``shards`` processes (one line for a bad ``shards`` or ``overlap``)."""
    if shards < 1:
        raise PosetrackError(f"--shards {shards}: give at least 1 (the number of processes)")
    opened = open_frames(job, config.run.folder_fps, read_ahead=0)
    with contextlib.closing(opened):
        info = opened.source.info
        frames = info.num_frames if info.num_frames is not None else _count_frames(info.path)
    if overlap is None:
        overlap = max(2, min(round(DEFAULT_OVERLAP_SECONDS * float(info.fps)), frames // max(shards, 1) // 2))
    # Re-linking samples each track's colours every relink_sample_every frames of its tracker's count: a chunk
    # starting off that beat would sample other frames than one run does, and re-link differently.
    tracker = config.tracker
    align = tracker.relink_sample_every if tracker.relink_seconds > 0 else 1
    return ShardPlan(frames, shards, overlap, max(1, align))


def _count_frames(path: str) -> int:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


class ShardFiles:
    """The files of a sharded run in the output folder."""

    def __init__(self, out_dir: Path, name: str, shards: int):
        self.out_dir, self.name, self.shards = out_dir, name, shards
        self.stop = out_dir / f".{name}.shards.stop"
        # Not <name>.partial.jsonl: that is a single run's, which a later run may resume.
        self.stitched = out_dir / f".{name}.stitched.partial.jsonl"

    def chunk_name(self, k: int) -> str:
        return f".{self.name}.chunk{k}"

    def partial(self, k: int) -> Path:
        return OutputPaths(self.out_dir, self.chunk_name(k)).partial

    def video(self, k: int) -> Path:
        return self.out_dir / f"{self.chunk_name(k)}.mp4"

    def remove(self, ks) -> None:
        for k in ks:
            self.partial(k).unlink(missing_ok=True)
            self.video(k).unlink(missing_ok=True)


def run_sharded(pipeline, job: SequenceJob, out_dir, options: ShardOptions, ranks) -> SequenceResult | None:
    """This rank's part of the sharded run of ``job`` (see the module docstring); rank 0 returns the result."""
    start = time.perf_counter()
    plan = plan_for(job, pipeline.config, ranks.world_size, options.overlap)
    out_dir = ensure_writable(out_dir)
    files = ShardFiles(out_dir, job.name, plan.shards)
    k = ranks.rank
    if ranks.is_main:
        files.stop.unlink(missing_ok=True)  # a stop file a killed earlier run left
    distributed.barrier(ranks)
    interrupted = False
    try:
        chunk = Chunk(plan.tracked(k), files.stop)
        result = _step(files, lambda: SequenceRun(pipeline, SequenceJob(files.chunk_name(k), job.source), out_dir,
                                                  SequenceOptions(False, options.output_format, chunk=chunk)).run())
        outcomes = _outcomes(plan, ranks, result)
        paths = OutputPaths(out_dir, job.name)
        merged = None
        if ranks.is_main:
            merged = _step(files, lambda: merge_chunks(plan, [files.partial(i) for i in range(plan.shards)],
                                                       files.stitched, job.name))
        stats = _outcomes(plan, ranks, merged)[0]
        if options.video:
            _outcomes(plan, ranks, _step(files, lambda: _draw_kept(pipeline.config, job, plan, files, k)))
        if not ranks.is_main:
            return None
        return _finish(pipeline.config, (job, paths, files), options, outcomes, (stats, start))
    except (KeyboardInterrupt, SystemExit):
        interrupted = True  # no collective: the other ranks were interrupted too, or torchrun stops them
        raise
    finally:
        if interrupted:
            files.remove([k])
        else:
            _clean(files, ranks, k)


def _clean(files: ShardFiles, ranks, k: int) -> None:
    distributed.barrier(ranks)  # every rank is done with every chunk file
    files.remove([k])
    if ranks.is_main:
        files.stop.unlink(missing_ok=True)
        files.stitched.unlink(missing_ok=True)


def _step(files: ShardFiles, work):
    """``work()``'s result, or ``("failed", message)`` (after writing the stop file) / ``("stopped", message)``."""
    try:
        return work()
    except ShardStopped as err:
        return ("stopped", str(err))
    except Exception as err:  # noqa: BLE001 - reported for this shard by every rank, then raised as one line
        message = str(err) if isinstance(err, PosetrackError) else f"{type(err).__name__}: {err}"
        log.debug("shard failed:\n%s", traceback.format_exc())
        files.stop.touch()
        return ("failed", message)


def _outcomes(plan: ShardPlan, ranks, result) -> list:
    """Every rank's result; one line naming the first failed shard if any failed."""
    outcome = result.times.to_dict() if isinstance(result, SequenceResult) else result
    outcomes = distributed.gather(ranks, outcome)
    for i, o in enumerate(outcomes):
        if isinstance(o, tuple) and o[0] == "failed":
            frames = plan.tracked(i)
            raise PosetrackError(f"shard {i + 1} of {plan.shards} (frames {frames.start}-{frames.stop - 1}) "
                                 f"failed: {o[1]}; the other shards were stopped and nothing was written")
    stopped = [o for o in outcomes if isinstance(o, tuple)]
    if stopped:  # a shard stopped with no failed one: a stop file nobody of this run wrote
        raise PosetrackError(f"{stopped[0][1]}; nothing was written")
    return outcomes


def _draw_kept(config, job: SequenceJob, plan: ShardPlan, files: ShardFiles, k: int) -> bool:
    """The overlay of the frames chunk ``k`` keeps, from the stitched (and post-processed) final frames."""
    from ..io import VideoWriter
    from ..viz import Trails

    v, kept = config.video, plan.kept(k)
    final = FinalFrames(files.stitched, config.post)
    trails = Trails(v.trails) if v.trails > 0 else None
    opened = open_frames(job, config.run.folder_fps, config.run.read_ahead)
    with contextlib.closing(opened):
        info = opened.source.info
        people = iter(final)
        index, frame = -1, None
        with VideoWriter(files.video(k), info.fps, (info.width, info.height), crf=v.crf, preset=v.preset) as w:
            for decoded in opened.source.frames(kept.start):
                if decoded.index >= kept.stop:
                    break
                while index < decoded.index:
                    index, (frame, _) = index + 1, next(people)
                    if trails is not None and index < kept.start:  # an earlier part's frame: its trails go on
                        boxes = np.asarray(frame.boxes, np.float32).reshape(-1, 4)
                        trails.update(frame.track_ids, (boxes[:, :2] + boxes[:, 2:]) / 2)
                _draw_and_write(w, decoded.image, frame, v, trails)
    return True


def _finish(config, where, options: ShardOptions, outcomes: list, stats_start) -> SequenceResult:
    """Rank 0: the joined overlay, then the final files from the stitched partial file."""
    from ..config import output_formats
    from ..io.join import join_videos

    (job, paths, files), (stats, start) = where, stats_start
    times = StageTimes()
    for o in outcomes:
        times.merge(o)
    with times("write"):
        if options.video:
            how = join_videos([files.video(i) for i in range(files.shards)], paths.video, config.video.crf,
                              config.video.preset)
            log.debug("%s: overlay parts joined by %s", paths.video, how)
        results = paths.results(output_formats(options.output_format))
        final = finalize(files.stitched, results, config.post)
        frames = final.count()
        people = sum(len(frame) for frame, _ in final)
        tracks = len({t for frame, _ in final for t in frame.track_ids.tolist()})
    times.frames, times.wall = frames, time.perf_counter() - start  # the work of every rank per frame written
    log.info("%s: %d shards stitched: %d tracks matched across the boundaries, %d new", job.name, files.shards,
             stats["matched"], stats["new"])
    return SequenceResult(job.name, frames, people, tracks, times.wall, times, next(iter(results.values())),
                          paths.video if options.video else None)
