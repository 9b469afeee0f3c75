"""The whole system of the paper, one video at a time:

    frames ─▶ detector (batched over frames) ─▶ joint propagation + box unification (§3.1, §3.3)
           ─▶ pose estimator (§2) ─▶ flow-based tracker (§3.2, Algorithm 1) ─▶ partial JSONL, overlay video
           ─▶ final JSON (PoseTrack 2018 / 2017 or COCO)

``Pipeline(config)`` loads the models once (so a missing weight file fails before any output exists);
``run_sequence(job, out_dir)`` streams one sequence through them. Frames are never kept: each is decoded on the
read-ahead thread, detected in a batch of ``detector.batch_size`` frames, tracked, drawn, encoded and dropped;
per-frame results go straight to the partial file (``posetrack.run.outputs``). With ``run.overlap`` (the default)
the detector batches, the optical flow and the overlay encoding run on their own threads beside the pose network
and the tracker (``posetrack.run.overlap``); the results are the same as without. The tracker works in the
PoseTrack 2018 joint slots: a COCO network's output is converted, with the head joints estimated
(``layouts.convert_keypoints``). With ``poses`` given (``posetrack run --poses``), neither detector nor pose
network runs: the given poses are tracked with the same flow tracker.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import PipelineConfig
from .errors import PosetrackError
from .formats import read_sequence_any
from .layouts import convert_keypoints
from .run.inputs import OpenedFrames, SequenceJob, open_frames
from .run.outputs import OutputPaths, PartialWriter, ensure_writable, finalize
from .run.overlap import BackgroundWriter, FlowAhead, ahead
from .run.timing import StageTimes, TimedFlow
from .track import FlowTracker, TrackerConfig, flow_from_config


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


def tracker_config(config: PipelineConfig) -> TrackerConfig:
    """The tracker section, in the PoseTrack 2018 layout the pipeline tracks in."""
    return dataclasses.replace(config.tracker, layout="posetrack18")


class _PoseStage:
    """The estimator as the tracker's ``pose_fn``: timed, COCO-17 output moved into PoseTrack 2018 slots. Keeps
    the last call's boxes and raw output so COCO results can be written in the network's own joints."""

    def __init__(self, estimator, times: StageTimes):
        self.estimator = estimator
        self.times = times
        self.layout = estimator.layout.name
        if self.layout not in ("coco17", "posetrack18"):
            raise PosetrackError(f"the pose network predicts layout {self.layout!r}; posetrack tracks COCO-17 or "
                                 "PoseTrack 2018 networks")
        self.last = None

    def __call__(self, frame, boxes, box_scores):
        with self.times("pose"):
            keypoints, scores = self.estimator(frame, boxes, box_scores)
            self.last = (np.asarray(boxes, np.float32), keypoints)
            if self.layout == "coco17":
                keypoints = convert_keypoints(keypoints, "coco17", "posetrack18", estimate_head=True)
        return keypoints, scores

    def raw_for(self, boxes: np.ndarray) -> np.ndarray | None:
        """The network's own keypoints of the people the tracker kept (found by their box)."""
        if self.layout != "coco17" or self.last is None or not len(boxes):
            return None
        last_boxes, keypoints = self.last
        same = (boxes[:, None, :] == last_boxes[None]).all(-1)
        return keypoints[same.argmax(1)]


def load_estimator(config: PipelineConfig, device: str):
    from .pose.estimator import PoseEstimator

    pose = config.pose
    precision = "fp32"
    if device.startswith("cuda") and (pose.fp16 or pose.bf16):
        precision = "bf16" if pose.bf16 else "fp16"
    return PoseEstimator.from_checkpoint(pose.weights, device=device, flip_test=pose.flip_test,
                                         batch_size=pose.batch_size, precision=precision)


class Pipeline:
    """Detector, pose estimator and tracker settings, loaded once and run on one sequence after another."""

    def __init__(self, config: PipelineConfig, poses: str | None = None, device: str | None = None,
                 progress: bool = True):
        from .detect import make_box_source
        from .devices import resolve_device

        self.config = config
        self.tracker_config = tracker_config(config)
        self.poses = poses
        self.progress = progress and not config.run.quiet
        self.times = StageTimes()
        self._flow = None
        self.estimator = self.detector = None
        if poses is not None:
            if not os.path.exists(poses):
                raise PosetrackError(f"{poses}: poses file (or folder of <sequence>.json) not found")
            self.device = "cpu"
            return
        self.device = resolve_device(device or config.run.device)
        # Both models load here, before any output file exists: offline, the error says what to download.
        self.estimator = load_estimator(config, self.device)
        if config.detector.source == "model":
            self.detector = make_box_source(config.detector, self.device, progress=self.progress)

    def flow(self, ahead_of_time: bool = False) -> TimedFlow | FlowAhead:
        """The tracker's flow, timed; ``ahead_of_time``: computed on a worker thread as frames are decoded."""
        if self._flow is None:
            self._flow = flow_from_config(self.tracker_config)
        if ahead_of_time:
            return FlowAhead(self._flow, self.times)
        return TimedFlow(self._flow, self.times)

    def _needs_flow(self) -> bool:
        c = self.tracker_config
        return c.similarity in ("flow", "multiflow") or (c.propagate and self.poses is None)

    def run_sequence(self, job: SequenceJob, out_dir: str | os.PathLike, video: bool | None = None,
                     output_format: str | None = None, position: int = 0) -> SequenceResult:
        """Process one sequence and write ``<out_dir>/<name>.json`` (and ``.mp4``); see the module doc."""
        c = self.config
        video = c.video.write if video is None else video
        output_format = output_format or c.run.output_format
        start = time.perf_counter()
        self.times = times = StageTimes()
        overlap = c.run.overlap
        opened = open_frames(job, c.run.folder_fps, c.run.read_ahead)
        with contextlib.ExitStack() as stack:
            stack.callback(opened.close)
            feed = self._feed(job, opened)
            paths = OutputPaths(ensure_writable(out_dir), job.name)
            paths.remove_leftovers()
            pose_stage = _PoseStage(self.estimator, times) if self.estimator is not None else None
            flow = self.flow(ahead_of_time=overlap and self._needs_flow())
            if isinstance(flow, FlowAhead):
                stack.callback(flow.close)
            tracker = FlowTracker(self.tracker_config, pose_fn=pose_stage, flow=flow)
            info = opened.source.info
            header = {"name": job.name, "vid_id": opened.vid_id, "layout": "posetrack18", "source": job.source,
                      "fps": float(info.fps), "width": info.width, "height": info.height}
            partial = PartialWriter(paths.partial, header)
            stack.callback(partial.close)
            writer = self._video_writer(paths.video, info) if video else None
            encoder = BackgroundWriter(depth=4, times=times) if overlap and writer is not None else None
            try:
                counts = self._loop(opened, feed, tracker, flow, pose_stage, partial, writer, encoder,
                                    raw_coco=output_format == "coco", position=position)
                if encoder is not None:
                    encoder.close()
                if writer is not None:
                    with times("write"):
                        writer.close()
            except BaseException:
                if encoder is not None:
                    encoder.abort()
                if writer is not None:
                    writer.abort()
                raise
        with times("write"):
            frames = finalize(paths.partial, paths.json, output_format)
            paths.partial.unlink()
        times.frames = counts[0]
        times.wall = time.perf_counter() - start
        return SequenceResult(job.name, frames, counts[1], counts[2], times.wall, times,
                              paths.json, paths.video if video else None)

    def _feed(self, job: SequenceJob, opened: OpenedFrames):
        """Per sequence: a box source (detector, detections file or GT boxes) or the given poses."""
        from .detect import make_box_source

        if self.poses is not None:
            path = os.path.join(self.poses, f"{job.name}.json") if os.path.isdir(self.poses) else self.poses
            poses = read_sequence_any(path)
            if opened.num_frames is not None and opened.num_frames != len(poses.frames):
                raise PosetrackError(f"{path}: lists {len(poses.frames)} images but {job.source} has "
                                     f"{opened.num_frames} frames; give the poses made from this video")
            return poses
        if self.detector is not None:
            return self.detector
        names = None
        if opened.template is not None:
            names = [f.file_name for f in opened.template]
        elif opened.source.info.kind == "images":
            names = list(opened.source.info.files)
        return make_box_source(self.config.detector, self.device, sequence=job.name, frame_names=names)

    def _video_writer(self, path: Path, info):
        from .io import VideoWriter

        v = self.config.video
        return VideoWriter(path, info.fps, (info.width, info.height), crf=v.crf, preset=v.preset)

    def _batches(self, frames, box_source, times: StageTimes, on_decode=None):
        """``(SourceFrame, boxes, scores)`` with the detector run on ``batch_size`` frames at a time;
        ``on_decode(image)`` sees each frame as soon as it is decoded (to start its optical flow)."""
        size = box_source.batch_size if box_source.needs_pixels else 1
        batch = []
        iterator = iter(frames)
        while True:
            with times("decode"):
                frame = next(iterator, None)
            if frame is not None:
                batch.append(frame)
                if on_decode is not None:
                    on_decode(frame.image)
            if batch and (frame is None or len(batch) >= size):
                with times("detect"):
                    images = [f.image for f in batch] if box_source.needs_pixels else [None] * len(batch)
                    detections = box_source(images, [f.index for f in batch])
                for f, d in zip(batch, detections):
                    yield f, d.boxes, d.scores
                batch = []
            if frame is None:
                return

    def _given(self, frames, poses, times: StageTimes, on_decode=None):
        iterator = iter(frames)
        while True:
            with times("decode"):
                frame = next(iterator, None)
            if frame is None:
                return
            if on_decode is not None:
                on_decode(frame.image)
            if frame.index >= len(poses.frames):
                raise PosetrackError(f"the video has more frames than the {len(poses.frames)} images the poses "
                                     f"of {poses.name} list; give the poses made from this video")
            yield frame, poses.frames[frame.index], None

    def _loop(self, opened, feed, tracker, flow, pose_stage, partial, writer, encoder, raw_coco: bool,
              position: int):
        from .viz import Trails

        v, times = self.config.video, self.times
        given = self.poses is not None
        flow_ahead = flow if isinstance(flow, FlowAhead) else None
        on_decode = flow_ahead.submit if flow_ahead is not None else None
        items = (self._given if given else self._batches)(opened.source, feed, times, on_decode)
        if self.config.run.overlap and not given:
            # The next detector batch runs while this one is tracked: room for two batches of frames.
            depth = 2 * max(1, getattr(feed, "batch_size", 1) if getattr(feed, "needs_pixels", False) else 1)
            items = ahead(items, depth=depth, name="posetrack-detect")
        with contextlib.closing(items):
            return self._frames(opened, items, tracker, flow, pose_stage, partial, writer, encoder, raw_coco,
                                position, Trails(v.trails) if v.trails > 0 else None)

    def _frames(self, opened, items, tracker, flow, pose_stage, partial, writer, encoder, raw_coco, position,
                trails):
        from tqdm import tqdm

        v, times = self.config.video, self.times
        given = self.poses is not None
        flow_ahead = flow if isinstance(flow, FlowAhead) else None
        bar = tqdm(total=opened.num_frames, desc=opened.source.info.name, unit="frame", position=position,
                   leave=position == 0, disable=None if self.progress else True, dynamic_ncols=True)
        empty = np.zeros(0)
        next_index = decoded = people = 0
        track_ids: set[int] = set()
        with bar:
            for frame, a, b in items:
                for missing in range(next_index, frame.index):  # frames that failed to decode: no people
                    partial.write_frame(missing, opened.meta(missing), [], empty, empty, empty)
                spent = flow.waited + times.seconds["pose"]
                t0 = time.perf_counter()
                if given:
                    scores = a.scores if len(a.scores) == len(a) else np.ones(len(a), np.float32)
                    tracked = tracker.update_poses(frame.image, a.keypoints, scores)
                else:
                    tracked = tracker.update(frame.image, a, b)
                if flow_ahead is not None:
                    flow_ahead.done(frame.image)
                # The tracker's own time, flow and pose network excluded (they are timed as their own stages).
                times.add("track", time.perf_counter() - t0 - (flow.waited + times.seconds["pose"] - spent))
                with times("write"):
                    raw = pose_stage.raw_for(tracked.boxes) if raw_coco and pose_stage is not None else None
                    partial.write_frame(frame.index, opened.meta(frame.index), tracked.track_ids, tracked.scores,
                                        tracked.boxes, tracked.keypoints, raw)
                if writer is not None:
                    draw = functools.partial(_draw_and_write, writer, frame.image, tracked, v, trails)
                    if encoder is not None:
                        encoder.put(draw)  # timed as "write" on the encoder's thread
                    else:
                        with times("write"):
                            draw()
                next_index = frame.index + 1
                decoded += 1
                people += len(tracked)
                track_ids.update(tracked.track_ids.tolist())
                bar.update(1)
        if decoded == 0:
            raise PosetrackError(f"{opened.source.info.path}: no frame could be decoded")
        if opened.template is not None:  # a PoseTrack prediction lists every ground-truth image
            for missing in range(next_index, len(opened.template)):
                partial.write_frame(missing, opened.meta(missing), [], empty, empty, empty)
        return decoded, people, len(track_ids)


def _draw_and_write(writer, image, tracked, v, trails) -> None:
    from .viz import draw_poses

    writer.write(draw_poses(image, tracked.keypoints, tracked.track_ids, tracked.boxes, layout="posetrack18",
                            kpt_threshold=v.kpt_threshold, draw_boxes=v.draw_boxes, draw_ids=v.draw_ids,
                            trails=trails))
