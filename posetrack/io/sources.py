"""``open_source``: one way to stream frames from a video file or an image folder.

Decoding runs on a background thread (``posetrack.io.ahead``) that keeps at most ``read_ahead`` frames queued, so
decoding overlaps inference while memory stays bounded however long the video is. Closing the source (a ``with``
block does it, also on an exception) stops every reader thread it started.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Callable, Iterator

from ..errors import PosetrackError
from .ahead import ReadAhead, Worker
from .video import SourceFrame, SourceInfo, as_rate, probe_folder, probe_video, read_folder, read_video

DEFAULT_FOLDER_FPS = 25


def open_source(path: str | os.PathLike, fps: float | Fraction | None = None, read_ahead: int = 8) -> FrameSource:
    """Open a video file or an image folder for streaming.

    ``fps`` sets the frame rate of image folders (default 25, PoseTrack's nominal rate); for a video it overrides
    the container's rate when given. ``read_ahead`` is the size of the decoded-frame queue (0: decode on the
    caller's thread). Raises ``PosetrackError`` for a missing path, an empty folder or an unreadable video.
    """
    path = os.fspath(path)
    if fps is not None and fps <= 0:
        raise PosetrackError(f"fps must be positive, got {fps}")
    if not os.path.exists(path):
        raise PosetrackError(f"{path}: no such file or folder; give a video file or a folder of frames")
    if os.path.isdir(path):
        info = probe_folder(path, fps if fps is not None else DEFAULT_FOLDER_FPS)
    else:
        info = probe_video(path)
        if fps is not None:
            info.fps = as_rate(fps)
    return FrameSource(info, read_ahead)


class FrameSource:
    """A streamed source of ``SourceFrame``s; iterate it (more than once if need be), close it when done."""

    def __init__(self, info: SourceInfo, read_ahead: int = 8):
        self.info = info
        self.read_ahead = int(read_ahead)
        # The readers' stop flags, queues and threads, not the ReadAhead objects: a consumer that drops its
        # iterator (``break``) lets the thread stop on its own, and ``close`` still waits for it.
        self._workers: list[Worker] = []

    def __repr__(self) -> str:
        i = self.info
        count = i.num_frames if i.num_frames is not None else "?"
        return f"FrameSource({i.path!r}, {i.kind}, {i.width}x{i.height}, {count} frames at {float(i.fps):.3f} fps)"

    def __iter__(self) -> Iterator[SourceFrame]:
        return self.frames()

    def frames(self, start: int = 0) -> Iterator[SourceFrame]:
        """Frames with index ``>= start``, in order (a video is still decoded from its beginning)."""
        reader: Callable = read_folder if self.info.kind == "images" else read_video
        items = reader(self.info, start)
        if self.read_ahead <= 0:
            return items
        ahead = ReadAhead(items, self.read_ahead, name=f"posetrack-read:{self.info.name}")
        self._workers = [w for w in self._workers if w.thread.is_alive()] + [ahead.worker]
        return ahead

    def close(self) -> None:
        while self._workers:
            self._workers.pop().shutdown()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
