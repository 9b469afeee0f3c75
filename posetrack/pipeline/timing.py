"""Per-stage wall-clock time: where a run spends its milliseconds per frame.

Stages are those of the pipeline: ``decode`` (waiting for the next frame; decoding itself overlaps inference on
the read-ahead thread), ``detect``, ``flow``, ``pose``, ``track`` (the tracker's own work: propagation, NMS,
similarity, matching) and ``write`` (partial results, overlay drawing and video encoding). Beside the times, two
counts: ``detected`` (frames the detector looked at) and ``boxes`` (boxes that reached the pose network).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

STAGES = ("decode", "detect", "flow", "pose", "track", "write")
COUNTS = ("detected", "boxes")


class StageTimes:
    """Accumulated seconds per stage and the number of frames they cover; ``merge`` adds another run's.

    Stages may run on several threads at once (``run.overlap``): ``seconds`` is the work of each stage wherever
    it ran, so the stages can add up to more than ``wall``, the elapsed time the frames took end to end."""

    def __init__(self):
        self.seconds: dict[str, float] = {stage: 0.0 for stage in STAGES}
        self.counts: dict[str, int] = {name: 0 for name in COUNTS}
        self.frames = 0
        self.wall = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def count(self, name: str, n: int) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + int(n)

    def merge(self, other: "StageTimes | dict") -> None:
        data = other.to_dict() if isinstance(other, StageTimes) else other
        for stage, seconds in data["seconds"].items():
            self.add(stage, seconds)
        for name, n in data.get("counts", {}).items():
            self.count(name, n)
        self.frames += data["frames"]
        self.wall += data.get("wall", 0.0)

    def to_dict(self) -> dict:
        return {"seconds": dict(self.seconds), "counts": dict(self.counts), "frames": self.frames, "wall": self.wall}

    def boxes_per_frame(self) -> float:
        """Boxes that reached the pose network, per frame."""
        return self.counts.get("boxes", 0) / max(self.frames, 1)

    def ms_per_frame(self) -> dict[str, float]:
        n = max(self.frames, 1)
        return {stage: 1000 * s / n for stage, s in self.seconds.items()}

    def table(self) -> str:
        """One line per stage: ms/frame and share of the stages' work, then the end-to-end rate, e.g. for the end
        of ``posetrack run``. With overlapping stages the work adds up to more than the elapsed time."""
        work = sum(self.seconds.values())
        ms = self.ms_per_frame()
        lines = [f"{'stage':<8}{'ms/frame':>10}{'share':>8}"]
        for stage in self.seconds:
            share = 100 * self.seconds[stage] / work if work > 0 else 0.0
            lines.append(f"{stage:<8}{ms[stage]:>10.1f}{share:>7.0f}%")
        n = max(self.frames, 1)
        lines.append(f"{'work':<8}{1000 * work / n:>10.1f}")
        elapsed = self.wall if self.wall > 0 else work
        fps = self.frames / elapsed if elapsed > 0 else 0.0
        lines.append(f"{'elapsed':<8}{1000 * elapsed / n:>10.1f}   ({fps:.1f} frames/s over {self.frames} frames)")
        if any(self.counts.values()):  # a run with a detector or a pose network (not given poses)
            lines.append(f"{'boxes':<8}{self.boxes_per_frame():>10.1f}   per frame to the pose network; detector on "
                         f"{self.counts.get('detected', 0)} of {self.frames} frames")
        return "\n".join(lines)


class TimedFlow:
    """An optical-flow callable whose calls count as the ``flow`` stage (the serial loop's; ``FlowAhead`` times
    its worker's calls the same way)."""

    def __init__(self, flow, times: StageTimes):
        self.flow = flow
        self.times = times

    def __call__(self, prev_frame, frame):
        with self.times("flow"):
            return self.flow(prev_frame, frame)
