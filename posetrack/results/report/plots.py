"""The report's plots as PNG bytes (matplotlib, Agg: no display, no network): a timeline of every track, track
lengths, people per frame and per-track jitter."""
from __future__ import annotations

import io

import numpy as np

from ..stats import TrackStats
from .flags import Flag

MAX_TIMELINE_TRACKS = 80  # more rows than this would not be readable; the longest tracks are shown


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, nothing to close

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def timeline(stats: list[TrackStats], flags: list[Flag], num_frames: int) -> tuple[bytes, int]:
    """Each track as a bar from its first to its last frame, gaps left open, flagged frames marked; returns the
    PNG and how many tracks were left out."""
    shown = sorted(stats, key=lambda s: -s.frames)[:MAX_TIMELINE_TRACKS]
    shown = sorted(shown, key=lambda s: (s.first, s.track_id))
    fig = _figure(9, max(1.6, 0.22 * len(shown) + 0.9))
    ax = fig.add_subplot()
    row = {s.track_id: i for i, s in enumerate(shown)}
    for i, s in enumerate(shown):
        cuts = [s.first] + [x for gap in s.gaps for x in (gap[0], gap[1] + 1)] + [s.last + 1]
        spans = [(a, b - a) for a, b in zip(cuts[::2], cuts[1::2])]
        ax.broken_barh(spans, (i - 0.35, 0.7), color=f"C{i % 10}")
    colors = {"switch": "red", "short": "orange", "jump": "purple", "duplicate": "black"}
    for flag in flags:
        for track in flag.tracks:
            if track in row:
                ax.plot(flag.frames[-1], row[track], marker="x", color=colors[flag.kind], markersize=6)
    ax.set_yticks(range(len(shown)), [str(s.track_id) for s in shown], fontsize=7)
    ax.set_ylim(-0.7, len(shown) - 0.3)
    ax.set_xlim(0, max(num_frames, 1))
    ax.invert_yaxis()
    ax.set_xlabel("frame")
    ax.set_ylabel("track id")
    ax.set_title("Tracks over time (x: flagged event; red switch, orange short, purple jump, black duplicate)",
                 fontsize=9)
    return _png(fig), len(stats) - len(shown)


def summary(stats: list[TrackStats], per_frame: np.ndarray) -> bytes:
    """Track lengths, people per frame and jitter per track, side by side."""
    fig = _figure(12, 2.8)
    lengths, people, jitter = fig.subplots(1, 3)
    lengths.hist([s.frames for s in stats] or [0], bins=min(30, max(5, len(stats))), color="C0")
    lengths.set_xlabel("frames seen")
    lengths.set_ylabel("tracks")
    lengths.set_title("Track lengths", fontsize=9)
    people.plot(np.arange(len(per_frame)), per_frame, color="C1")
    people.set_xlabel("frame")
    people.set_ylabel("people")
    people.set_title("People per frame", fontsize=9)
    values = [(s.track_id, s.jitter) for s in stats if np.isfinite(s.jitter)]
    values = sorted(values, key=lambda v: -v[1])[:30]
    jitter.bar(range(len(values)), [v[1] for v in values], color="C2")
    jitter.set_xticks(range(len(values)), [str(v[0]) for v in values], fontsize=6, rotation=90)
    jitter.set_xlabel("track id (most jittery first)")
    jitter.set_ylabel("px / frame²")
    jitter.set_title("Jitter: mean joint acceleration", fontsize=9)
    return _png(fig)
