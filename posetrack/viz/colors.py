"""A fixed colour per track id.

Hues step by the golden ratio (0.618... of a turn per id), so consecutive ids, the ones that appear together,
land far apart on the colour wheel, and id ``k`` has the same colour in every frame, video and run. Saturation
and value alternate between two levels every few ids so that ids whose hues come close again still differ.
"""
from __future__ import annotations

import numpy as np

GOLDEN_RATIO_CONJUGATE = 0.6180339887498949
UNTRACKED_COLOR = (200, 200, 200)  # BGR, for people without an id (-1)


def track_colors(track_ids) -> np.ndarray:
    """``(N, 3)`` uint8 BGR colours for an array of integer track ids (-1 or any negative: light grey)."""
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    hue = (ids * GOLDEN_RATIO_CONJUGATE) % 1.0
    bright = (ids // 7) % 2 == 0
    sat = np.where(bright, 0.85, 0.65)
    val = np.where(bright, 1.0, 0.8)
    rgb = _hsv_to_rgb(hue, sat, val)
    bgr = np.round(rgb[:, ::-1] * 255).astype(np.uint8)
    bgr[ids < 0] = UNTRACKED_COLOR
    return bgr


def track_color(track_id: int) -> tuple[int, int, int]:
    """The BGR colour of one id as a tuple of ints, what ``cv2`` drawing functions take."""
    return tuple(int(c) for c in track_colors([track_id])[0])


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised ``colorsys.hsv_to_rgb``: ``(N, 3)`` floats in [0, 1]."""
    i = np.floor(h * 6.0).astype(np.int64) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([np.stack(c, 1) for c in
                      [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]], 0)  # (6, N, 3)
    return table[i, np.arange(len(h))]

