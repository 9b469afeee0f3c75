"""``VideoWriter``: H.264 MP4 files that browsers and phones play.

OpenCV's ``mp4v`` (MPEG-4 part 2) is what most peers write, and browsers refuse it; here frames go through
PyAV to libx264 in ``yuv420p`` (the only chroma layout every H.264 decoder supports) with the ``moov`` index at
the front (``+faststart``) so playback starts before the download ends. The file is written under a temporary
name in the destination folder (``posetrack.atomic``) and renamed only by a successful ``close``: a crash never
leaves a file that looks complete.

``yuv420p`` needs even width and height. An odd-sized frame is padded by one row/column copied from its edge,
so an odd input size ``W x H`` gives a file of ``W + W % 2`` by ``H + H % 2``; even sizes are kept exactly.
"""
from __future__ import annotations

import logging
import os
from fractions import Fraction

import cv2
import numpy as np

from ..atomic import TempFile
from ..errors import PosetrackError, write_error
from .video import as_rate

log = logging.getLogger("posetrack.io")


class VideoWriter:
    """Write BGR uint8 frames of size ``(width, height)`` to an H.264 MP4 at ``fps`` (a float or a Fraction).

    Use as a context manager: leaving the block normally finishes the file; leaving it by an exception deletes
    the partial file. Frames of another size are resized to the writer's size (with a warning, once).
    """

    def __init__(self, path: str | os.PathLike, fps: float | Fraction, size: tuple[int, int], crf: int = 23,
                 preset: str = "veryfast"):
        import av

        self.path = os.fspath(path)
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] <= 0 or self.size[1] <= 0:
            raise PosetrackError(f"{self.path}: cannot write a video of size {self.size[0]}x{self.size[1]}")
        self.fps = as_rate(fps)
        if self.fps <= 0:
            raise PosetrackError(f"{self.path}: video frame rate must be positive, got {fps}")
        self.frames_written = 0
        self._warned_resize = False
        self._file = TempFile(self.path)
        self._tmp = str(self._file.tmp)
        try:
            # The format is named because the temporary file's extension says nothing.
            self._container = av.open(self._tmp, "w", format="mp4", options={"movflags": "+faststart"})
            self._stream = self._container.add_stream("libx264", rate=self.fps)
        except av.FFmpegError as err:
            self._remove_tmp()
            raise PosetrackError(f"{self.path}: cannot create an H.264 video ({err}); check that the folder is "
                                 "writable and that PyAV was built with libx264") from None
        self._stream.width = self.size[0] + self.size[0] % 2
        self._stream.height = self.size[1] + self.size[1] % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(int(crf)), "preset": preset}
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR uint8 ``(H, W, 3)`` frame."""
        if self._closed:
            raise ValueError("write() on a closed VideoWriter")
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be BGR uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        import av

        width, height = self.size
        if frame.shape[1] != width or frame.shape[0] != height:
            if not self._warned_resize:
                log.warning("%s: frame of size %dx%d resized to the video's %dx%d", self.path, frame.shape[1],
                            frame.shape[0], width, height)
                self._warned_resize = True
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        if width % 2 or height % 2:
            frame = cv2.copyMakeBorder(frame, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        try:
            self._container.mux(self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame),
                                                                               format="bgr24")))
        except (av.FFmpegError, OSError) as err:  # a full disk, mostly
            raise write_error(self.path, err, "the video") from None
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and move the finished file to ``path``."""
        if self._closed:
            return
        if self.frames_written == 0:
            log.warning("%s: no frames were written; no video file created", self.path)
            self._closed = False
            self.abort()
            return
        import av

        self._closed = True
        try:
            self._container.mux(self._stream.encode())
            self._container.close()
            self._file.commit()
        except (av.FFmpegError, OSError) as err:
            self._remove_tmp()
            raise write_error(self.path, err, "the video") from None
        except BaseException:
            self._remove_tmp()
            raise

    def abort(self) -> None:
        """Stop without producing a file (what an exception inside the ``with`` block does)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - the partial file is deleted either way
            pass
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        self._file.discard()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
