"""Reading frames: video files and image folders, one frame at a time.

Videos are decoded with PyAV (FFmpeg) rather than ``cv2.VideoCapture``: it reads the same containers and codecs,
and in addition reports decode errors per packet (OpenCV returns a bare ``False``, indistinguishable from the
end of the file), gives presentation timestamps (which keep frame numbers right after a lost frame), exact
rational frame rates and the display rotation phones store.

Everything here is a plain generator over ``SourceFrame``; ``posetrack.io.sources`` puts a generator on a
background thread and is what callers use. Frames are BGR uint8 ``(H, W, 3)``, like OpenCV and the official
Simple Baselines code. A frame that fails to decode is skipped with a warning on the ``posetrack.io`` logger and
never shifts the numbering of the frames after it.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import PosetrackError

log = logging.getLogger("posetrack.io")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# After this many undecodable packets in a row the file is treated as garbage rather than as a few bad frames.
MAX_CONSECUTIVE_ERRORS = 100


@dataclass
class SourceFrame:
    """One decoded frame: its 0-based index in the source, the BGR image, and the file name for image folders."""

    index: int
    image: np.ndarray
    name: str | None = None
    time: float | None = None  # presentation time in seconds, when the container has one


@dataclass
class SourceInfo:
    """What is known about a source before decoding it all."""

    path: str
    kind: str  # "video" or "images"
    name: str  # the file or folder stem, e.g. "000342_mpii_test"
    fps: Fraction
    width: int
    height: int
    num_frames: int | None  # None when the container does not say
    files: tuple[str, ...] = ()  # image folders: the file names in frame order


def as_rate(fps: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction; floats near an NTSC rate (29.97, 59.94, 23.976) become N*1000/1001."""
    if isinstance(fps, Fraction):
        return fps
    ntsc = round(fps * 1.001)
    if ntsc and abs(fps - ntsc * 1000 / 1001) < 5e-4 and abs(fps - round(fps)) > 5e-4:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1000)


# ---------------------------------------------------------------- video files

def probe_video(path: str) -> SourceInfo:
    """Open ``path``, decode its first frame and report what the video holds."""
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise PosetrackError(f"{path}: the file has no video stream; give a video file or an image folder")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            first = next(_decode_pyav(container, stream, quiet=True), None)
            num_frames = stream.frames or None  # read while open: PyAV >= 19 refuses it after close
    except av.FFmpegError as err:
        raise PosetrackError(f"{path}: not a readable video ({_reason(err)}); the file is corrupt, truncated or "
                             "not a video") from None
    if first is None:
        raise PosetrackError(f"{path}: the video has no decodable frame (empty, truncated or corrupt)")
    image = first.image
    return SourceInfo(path, "video", Path(path).stem, Fraction(rate) if rate else Fraction(25),
                      image.shape[1], image.shape[0], num_frames)


def read_video(info: SourceInfo, start: int = 0) -> Iterator[SourceFrame]:
    """Decode ``info.path`` from the beginning, yielding frames whose index is ``>= start``."""
    import av

    try:
        container = av.open(info.path)
    except av.FFmpegError as err:
        raise PosetrackError(f"{info.path}: cannot reopen the video ({_reason(err)})") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threading: decoding overlaps the consumer's work
        last = -1
        size = warned = (info.height, info.width)
        for frame in _decode_pyav(container, stream, start=start):
            if frame.image.shape[:2] != size:
                # A stream whose picture size changes (joined recordings, adaptive streaming): scaled to the first
                # size, as players show it, so the sequence keeps one coordinate frame and optical flow works.
                if frame.image.shape[:2] != warned:
                    warned = frame.image.shape[:2]
                    log.warning("%s: the picture size changes to %dx%d at frame %d; scaling to %dx%d", info.path,
                                warned[1], warned[0], frame.index, info.width, info.height)
                frame.image = cv2.resize(frame.image, (info.width, info.height), interpolation=cv2.INTER_LINEAR)
            last = frame.index
            yield frame
        if info.num_frames and last + 1 < info.num_frames:
            log.warning("%s: the video ended after %d of the %d frames its header announces (truncated file?)",
                        info.path, last + 1, info.num_frames)


def _decode_pyav(container, stream, start: int = 0, quiet: bool = False) -> Iterator[SourceFrame]:
    import av

    rate = stream.average_rate or stream.guessed_rate
    time_base = stream.time_base
    first_pts = stream.start_time  # the origin of frame numbers; None when the container does not say
    index = 0
    resync = False  # after a lost packet, the next frame's index comes from its timestamp
    failures = 0
    packets = 0  # packets read so far, lost ones included
    for packet in _packets(container, stream, quiet):
        if packet is not None and packet.size:
            packets += 1
        try:
            decoded = packet.decode() if packet is not None else stream.codec_context.decode(None)
        except av.FFmpegError as err:
            failures += 1
            if failures > MAX_CONSECUTIVE_ERRORS:
                raise PosetrackError(f"{container.name}: more than {MAX_CONSECUTIVE_ERRORS} undecodable frames in "
                                     "a row; the video is corrupt") from None
            if not quiet:
                log.warning("%s: skipped an undecodable frame near index %d (%s)", container.name, index,
                            _reason(err))
            resync = True
            continue
        for frame in decoded:
            failures = 0
            if frame.pts is not None and first_pts is None:
                first_pts = frame.pts
            # Without frame reordering, decode order is display order and the decode timestamp is the more
            # reliable one: AVI stores only a frame count, and the presentation times a parser guesses from
            # damaged data there run a frame or more ahead.
            stamp = frame.dts if frame.dts is not None and not stream.codec_context.has_b_frames else frame.pts
            if resync and stamp is not None and rate and time_base:
                # A frame leaves the decoder only after its own packet was read: an upper bound on its index.
                stamped = round(float((stamp - first_pts) * time_base * rate))
                index = max(index, min(stamped, packets - 1))
            resync = False
            if index >= start:
                time = float(frame.pts * time_base) if frame.pts is not None and time_base else None
                yield SourceFrame(index, _upright(frame.to_ndarray(format="bgr24"), frame.rotation), None, time)
            index += 1


def _packets(container, stream, quiet: bool) -> Iterator:
    """The stream's packets, ending with a flush: PyAV's empty packet, or None after a read error.

    A packet flagged corrupt is held back until the next one arrives: at the very end of the file it is the
    frame a truncated download or recording cut short, and is dropped, because a frame-threaded decoder given
    it loses the frames it still holds (measured with FFmpeg 7: the last thread-count - 1 good frames).
    """
    import av

    held = None
    demuxed = container.demux(stream)
    while True:
        try:
            packet = next(demuxed)
        except StopIteration:  # after PyAV's own flush packet
            return
        except av.FFmpegError as err:
            if not quiet:
                log.warning("%s: stopped reading early (%s); keeping the frames before", container.name,
                            _reason(err))
            packet = None  # the decoder is flushed by hand
        # PyAV ends the stream with an empty packet without timestamps, which flushes the decoder.
        end = packet is None or (packet.dts is None and not packet.size)
        if held is not None:
            if not end:
                yield held
            elif not quiet:
                log.warning("%s: dropped the last frame, cut short (truncated file?)", container.name)
            held = None
        if end:
            yield packet
            return
        if packet.is_corrupt:
            held = packet
        else:
            yield packet


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply the display rotation phones store in the container (PyAV: degrees counter-clockwise)."""
    turns = round(rotation / 90) % 4 if rotation else 0
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or str(err)


# ---------------------------------------------------------------- image folders

def probe_folder(path: str, fps: float | Fraction = 25) -> SourceInfo:
    """An image folder (PoseTrack layout): its images in file name order are the frames, at ``fps``.

    Numbers in names compare as numbers, so ``9.jpg`` comes before ``10.jpg`` as it does before ``000010.jpg``.
    """
    files = tuple(sorted((f for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTENSIONS)
                          and os.path.isfile(os.path.join(path, f))), key=_natural_key))
    if not files:
        raise PosetrackError(f"{path}: the folder holds no images ({', '.join(IMAGE_EXTENSIONS)}); give a folder "
                             "of frames or a video file")
    # Unreadable images are not reported here: reading the frames does, with their index, once.
    image = next((image for image in (_imread(os.path.join(path, name)) for name in files) if image is not None),
                 None)
    if image is None:
        raise PosetrackError(f"{path}: none of the {len(files)} images can be decoded")
    # The absolute path's name: the folder "." or "frames/" is named like the folder it is.
    return SourceInfo(path, "images", Path(os.path.abspath(path)).name, as_rate(fps),
                      image.shape[1], image.shape[0], len(files), files)


def read_folder(info: SourceInfo, start: int = 0) -> Iterator[SourceFrame]:
    period = 1 / float(info.fps)
    for index in range(start, len(info.files)):
        name = info.files[index]
        image = _imread(os.path.join(info.path, name))
        if image is None:
            log.warning("%s: skipped unreadable image %s (frame %d)", info.path, name, index)
            continue
        if image.shape[:2] != (info.height, info.width):
            # Results are written in one coordinate frame per sequence and optical flow pairs frames pixel by
            # pixel: scaling a frame would silently misplace its poses.
            raise PosetrackError(f"{os.path.join(info.path, name)}: the image is {image.shape[1]}x{image.shape[0]} "
                                 f"but the sequence's frames are {info.width}x{info.height}; give a folder whose "
                                 "frames all have one size")
        yield SourceFrame(index, image, name, index * period)


def _natural_key(name: str) -> tuple:
    parts = re.split(r"(\d+)", name)  # text, number, text, ...: numbers at the odd positions
    return [int(part) if i % 2 else part for i, part in enumerate(parts)], name


def _imread(path: str) -> np.ndarray | None:
    # imdecode on the raw bytes: cv2.imread cannot open non-ASCII paths on Windows.
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    return cv2.imdecode(data, cv2.IMREAD_COLOR)
