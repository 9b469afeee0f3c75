"""One video split across processes: the chunks each process tracks, and the stitching of their ids.

``ShardPlan`` cuts a video of N frames into K contiguous chunks; chunk k tracks its own frames plus the first M
frames of the next chunk (the overlap), decoding from its start; every chunk tracks the same number of frames. Two neighbouring chunks therefore both track the
M overlap frames: the earlier one continuously, the later one from a standing start (no queue of earlier frames,
no propagated joints). The joined output takes the earlier chunk's poses up to the middle of the overlap (the cut)
and the later chunk's from there on, so each chunk's tracker has had M/2 frames to settle on the frames it gives.

``match_tracks`` says which track of the later chunk is which track of the earlier one: on the overlap frames
every pair of tracks adds up the OKS of their poses in each frame both appear in (the same detector and pose
network saw the same pixels: the same person has the same pose, so OKS is near 1); the Hungarian method pairs the
tracks with the most shared agreement, and a pair counts when its mean OKS over those frames reaches
``MATCH_OKS``. A later track left unpaired is a new person. The whole overlap counts, not only the frames after
the cut: a person hidden from before the cut to after the earlier chunk's end is seen by both chunks before the
cut, and the later chunk's re-linking gives the person back that track's id when they reappear (matching from
the cut on, 1 of 20 tracks of a 1,000-frame benchmark clip got a new id that way).
``merge_chunks`` writes the partial file of the whole video from the chunks' partial files: each frame from the
chunk that keeps it, ids renumbered 0, 1, 2, ... in order of first appearance, as one continuous run numbers them.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..geometry import box_area, oks
from ..layouts import POSETRACK18
from ..track import relabel
from .outputs import read_partial, read_renames

MATCH_OKS = 0.5  # the same person on the same pixels scores ~1; two people side by side score far below
STOP_CHECK_FRAMES = 8  # how often a chunk looks for the stop file of a failed shard


@dataclass(frozen=True)
class ShardPlan:
    """``frames`` frames over ``shards`` chunks, neighbours sharing ``overlap`` frames."""

    frames: int
    shards: int
    overlap: int
    align: int = 1  # chunks start at multiples of this (the tracker's periodic work falls on the same frames)

    def __post_init__(self):
        if self.shards < 1:
            raise PosetrackError(f"--shards {self.shards}: give at least 1 (the number of processes)")
        chunk = self.frames // self.shards
        if self.shards > 1 and self.overlap < 2:
            raise PosetrackError(f"--shard-overlap {self.overlap}: the chunks must share at least 2 frames to "
                                 "match their tracks; give --shard-overlap 2 or more")
        if self.shards > 1 and self.overlap > chunk:
            raise PosetrackError(f"--shard-overlap {self.overlap} frames is longer than a chunk ({chunk} frames: "
                                 f"{self.frames} frames over {self.shards} shards); give a smaller "
                                 "--shard-overlap or fewer --shards")

    def start(self, k: int) -> int:
        """Chunk ``k``'s first frame. Every chunk tracks the same number of frames, (N + (K - 1) M) / K: the
        last has no overlap to track, so it takes M/K frames more of its own, and no rank waits for another."""
        if k >= self.shards:
            return self.frames
        return k * (self.frames - self.overlap) // self.shards // self.align * self.align

    def tracked(self, k: int) -> range:
        """The frames chunk ``k`` tracks: its own and the next chunk's first ``overlap``."""
        last = k == self.shards - 1
        return range(self.start(k), self.frames if last else min(self.start(k + 1) + self.overlap, self.frames))

    def cut(self, k: int) -> int:
        """The first frame after chunk ``k`` whose poses come from chunk ``k + 1`` (the middle of the overlap)."""
        return self.frames if k >= self.shards - 1 else self.start(k + 1) + self.overlap // 2

    def kept(self, k: int) -> range:
        """The frames of the joined output that come from chunk ``k``."""
        return range(0 if k == 0 else self.cut(k - 1), self.cut(k))

    def matched(self, k: int) -> range:
        """The frames on which chunk ``k + 1``'s tracks are matched to chunk ``k``'s: the whole overlap."""
        return range(self.start(k + 1), self.tracked(k).stop)


@dataclass
class Chunk:
    """What ``SequenceRun`` needs to track one chunk: its frames, and the file whose existence says stop."""

    frames: range
    stop_file: Path

    def view(self, source) -> FrameSpan:
        return FrameSpan(source, self)


class FrameSpan:
    """The frames of a chunk, from a ``FrameSource``: decoding skips to the chunk's start (earlier frames are
    decoded but not converted) and ends at its stop; stops with an error once another shard has failed."""

    def __init__(self, source, chunk: Chunk):
        self.source, self.chunk = source, chunk

    @property
    def info(self):
        return self.source.info

    def __iter__(self) -> Iterator:
        frames = self.chunk.frames
        for n, frame in enumerate(self.source.frames(frames.start)):
            if frame.index >= frames.stop:
                return
            if n % STOP_CHECK_FRAMES == 0 and self.chunk.stop_file.exists():
                raise ShardStopped(f"stopped at frame {frame.index}: another shard failed")
            yield frame

    def close(self) -> None:
        self.source.close()


class ShardStopped(PosetrackError):
    """This chunk was stopped because another shard failed (the one to report is that one's error)."""


def chunk_records(partial: Path, frames: range) -> Iterator[dict]:
    """The records of a chunk's partial file within ``frames``, re-linking renames applied."""
    renames = read_renames(partial)
    for record in read_partial(partial)[1]:
        if record["i"] >= frames.stop:
            return
        if record["i"] >= frames.start:
            if renames:
                record["track_ids"] = relabel(record["track_ids"], renames).tolist()
            yield record


def _poses(record: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(record["track_ids"])
    return (np.asarray(record["track_ids"], np.int64), np.asarray(record["keypoints"], np.float32).reshape(n, 17, 3),
            np.asarray(record["boxes"], np.float32).reshape(n, 4))


def match_tracks(earlier: list[dict], later: list[dict], threshold: float = MATCH_OKS) -> dict[int, int]:
    """``{later id: earlier id}`` for the tracks of two chunks that are the same people on the shared frames
    (records of the same frame indices, in order; see the module docstring)."""
    from scipy.optimize import linear_sum_assignment

    if [r["i"] for r in earlier] != [r["i"] for r in later]:
        raise ValueError("match_tracks needs the records of the same frames from both chunks")
    a_ids = sorted({t for r in earlier for t in r["track_ids"]})
    b_ids = sorted({t for r in later for t in r["track_ids"]})
    if not a_ids or not b_ids:
        return {}
    a_row, b_col = {t: n for n, t in enumerate(a_ids)}, {t: n for n, t in enumerate(b_ids)}
    agreement = np.zeros((len(a_ids), len(b_ids)))
    together = np.zeros((len(a_ids), len(b_ids)))
    for ra, rb in zip(earlier, later):
        ta, ka, ba = _poses(ra)
        tb, kb, bb = _poses(rb)
        if not len(ta) or not len(tb):
            continue
        rows, cols = [a_row[t] for t in ta.tolist()], [b_col[t] for t in tb.tolist()]
        sim = oks(ka, kb, box_area(ba), POSETRACK18.sigmas, b_areas=box_area(bb))
        np.add.at(agreement, np.ix_(rows, cols), sim)
        np.add.at(together, np.ix_(rows, cols), 1.0)
    rows, cols = linear_sum_assignment(-agreement)
    mean = agreement[rows, cols] / np.maximum(together[rows, cols], 1)
    return {b_ids[c]: a_ids[r] for r, c, m in zip(rows, cols, mean) if together[r, c] and m >= threshold}


def merge_chunks(plan: ShardPlan, partials: list[Path], out: Path, name: str) -> dict:
    """Write the partial file of the whole video (``out``) from the chunks' partial files; returns counts of
    what was stitched: ``matched`` and ``new`` tracks at the boundaries."""
    identity: dict[int, tuple] = {}  # this chunk's local id -> the person it is: (first chunk, its local id)
    numbers: dict[tuple, int] = {}  # person -> output id, in order of first appearance
    stats = {"matched": 0, "new": 0}
    with open(out, "w", encoding="utf-8") as f:
        header, _ = read_partial(partials[0])
        f.write(json.dumps({**header, "name": name}, separators=(",", ":")) + "\n")
        for k, partial in enumerate(partials):
            if k > 0:
                window = plan.matched(k - 1)
                same = match_tracks(list(chunk_records(partials[k - 1], window)),
                                    list(chunk_records(partial, window)))
                earlier, identity = identity, {}
                for later_id, earlier_id in same.items():
                    if earlier_id in earlier:  # an earlier track that began after the cut is not in the output
                        identity[later_id] = earlier[earlier_id]
                stats["matched"] += len(identity)
            expected = plan.kept(k).start
            for record in chunk_records(partial, plan.kept(k)):
                if record["i"] != expected:
                    raise PosetrackError(f"{partial}: frame {expected} is missing from the chunk's partial file")
                ids = [identity.setdefault(t, (k, t)) for t in record["track_ids"]]
                for person in ids:
                    if person not in numbers:
                        numbers[person] = len(numbers)
                        stats["new"] += person[0] == k and k > 0
                record["track_ids"] = [numbers[p] for p in ids]
                f.write(json.dumps(record, separators=(",", ":")) + "\n")
                expected += 1
            if k < len(partials) - 1 and expected != plan.kept(k).stop:
                raise PosetrackError(f"{partial}: the chunk ends at frame {expected}, before frame "
                                     f"{plan.kept(k).stop}; the video could not be decoded there")
    return stats
