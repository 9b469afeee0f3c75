"""``SequenceRun``: one sequence going through the pipeline, frame by frame.

Everything one sequence needs lives on the run object: its opened frames and feed, the tracker and the optical
flow, the pose stage, the outputs (partial JSONL, overlay writer and its encoder thread), the stage timers and the
counts. ``run()`` is the whole story:

    for each frame (decoded ahead; detector batched):
        flow F(k-1 -> k) if the tracker needs it        (computed ahead, as soon as both frames are decoded)
        tracker.propose -> pose network -> tracker.assign  (§3.1-3.3, §2, Algorithm 1), each stage timed
        the frame's people -> partial file; overlay drawn and encoded (on the encoder thread), held back
        ``tracker.settle_frames`` frames when re-linking may still rename an id (the partial file records renames)
        every ``run.snapshot_every`` frames: a point a stopped run resumes from (``pipeline.resume``)
    partial file -> final JSON (temporary name, then rename)

Frames are not kept: each is decoded, tracked, drawn, encoded and dropped, so memory stays flat (the overlay holds
the last ``settle_frames`` of them while re-linking may rename an id: 25 frames at 25 fps).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import output_formats
from ..errors import PosetrackError
from ..io.ahead import ReadAhead
from ..track import FlowTracker, TrackedFrame, relabel
from ..viz import Trails
from .estimate import PoseStage
from .feeds import FrameWork, box_source_for, detected_frames, given_frames
from .finalize import finalize
from .inputs import SequenceJob, open_frames
from .outputs import OutputPaths, ensure_writable
from .overlap import BackgroundWriter, FlowAhead
from .resume import Resume
from .timing import StageTimes, TimedFlow


@dataclass
class SequenceResult:
    name: str
    frames: int
    people: int
    tracks: int
    seconds: float
    times: StageTimes
    json_path: Path
    video_path: Path | None


@dataclass
class SequenceOptions:
    """What a caller may choose per sequence (else the config's ``video.write`` and ``run.output_format``)."""

    video: bool
    output_format: str
    position: int = 0  # the row of its progress bar (batch shows the sequence bar below the data set's)
    restart: bool = False  # discard an earlier run's partial file instead of resuming it (pipeline.resume)
    # A chunk of one video split across processes (a ``posetrack.pipeline.shards.Chunk``): only its frames are
    # tracked, into the partial file, which is kept for the stitching; no final file is written; never resumed.
    chunk: object | None = None


class SequenceRun:
    """One sequence of ``pipeline`` into ``out_dir`` (see the module docstring); ``run()`` once."""

    def __init__(self, pipeline, job: SequenceJob, out_dir: str | os.PathLike, options: SequenceOptions):
        self.pipeline, self.config, self.job = pipeline, pipeline.config, job
        self.out_dir = out_dir
        self.video, self.position, self.chunk = options.video, options.position, options.chunk
        self.restart = options.restart or options.chunk is not None
        self.formats = output_formats(options.output_format)
        post = self.config.post
        # Gap filling and Savitzky-Golay need whole tracks: the overlay is drawn once they are known, at the end.
        self.draw_at_end = post.fill_gaps > 0 or post.smooth == "savgol"
        self.times = StageTimes()
        self.given = pipeline.poses is not None
        self.prev_image: np.ndarray | None = None
        self.frames = self.people = self.start = 0  # start: the first frame to track (after a resume point)
        self.track_ids: set[int] = set()
        self.held: collections.deque = collections.deque()  # overlay frames whose ids may still be renamed

    def run(self) -> SequenceResult:
        c, times = self.config, self.times
        start = time.perf_counter()
        self.opened = opened = open_frames(self.job, c.run.folder_fps, c.run.read_ahead)
        with contextlib.ExitStack() as stack:
            stack.callback(opened.close)
            if self.chunk is not None:
                opened.source = self.chunk.view(opened.source)
            self.feed = box_source_for(self.pipeline, self.job, opened)
            self.paths = paths = OutputPaths(ensure_writable(self.out_dir), self.job.name, self.job.json_name)
            paths.remove_leftovers()
            estimator = self.pipeline.estimator
            self.pose = PoseStage(estimator) if estimator is not None else None
            self.flow = self._flow(stack)
            info = opened.source.info
            self.tracker = FlowTracker(self.pipeline.tracker_config, flow=self.flow, fps=float(info.fps))
            header = {"name": self.job.name, "vid_id": opened.vid_id, "layout": "posetrack18",
                      "source": self.job.source, "fps": float(info.fps), "width": info.width,
                      "height": info.height}
            self.resume = Resume(self, self.restart)
            self.partial = self.resume.open_partial(header)
            stack.callback(self.partial.close)
            # The overlay goes to segments, one closed at each snapshot, joined at the end (pipeline.resume).
            self.writer = self.new_writer(self.resume.next_segment()) if self.video and not self.draw_at_end else None
            self.smoother = None
            if self.writer is not None and c.post.smooth == "one-euro":  # the overlay shows what the JSON holds
                from ..results import OneEuroSmoother

                self.smoother = OneEuroSmoother(c.post, float(info.fps))
            self.encoder = (BackgroundWriter(depth=4, times=times) if c.run.overlap and self.writer is not None
                            else None)
            self.trails = Trails(c.video.trails) if c.video.trails > 0 else None
            try:
                self.resume.restore(self)
                self._loop()
                if self.encoder is not None:
                    self.encoder.close()
                if self.writer is not None:
                    with times("write"):
                        self.resume.finish_video(self.writer)
            except BaseException:
                if self.encoder is not None:
                    self.encoder.abort()
                if self.writer is not None:
                    self.writer.abort()
                raise
        if self.chunk is not None:  # the caller stitches the chunks' partial files
            self.resume.cleanup()
            times.frames, times.wall = self.frames, time.perf_counter() - start
            return SequenceResult(self.job.name, self.frames, self.people, len(self.track_ids), times.wall, times,
                                  paths.partial, None)
        results = paths.results(self.formats)
        with times("write"):
            final = finalize(paths.partial, results, c.post)
            if self.video and self.draw_at_end:
                self._draw_all(final)
            frames = final.count()
            paths.partial.unlink()
            self.resume.cleanup()
        times.frames = self.frames
        times.wall = time.perf_counter() - start
        tracks = len(self.track_ids - set(self.tracker.renames))
        return SequenceResult(self.job.name, frames, self.people, tracks, times.wall, times,
                              next(iter(results.values())), paths.video if self.video else None)

    # ------------------------------------------------------------------ setup

    def _flow(self, stack: contextlib.ExitStack):
        """The flow callable of this sequence: computed ahead on a worker thread with ``run.overlap``, else on
        the main loop; either way its work is timed as ``flow``."""
        if self.config.run.overlap and self.pipeline.needs_flow():
            ahead = FlowAhead(self.pipeline.flow, self.times)
            stack.callback(ahead.close)
            return ahead
        return TimedFlow(self.pipeline.flow, self.times)

    def new_writer(self, path: Path):
        return self._video_writer(path, self.opened.source.info)

    def _video_writer(self, path: Path, info):
        from ..io import VideoWriter

        v = self.config.video
        return VideoWriter(path, info.fps, (info.width, info.height), crf=v.crf, preset=v.preset)

    def _items(self):
        """The frames and their feed, with the next detector batch computed ahead when overlapping."""
        on_decode = self.flow.submit if isinstance(self.flow, FlowAhead) else None
        source = self.opened.source if self.chunk else self.opened.source.frames(self.start)
        if self.given:
            return given_frames(source, self.feed, self.times, on_decode)
        items = detected_frames(source, self.feed, self.times, on_decode, self.config.detector)
        if self.config.run.overlap:
            # The next detector batch runs while this one is tracked: room for two batches of frames.
            batch = self.feed.batch_size if self.feed.needs_pixels else 1
            items = ReadAhead(items, 2 * max(1, batch), name="posetrack-detect")
        return items

    # ------------------------------------------------------------------ the loop

    def _loop(self) -> None:
        from tqdm import tqdm

        opened = self.opened
        bar = tqdm(total=len(self.chunk.frames) if self.chunk else opened.num_frames, desc=opened.source.info.name,
                   unit="frame", position=self.position, leave=self.position == 0,
                   disable=None if self.pipeline.progress else True, dynamic_ncols=True, initial=self.frames)
        next_index = self.chunk.frames.start if self.chunk else self.start
        items = self._items()
        with contextlib.closing(items), bar:
            for work in items:
                frame = work.frame
                for missing in range(next_index, frame.index):  # frames that failed to decode: no people
                    self.partial.write_frame(missing, opened.meta(missing))
                tracked, raw = self._track(work)
                if isinstance(self.flow, FlowAhead):
                    self.flow.done(frame.image)
                self._write(frame, tracked, raw)
                next_index = frame.index + 1
                self.frames += 1
                self.people += len(tracked)
                self.track_ids.update(tracked.track_ids.tolist())
                bar.update(1)
                if self.resume.due(frame.index):
                    self.resume.snapshot(self, frame.index, next_index)
        while self.held:
            self._draw(*self.held.popleft()[:2])
        if self.frames == 0:
            raise PosetrackError(f"{opened.source.info.path}: no frame could be decoded")
        if self.given and opened.source.info.kind == "video" and next_index < min(
                len(self.feed.frames), self.chunk.frames.stop if self.chunk else len(self.feed.frames)):
            raise PosetrackError(f"{self.job.source}: the video ends after {next_index} frames but the poses of "
                                 f"{self.feed.name} list {len(self.feed.frames)} images; give the poses made from "
                                 "this video")
        if opened.template is not None:  # a PoseTrack prediction lists every ground-truth image
            for missing in range(next_index, len(opened.template)):
                self.partial.write_frame(missing, opened.meta(missing))

    def _track(self, work: FrameWork) -> tuple[TrackedFrame, np.ndarray | None]:
        """Flow, then propose -> pose network -> assign (or the given poses' ids); each stage timed on its own.
        Returns the tracked people and, for COCO results, the network's own joints of each."""
        times, tracker, image = self.times, self.tracker, work.frame.image
        flow = self.flow(self.prev_image, image) if tracker.needs_flow(self.given) else None
        self.prev_image = image
        if self.given:
            with times("track"):
                return tracker.update_frame(image, work.poses, flow), None
        with times("track"):
            proposal = tracker.propose(image, work.boxes, work.scores, flow)
        keypoints, scores, raw = np.zeros((0, 17, 3), np.float32), np.zeros(0, np.float32), None
        times.count("boxes", len(proposal.boxes))
        if len(proposal.boxes):
            with times("pose"):
                keypoints, scores, raw = self.pose(image, proposal.boxes, proposal.scores)
        with times("track"):
            tracked = tracker.assign(keypoints, scores, *proposal)
        wanted = raw is not None and "coco" in self.formats and len(tracked)
        return tracked, raw[tracked.pose_index] if wanted else None

    def _write(self, frame, tracked: TrackedFrame, raw: np.ndarray | None) -> None:
        renamed = self.tracker.renamed_now
        with self.times("write"):
            self.partial.write_frame(frame.index, self.opened.meta(frame.index), tracked, raw)
            self.partial.write_renames(renamed)
        if self.writer is None:
            return
        settle = self.tracker.settle_frames
        if settle:  # the overlay shows the ids the final files hold
            for _, held, _ in self.held:
                held.track_ids = relabel(held.track_ids, renamed)
            self.held.append((frame.image, tracked, frame.index))
            if len(self.held) <= settle:
                return
            self._draw(*self.held.popleft()[:2])
        else:
            self._draw(frame.image, tracked)

    def _draw(self, image: np.ndarray, tracked: TrackedFrame) -> None:
        if self.smoother is not None:
            tracked = dataclasses.replace(tracked, keypoints=self.smoother(tracked.track_ids, tracked.keypoints))
        draw = functools.partial(_draw_and_write, self.writer, image, tracked, self.config.video, self.trails)
        if self.encoder is not None:
            self.encoder.put(draw)  # timed as "write" on the encoder's thread
        else:
            with self.times("write"):
                draw()


    def _draw_all(self, final) -> None:
        """The overlay from the final (post-processed) tracks: the frames decoded again, drawn and encoded."""
        from ..viz import Trails

        v, opened = self.config.video, open_frames(self.job, self.config.run.folder_fps, self.config.run.read_ahead)
        trails = Trails(v.trails) if v.trails > 0 else None
        people = iter(final)
        with contextlib.closing(opened), self._video_writer(self.paths.video, opened.source.info) as writer:
            index, (frame, _) = 0, next(people)
            for decoded in opened.source:
                while index < decoded.index:
                    index, (frame, _) = index + 1, next(people)
                _draw_and_write(writer, decoded.image, frame, v, trails)


def _draw_and_write(writer, image, tracked, v, trails) -> None:
    from ..viz import draw_poses

    writer.write(draw_poses(image, tracked.keypoints, tracked.track_ids, tracked.boxes, layout="posetrack18",
                            kpt_threshold=v.kpt_threshold, draw_boxes=v.draw_boxes, draw_ids=v.draw_ids,
                            trails=trails))
