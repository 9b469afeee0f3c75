"""Thumbnails of flagged events: the frames involved, cut around the people involved, from a video.

The video is the overlay a run wrote (skeletons and ids drawn already) or the source video (the involved people
are drawn here with ``posetrack.viz.draw_poses``). It is decoded once; only the crops are kept.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..people import People
from .flags import Flag

HEIGHT = 150   # pixels of a thumbnail
MARGIN = 0.3   # of the people's box, added around it
MIN_CROP = 160


def thumbnails(video: str, people: People, flags: list[Flag], draw: bool, layout: str = "posetrack18") -> dict:
    """``{(flag index, frame): PNG bytes}`` for the frames of each flag (frames outside the video are skipped)."""
    from ...io import open_source
    from ...viz import draw_poses

    wanted: dict[int, list[tuple[int, list[int]]]] = {}
    for i, flag in enumerate(flags):
        for frame in sorted(set(flag.frames)):
            wanted.setdefault(frame, []).append((i, flag.tracks))
    out = {}
    with open_source(video) as source:
        for item in source:
            if item.index not in wanted:
                continue
            rows = np.flatnonzero(people.frame == item.index)
            image = item.image
            if draw:
                image = draw_poses(image, people.keypoints[rows], people.track[rows], people.boxes[rows],
                                   layout=layout)
            for i, tracks in wanted[item.index]:
                mine = rows[np.isin(people.track[rows], tracks)]
                out[(i, item.index)] = _crop(image, people.boxes[mine])
            if len(out) == sum(len(v) for v in wanted.values()):
                break
    return out


def _crop(image: np.ndarray, boxes: np.ndarray) -> bytes:
    h, w = image.shape[:2]
    boxes = boxes[np.isfinite(boxes).all(1)]
    if len(boxes):
        x1, y1 = boxes[:, :2].min(0)
        x2, y2 = boxes[:, 2:].max(0)
        # A margin around the people, and at least MIN_CROP pixels: a hand or a far person alone says little.
        mx = max((x2 - x1) * MARGIN, (MIN_CROP - (x2 - x1)) / 2)
        my = max((y2 - y1) * MARGIN, (MIN_CROP - (y2 - y1)) / 2)
        x1, y1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
        x2, y2 = int(min(w, x2 + mx)), int(min(h, y2 + my))
        if x2 - x1 >= 8 and y2 - y1 >= 8:
            image = image[y1:y2, x1:x2]
    scale = HEIGHT / image.shape[0]
    small = cv2.resize(image, (max(1, round(image.shape[1] * scale)), HEIGHT), interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", small)
    return png.tobytes()
