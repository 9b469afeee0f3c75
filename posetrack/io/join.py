"""``join_videos``: MP4 parts written one after another, as one file (a sharded run's chunks, a resumed run's
overlay segments).

Parts encoded with the same settings (``VideoWriter``'s H.264 at one size and rate: the same SPS/PPS) are joined
without decoding: their packets are copied, each part's timestamps shifted by the length of the parts before it
(a remux, seconds for an hour of video, and no second generation of compression). Parts whose streams differ are
decoded and encoded once into the joined file. Written under a temporary name, renamed when complete.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from ..atomic import TempFile
from ..errors import PosetrackError, write_error


def join_videos(parts: list[Path], out: Path, crf: int = 23, preset: str = "veryfast") -> str:
    """Join ``parts`` (in order) into ``out``; returns how: ``"remux"`` or ``"re-encode"``."""
    import av

    if not parts:
        raise ValueError("join_videos needs at least one part")
    try:
        layouts = [_layout(p) for p in parts]
    except av.FFmpegError as err:
        raise PosetrackError(f"cannot read a video part to join ({err})") from None
    if all(layout == layouts[0] for layout in layouts):
        _remux(parts, out)
        return "remux"
    _reencode(parts, out, crf, preset)
    return "re-encode"


def _layout(path: Path) -> tuple:
    """What must agree for packets to be copied from one part into another's stream."""
    import av

    with av.open(os.fspath(path)) as container:
        s = container.streams.video[0]
        c = s.codec_context
        return c.name, c.width, c.height, c.pix_fmt, bytes(c.extradata or b""), s.time_base, s.average_rate


def _remux(parts: list[Path], out: Path) -> None:
    import av

    file = TempFile(os.fspath(out))
    try:
        with av.open(str(file.tmp), "w", format="mp4", options={"movflags": "+faststart"}) as target:
            stream = None
            offset = 0  # in the parts' time base
            for part in parts:
                with av.open(os.fspath(part)) as source:
                    src = source.streams.video[0]
                    if stream is None:
                        stream = target.add_stream_from_template(src)
                    frame_ticks = round(1 / (src.average_rate * src.time_base))
                    last = offset
                    for packet in source.demux(src):
                        if packet.dts is None:  # the demuxer's flush packet
                            continue
                        packet.pts += offset
                        packet.dts += offset
                        last = max(last, packet.pts + (packet.duration or frame_ticks))
                        packet.stream = stream
                        target.mux(packet)
                    offset = last
        file.commit()
    except av.FFmpegError as err:
        file.discard()
        raise write_error(Path(out), err, "the video") from None
    except BaseException:
        file.discard()
        raise


def _reencode(parts: list[Path], out: Path, crf: int, preset: str) -> None:
    import av

    from .writer import VideoWriter

    with av.open(os.fspath(parts[0])) as first:
        s = first.streams.video[0]
        size, rate = (s.codec_context.width, s.codec_context.height), Fraction(s.average_rate or 25)
    with VideoWriter(out, rate, size, crf=crf, preset=preset) as writer:
        for part in parts:
            with av.open(os.fspath(part)) as source:
                for frame in source.decode(video=0):
                    writer.write(frame.to_ndarray(format="bgr24"))
