"""``join_videos``: MP4 segments of one encoder setting joined into one MP4 without re-encoding.

A resumable run writes its overlay in segments, each closed (a complete, playable file) when the run records a
point it can resume from; a resumed run writes the next segments. At the end the H.264 packets of every segment
are copied, in order, into one file whose timestamps run on: no frame is decoded or encoded again, and each
segment starts with a key frame, so the joined file decodes from its start to its end. Written under a temporary
name, with the index at the front (``+faststart``), like ``VideoWriter``'s files.
"""
from __future__ import annotations

import os

from ..atomic import TempFile
from ..errors import PosetrackError, write_error


def join_videos(segments: list[str | os.PathLike], path: str | os.PathLike) -> int:
    """Join ``segments`` (same codec, size and frame rate) into ``path`` (the segments stay); returns the number
    of frames."""
    import av

    if not segments:
        raise ValueError("join_videos needs at least one segment")
    target = TempFile(path)
    frames = 0
    try:
        with av.open(str(target.tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = offset = None
            for segment in segments:
                with av.open(os.fspath(segment)) as source:
                    video = source.streams.video[0]
                    if stream is None:
                        stream = out.add_stream_from_template(video)
                        offset = 0
                    elif video.time_base != stream.time_base:
                        raise PosetrackError(f"{segment}: its time base differs from the first segment's; the "
                                             "overlay segments cannot be joined")
                    end = offset
                    for packet in source.demux(video):
                        if packet.dts is None:  # the demuxer's end-of-stream marker
                            continue
                        duration = packet.duration or 0
                        end = max(end, offset + packet.pts + duration)
                        packet.pts += offset
                        packet.dts += offset
                        packet.stream = stream
                        out.mux(packet)
                        frames += 1
                    offset = end
        target.commit()
    except av.FFmpegError as err:
        target.discard()
        raise write_error(path, err, "the video") from None
    except BaseException:
        target.discard()
        raise
    return frames
