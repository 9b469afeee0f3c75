"""Resuming a killed run in the middle of its video, with results byte-identical to a run never stopped.

Every ``run.snapshot_every`` frames (rounded up to whole detector batches, ``detector.every`` included) a
``SequenceRun`` records a point it can resume from, ``OUT/.<name>.resume.npz``: the tracker's complete state
(``track.state``: the queue of the last ``L_Q`` frames, live and lost tracks with their colours, the id counter,
every re-link), the byte length of the partial file at that frame, the frames the overlay still holds back
(re-linking may rename their ids for ``settle_frames`` frames), the overlay's trails and smoother, and the
overlay segments finished so far. The overlay is written in segments, each closed at a snapshot
(``OUT/.<name>.mp4.segNNNN``), and joined into ``OUT/<name>.mp4`` without re-encoding at the end (``io.join``).

A later run of the same source with the same settings finds the partial file and the snapshot, cuts the partial
file back to the snapshot's frame, drops segments written after it, decodes again the frames the tracker and the
overlay need (the last one for the optical flow, the held-back ones for drawing) and goes on from the next frame:
the detector sees the same batches, the tracker the same state, so every later line of the partial file is the one
an uninterrupted run writes. What identifies "the same" is in the partial file's header (``identity``): the
source's size and modification time, a hash of every setting that changes a result, the weights' and input files'
sizes and times, the device, the outputs asked for. A partial file from other settings is refused with one line
(``--restart`` discards it); one without a snapshot (killed in its first frames) is simply started again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path

from ..errors import PosetrackError
from ..track import TrackedFrame
from ..track.state import restore_tracker, tracker_state
from .lock import OutputLock
from .outputs import PartialWriter, read_partial
from .snapshot import load_snapshot, save_snapshot

log = logging.getLogger("posetrack.run")

SNAPSHOT_VERSION = 1
# Settings that change how a run goes, not what it writes.
_NEUTRAL = {"run": ("quiet", "read_ahead", "overlap", "snapshot_every")}


def _file_id(path) -> list | str | None:
    """A file's resolved path, size and modification time; a folder's file count, total size and newest time."""
    if path is None:
        return None
    p = Path(path)
    if p.is_file():
        st = p.stat()
        return [str(p.resolve()), st.st_size, st.st_mtime_ns]
    if p.is_dir():
        stats = [e.stat() for e in os.scandir(p) if e.is_file()]
        return [str(p.resolve()), len(stats), sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats),
                                                                                 default=0)]
    return str(path)  # a registry name


def config_hash(config) -> str:
    values = dataclasses.asdict(config)
    for section, keys in _NEUTRAL.items():
        for key in keys:
            values.get(section, {}).pop(key, None)
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_identity(run) -> dict:
    """What a partial file must share with this run to be resumed by it."""
    c, job, pipeline = run.config, run.job, run.pipeline
    return {"version": SNAPSHOT_VERSION, "source": _file_id(job.source), "gt": _file_id(job.gt),
            "template": _file_id(job.template), "config": config_hash(c), "pose_weights": _file_id(c.pose.weights),
            "detector_weights": _file_id(c.detector.weights), "detections": _file_id(c.detector.file),
            "poses": _file_id(pipeline.poses), "device": pipeline.device, "video": bool(run.video),
            "formats": list(run.formats)}


def _segment_files(paths) -> list[Path]:
    folder, name = paths.folder, paths.video.name
    # The finished segments, and the temporary files of a segment a killed run was writing.
    return sorted(folder.glob(f".{name}.seg*")) + sorted(folder.glob(f"..{name}.seg*.tmp"))


def remove_finished_leftovers(paths) -> None:
    """What a run killed after its final files were in place had still to remove: the partial file, the snapshot,
    the overlay segments and its lock (``posetrack batch`` skipping a finished sequence)."""
    paths.partial.unlink(missing_ok=True)
    (paths.folder / f".{paths.name}.resume.npz").unlink(missing_ok=True)
    for path in _segment_files(paths):
        path.unlink(missing_ok=True)
    OutputLock(paths.folder, paths.name).clear_stale()


class Resume:
    """One run's snapshots: decides at the start whether to resume, records snapshots, finishes the overlay."""

    def __init__(self, run, restart: bool):
        paths = run.paths
        self.paths = paths
        self.snapshot_file = paths.folder / f".{paths.name}.resume.npz"  # as in remove_finished_leftovers
        self.identity = run_identity(run)
        every = run.config.run.snapshot_every
        batch = run.feed.batch_size if getattr(run.feed, "needs_pixels", False) else 1
        # Snapshots fall between detector batches, so a resumed run's batches are the uninterrupted run's: a batch
        # holds ``batch`` detected frames, one in ``detector.every``, and ends with the last of them
        # (``feeds.detected_frames``).
        self.stride = 1 if run.given else run.config.detector.every
        group = batch * self.stride
        self.every = -(-every // group) * group if every > 0 else 0
        self.segments: list[str] = []
        self.state = None if restart else self._load()
        if self.state is None:
            self._discard()
        else:
            self.segments = list(self.state["segments"])
        keep = set(self.segments)
        for path in self._segment_files():
            if path.name not in keep:
                path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ the start

    def _load(self):
        partial = self.paths.partial
        if not (self.snapshot_file.is_file() and partial.is_file()):
            return None
        header, _ = read_partial(partial)
        theirs = header.get("identity")
        if theirs != self.identity:
            differ = sorted(k for k in self.identity if not isinstance(theirs, dict) or theirs.get(k) !=
                            self.identity[k])
            raise PosetrackError(f"{partial}: an earlier run with other settings ({', '.join(differ)} differ) "
                                 "left this partial result; rerun with its settings to resume it, or add --restart "
                                 "(batch: --overwrite) to discard it and start again")
        try:
            state = load_snapshot(self.snapshot_file)
        except (OSError, ValueError, KeyError) as err:
            log.warning("%s: unreadable (%s); starting again from the first frame", self.snapshot_file, err)
            return None
        missing = [s for s in state["segments"] if not (self.paths.folder / s).is_file()]
        if state.get("identity") != self.identity or partial.stat().st_size < state["partial_bytes"] or missing:
            log.warning("%s: does not fit %s; starting again from the first frame", self.snapshot_file, partial)
            return None
        return state

    def _discard(self) -> None:
        self.paths.partial.unlink(missing_ok=True)
        self.snapshot_file.unlink(missing_ok=True)

    def _segment_files(self) -> list[Path]:
        return _segment_files(self.paths)

    def open_partial(self, header: dict) -> PartialWriter:
        header = {**header, "identity": self.identity}
        if self.state is None:
            return PartialWriter(self.paths.partial, header)
        return PartialWriter(self.paths.partial, header, resume_at=(self.state["partial_bytes"],
                                                                    self.state["partial_frames"]))

    def next_segment(self) -> Path:
        return self.paths.folder / f".{self.paths.video.name}.seg{len(self.segments):04d}"

    def restore(self, run) -> None:
        """Put the snapshot into ``run`` (tracker, counters, held-back overlay frames) and decode again the frames
        it needs; ``run.start`` becomes the first frame to track."""
        state = self.state
        if state is None:
            return
        last = state["frame_index"]
        held = state["held"]
        first = held[0]["index"] if held else last
        images = {}
        frames = run.opened.source.frames(first)
        try:
            for frame in frames:
                images[frame.index] = frame.image
                if frame.index >= last:
                    break
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        lost = [i for i in [h["index"] for h in held] + [last] if i not in images]
        if lost:
            raise PosetrackError(f"{run.job.source}: frame {lost[0]} no longer decodes, the run cannot resume there; "
                                 "add --restart to start again")
        restore_tracker(run.tracker, state["tracker"], images[last])
        run.prev_image = images[last]
        if hasattr(run.flow, "submit"):  # the flow computed ahead starts from the last tracked frame
            run.flow.submit(images[last])
        fields = [f.name for f in dataclasses.fields(TrackedFrame)]
        run.held.extend((images[h["index"]], TrackedFrame(**{k: h[k] for k in fields}), h["index"]) for h in held)
        if run.trails is not None:
            run.trails.__dict__.update(state["trails"])
        if run.smoother is not None:
            run.smoother._state = state["smoother"]
        run.frames, run.people = state["frames"], state["people"]
        run.track_ids = set(state["track_ids"])
        run.start = state["next_index"]
        log.info("%s: resuming after frame %d", run.job.name, last)

    # ------------------------------------------------------------------ while running

    def due(self, frame_index: int) -> bool:
        """Whether to snapshot after frame ``frame_index``: the last frame of a detector batch, every
        ``snapshot_every`` frames."""
        return self.every > 0 and (frame_index + self.stride) % self.every == 0

    def snapshot(self, run, frame_index: int, next_index: int) -> None:
        """Close the overlay segment (after the encoder caught up) and record the run's state at ``frame_index``."""
        if run.writer is not None:
            if run.encoder is not None:
                run.encoder.drain()
            if run.writer.frames_written:
                run.writer.close()
                self.segments.append(self.next_segment_name())
                run.writer = run.new_writer(self.next_segment())
        fields = [f.name for f in dataclasses.fields(TrackedFrame)]
        trails = run.trails
        save_snapshot(self.snapshot_file, {
            "identity": self.identity, "frame_index": frame_index, "next_index": next_index,
            "partial_bytes": run.partial.tell(), "partial_frames": run.partial.frames,
            "frames": run.frames, "people": run.people, "track_ids": sorted(run.track_ids),
            "tracker": tracker_state(run.tracker),
            "held": [{"index": index, **{k: getattr(t, k) for k in fields}} for _, t, index in run.held],
            "segments": list(self.segments),
            "trails": None if trails is None else {k: trails.__dict__[k] for k in ("step", "_points", "_last_seen")},
            "smoother": None if run.smoother is None else run.smoother._state,
        })

    def next_segment_name(self) -> str:
        return self.next_segment().name

    # ------------------------------------------------------------------ the end

    def finish_video(self, writer) -> None:
        """The last segment closed, and every segment joined into ``OUT/<name>.mp4``."""
        from ..io.join import join_videos

        if writer.frames_written or not self.segments:
            writer.close()
            if writer.frames_written:
                self.segments.append(self.next_segment_name())
        else:
            writer.abort()  # a snapshot at the very end left nothing for the last segment
        if self.segments:
            join_videos([self.paths.folder / s for s in self.segments], self.paths.video)

    def cleanup(self) -> None:
        """The final files are in place: the snapshot and the segments go."""
        for path in self._segment_files():
            path.unlink(missing_ok=True)
        self.snapshot_file.unlink(missing_ok=True)
