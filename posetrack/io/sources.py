"""``open_source``: one way to stream frames from a video file or an image folder.

Decoding runs on a background thread that keeps at most ``read_ahead`` frames queued, so decoding overlaps
inference while memory stays bounded however long the video is. The thread never outlives its consumer: closing
the source (a ``with`` block does it, also on an exception) or dropping the iterator (``break``) stops it, and an
error in the thread is re-raised in the consumer instead of leaving it waiting forever.
"""
from __future__ import annotations

import os
import queue
import threading
from fractions import Fraction
from typing import Callable, Iterator, NamedTuple

from ..errors import PosetrackError
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
        self._workers: list[_Worker] = []

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


_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def _produce(items: Iterator, out: queue.Queue, stop: threading.Event) -> None:
    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    try:
        for item in items:
            if not put(item):
                return
        put(_END)
    except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
        put(_Failure(err))
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()  # a generator must be closed on the thread that runs it: this releases the decoder


class _Worker(NamedTuple):
    stop: threading.Event
    queue: queue.Queue
    thread: threading.Thread

    def shutdown(self) -> None:
        self.stop.set()
        # Free a producer blocked on a full queue, then wait for it to release its file.
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=10)


class ReadAhead:
    """Runs an iterator on a daemon thread, handing its items over through a bounded queue.

    The thread checks a stop flag while waiting for room, so ``close`` always ends it promptly; the consumer
    re-raises whatever the thread raised and notices a thread that died without saying so.
    """

    def __init__(self, items: Iterator, maxsize: int, name: str = "posetrack-read-ahead"):
        stop, out = threading.Event(), queue.Queue(maxsize=max(1, maxsize))
        # The thread gets only the queue and the flag, never ``self``: a dropped ReadAhead is collected and
        # its ``__del__`` stops the thread.
        thread = threading.Thread(target=_produce, args=(items, out, stop), name=name, daemon=True)
        self.worker = _Worker(stop, out, thread)
        self._done = False
        thread.start()

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self.worker.queue.get(timeout=0.5)
                break
            except queue.Empty:
                if not self.worker.thread.is_alive() and self.worker.queue.empty():
                    self._done = True
                    raise RuntimeError("the frame reader thread stopped without a result") from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        self._done = True
        self.worker.shutdown()

    def __del__(self):
        self.worker.stop.set()
