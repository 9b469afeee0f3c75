"""Overlay drawing: skeletons, boxes, track ids and short motion trails, one colour per track id.

Which joints and limbs are visible is decided for all people at once with numpy; the OpenCV calls then run per
person (one ``polylines`` for all of a person's limbs). Line widths scale with the frame so that a 4K overlay
is as readable as a 480p one.
"""
from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from ..geometry import keypoint_boxes
from ..layouts import JointLayout, get_layout
from .colors import track_colors


class Trails:
    """The last ``length`` centres of each track, for drawing where people came from.

    Call ``update`` once per frame (``draw_poses`` does it when given a ``Trails``). Ids not seen for ``max_age``
    updates are forgotten, so memory stays bounded on long videos with many people coming and going.
    """

    def __init__(self, length: int = 16, max_age: int = 30):
        self.length = int(length)
        self.max_age = int(max_age)
        self.step = 0
        self._points: dict[int, deque] = {}
        self._last_seen: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._points)

    def update(self, track_ids, centers) -> None:
        self.step += 1
        for tid, center in zip(np.asarray(track_ids).tolist(), np.asarray(centers, np.float32).reshape(-1, 2)):
            if tid < 0 or not np.isfinite(center).all():
                continue
            self._points.setdefault(tid, deque(maxlen=self.length)).append(center)
            self._last_seen[tid] = self.step
        for tid in [t for t, seen in self._last_seen.items() if self.step - seen > self.max_age]:
            del self._points[tid], self._last_seen[tid]

    def path(self, track_id: int) -> np.ndarray:
        """``(P, 2)`` float32 centres of ``track_id``, oldest first (empty when unknown)."""
        points = self._points.get(int(track_id))
        return np.asarray(points, np.float32).reshape(-1, 2) if points else np.zeros((0, 2), np.float32)


def draw_poses(frame: np.ndarray, keypoints: np.ndarray, track_ids=None, boxes: np.ndarray | None = None,
               layout: JointLayout | str = "coco17", kpt_threshold: float = 0.4, draw_boxes: bool = True,
               draw_ids: bool = True, trails: Trails | None = None, inplace: bool = False) -> np.ndarray:
    """Draw the people of one frame onto a copy of ``frame`` (BGR uint8) and return it.

    ``keypoints`` is ``(N, K, 3)`` in ``layout``; joints with score <= ``kpt_threshold`` are not drawn (0.4 is
    the paper's threshold for dropping joints, §4.2). ``track_ids`` (N,) sets each person's colour; -1 or None
    draws grey without a label. ``boxes`` are ``(N, 4)`` xyxy; without them labels sit above the joints.
    """
    canvas = frame if inplace else frame.copy()
    layout = get_layout(layout) if isinstance(layout, str) else layout
    kpts = np.asarray(keypoints, np.float32).reshape(-1, layout.num_joints, 3)
    n = len(kpts)
    ids = np.full(n, -1, np.int64) if track_ids is None else np.asarray(track_ids, np.int64).reshape(n)
    colors = track_colors(ids).tolist()
    height, width = canvas.shape[:2]
    thickness = max(1, round(max(height, width) / 640))
    radius = thickness + 1

    visible = (kpts[..., 2] > kpt_threshold) & np.isfinite(kpts[..., :2]).all(-1)  # (N, K)
    points = np.round(np.nan_to_num(kpts[..., :2])).astype(np.int32)  # (N, K, 2)
    edges = np.asarray(layout.skeleton, np.int64).reshape(-1, 2)
    limb_visible = visible[:, edges[:, 0]] & visible[:, edges[:, 1]]  # (N, E)
    limbs = points[:, edges]  # (N, E, 2, 2)
    have_boxes = boxes is not None and len(boxes) == n
    label_boxes = (np.asarray(boxes, np.float32).reshape(n, 4) if have_boxes
                   else keypoint_boxes(kpts, min_score=kpt_threshold))
    anchors = np.round(np.nan_to_num(label_boxes[:, :2])).astype(np.int32)

    if trails is not None:
        trails.update(ids, (label_boxes[:, :2] + label_boxes[:, 2:]) / 2)
        for i in range(n):
            path = np.round(trails.path(ids[i])).astype(np.int32)
            if len(path) > 1:
                cv2.polylines(canvas, [path.reshape(-1, 1, 2)], False, colors[i], thickness + 1, cv2.LINE_AA)

    for i in range(n):
        color = colors[i]
        if draw_boxes and have_boxes and np.isfinite(label_boxes[i]).all():
            x1, y1, x2, y2 = np.round(label_boxes[i]).astype(int).tolist()
            cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness)  # axis-aligned: no anti-aliasing
        if limb_visible[i].any():
            cv2.polylines(canvas, list(limbs[i, limb_visible[i]]), False, color, thickness + 1, cv2.LINE_AA)
        # Joints last, so that each joint shows the person's colour on top of limbs and boxes.
        for x, y in points[i, visible[i]].tolist():
            cv2.circle(canvas, (x, y), radius, color, -1, cv2.LINE_AA)
        if draw_ids and ids[i] >= 0 and (visible[i].any() or have_boxes):
            _label(canvas, str(ids[i]), tuple(anchors[i].tolist()), color, thickness)
    return canvas


def _label(canvas: np.ndarray, text: str, corner: tuple[int, int], color: list[int], thickness: int) -> None:
    """``text`` on a filled tag of ``color`` just above ``corner`` (inside the frame when it would leave it)."""
    scale = 0.45 * thickness
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = int(np.clip(corner[0], 0, max(0, canvas.shape[1] - tw - 4)))
    y = int(np.clip(corner[1], th + base + 4, canvas.shape[0]))
    cv2.rectangle(canvas, (x, y - th - base - 4), (x + tw + 4, y), color, -1)
    # Dark text on light tags, light text on dark ones (Rec. 601 luma of the BGR colour).
    luma = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
    cv2.putText(canvas, text, (x + 2, y - base - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness,
                cv2.LINE_AA)
