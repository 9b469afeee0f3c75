"""Drawing: a cluttered backdrop, people as filled limbs and heads, a label buffer, image noise.

Speed matters (tests render whole sequences), so the expensive parts happen once per sequence: the backdrop is
painted once on a canvas large enough for the whole camera path and each frame is a slice of it (resized
when zooming); image noise is a precomputed bank read at a random offset per frame. A frame is
then ~15 OpenCV primitives per person. The label buffer (person index + 1 per pixel, 0 for background) is drawn
with exactly the same primitives, far to near, so it tells which person owns each pixel of the image; the
foreground occluders of the ``occlusion`` scenario are drawn last, over everyone, as label ``OCCLUDER``.
"""
from __future__ import annotations

import cv2
import numpy as np

from .scene import Scene
from .skeleton import (DARK, HAIR, HEAD_HALF_HEIGHT, HEAD_HALF_WIDTH, LIMBS, NECK, PELVIS, SHIRT, SKIN,
                       TORSO_DEPTH, TROUSERS, P)

_SHIFT = 4  # OpenCV fixed-point bits: sub-pixel positions for all primitives
_ONE = 1 << _SHIFT
OCCLUDER = 255  # label of occluder pixels (people are 1..250)


class Backdrop:
    """The static background, painted once on a canvas that covers every frame's view."""

    def __init__(self, rng: np.random.Generator, scene: Scene, clutter: bool = True):
        w, h = scene.width, scene.height
        cx, cy = w / 2, h / 2
        z, shift = scene.zoom, scene.shift
        pad = 8
        lo_a = float(np.min(shift + cx - cx / z))
        hi_a = float(np.max(shift + cx + cx / z))
        lo_b, hi_b = float(np.min(cy - cy / z)), float(np.max(cy + cy / z))
        self.ax, self.ay = pad - lo_a, pad - lo_b
        cw, ch = int(np.ceil(hi_a - lo_a)) + 2 * pad, int(np.ceil(hi_b - lo_b)) + 2 * pad
        self.canvas = _paint(rng, cw, ch, self.ay + scene.horizon, (w, h), clutter)
        self.scene = scene

    def view(self, t: int) -> np.ndarray:
        """The backdrop as seen in frame ``t`` (a fresh ``(H, W, 3)`` uint8 array)."""
        s = self.scene
        z, shift = float(s.zoom[t]), float(s.shift[t])
        cx, cy = s.width / 2, s.height / 2
        # A crop and a resize (several times faster than warpAffine); the backdrop is then placed to the
        # nearest pixel, which nobody can tell on a backdrop.
        a = int(round(self.ax + shift + cx - cx / z))
        b = int(round(self.ay + cy - cy / z))
        if z == 1.0:
            return self.canvas[b:b + s.height, a:a + s.width].copy()
        crop = self.canvas[b:b + int(round(s.height / z)), a:a + int(round(s.width / z))]
        return cv2.resize(crop, (s.width, s.height), interpolation=cv2.INTER_LINEAR)


def _paint(rng, cw, ch, horizon, view, clutter) -> np.ndarray:
    """Wall and floor gradients, low-frequency texture and (with ``clutter``) random shapes and stripes."""
    rows = np.arange(ch, dtype=np.float32)[:, None, None]
    top, mid, floor_near, floor_far = (rng.uniform(40, 230, 3).astype(np.float32) for _ in range(4))
    k_wall = np.clip(rows / max(horizon, 1), 0, 1)
    k_floor = np.clip((rows - horizon) / max(ch - horizon, 1), 0, 1)
    wall = top + (mid - top) * k_wall
    floor = floor_far + (floor_near - floor_far) * k_floor
    canvas = np.where(rows < horizon, wall, floor) * np.ones((1, cw, 1), np.float32)
    # Low-frequency texture, mostly brightness with a little colour.
    grid = (max(ch // 24, 2), max(cw // 24, 2))
    texture = rng.normal(0, 14 if clutter else 5, grid + (1,)) + rng.normal(0, 4, grid + (3,))
    canvas += cv2.resize(texture.astype(np.float32), (cw, ch), interpolation=cv2.INTER_CUBIC)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    if not clutter:
        return canvas
    count = int(45 * cw * ch / (view[0] * view[1]))
    kinds = rng.integers(0, 5, count)
    centers = rng.uniform([0, 0], [cw, ch], (count, 2)).astype(np.int32)
    sizes = (rng.uniform(0.02, 0.18, (count, 2)) * view[1]).astype(np.int32) + 2
    # Muted colours: random hues pulled toward the wall colour, as real scenes are rarely all primaries.
    colours = (0.6 * rng.integers(0, 256, (count, 3)) + 0.4 * mid).astype(np.int64)
    for kind, (x, y), (sx, sy), colour in zip(kinds, centers, sizes, colours.tolist()):
        if kind == 0:  # a box, sometimes striped
            cv2.rectangle(canvas, (x - sx, y - sy), (x + sx, y + sy), colour, -1)
            if rng.random() < 0.5:
                patch = canvas[max(y - sy, 0):y + sy, max(x - sx, 0):x + sx]
                step = int(rng.integers(4, 12))
                dark = [c // 2 for c in colour]
                for off in range(0, patch.shape[0] + patch.shape[1], step):
                    cv2.line(patch, (off, 0), (off - patch.shape[0], patch.shape[0]), dark, 2)
        elif kind == 1:
            cv2.circle(canvas, (x, y), int(min(sx, sy)), colour, -1)
        elif kind == 2:
            cv2.ellipse(canvas, (x, y), (int(sx), int(sy)), float(rng.uniform(0, 180)), 0, 360, colour, -1)
        elif kind == 3:
            poly = (np.array([x, y]) + rng.uniform(-1, 1, (int(rng.integers(3, 7)), 2)) * [sx, sy]).astype(np.int32)
            cv2.fillPoly(canvas, [poly], colour)
        else:
            end = (x + int(rng.uniform(-3, 3) * sx), y + int(rng.uniform(-1, 1) * sy))
            cv2.line(canvas, (x, y), end, colour, int(rng.integers(1, 6)))
    return canvas


class NoiseBank:
    """Gaussian image noise without per-frame random draws: one bank, read at a random offset per frame."""

    def __init__(self, rng: np.random.Generator, width: int, height: int, sigma: float, frames: int):
        self.sigma = sigma
        self.w, self.h = width, height
        if sigma <= 0:
            return
        margin = 48
        noise = rng.normal(0, sigma, (height + margin, width + margin, 3)).astype(np.float32)
        self.up = np.clip(noise, 0, 255).astype(np.uint8)
        self.down = np.clip(-noise, 0, 255).astype(np.uint8)
        self.offsets = rng.integers(0, margin, (frames, 4))

    def apply(self, image: np.ndarray, t: int) -> None:
        if self.sigma <= 0:
            return
        y1, x1, y2, x2 = self.offsets[t]
        # Two saturating uint8 passes (add the positive part, subtract the negative part of other noise).
        cv2.add(image, self.up[y1:y1 + self.h, x1:x1 + self.w], dst=image)
        cv2.subtract(image, self.down[y2:y2 + self.h, x2:x2 + self.w], dst=image)


def draw_people(image: np.ndarray | None, labels: np.ndarray | None, scene: Scene, t: int,
                people: np.ndarray | None = None) -> None:
    """Draw the people of frame ``t`` (all, or the indices ``people``) far to near into ``image`` (BGR, palette
    colours) and/or ``labels`` (person index + 1)."""
    idx = np.arange(scene.num_people) if people is None else np.asarray(people)
    pts = scene.points[t, idx]
    size = scene.size[t, idx]
    # Off-screen people cost nothing: skip anyone whose body box misses the image.
    lo, hi = pts.min(1) - 0.1 * size[:, None], pts.max(1) + 0.1 * size[:, None]
    on = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < scene.width) & (lo[:, 1] < scene.height)
    idx, pts, size = idx[on], pts[on], size[on]
    order = np.argsort(-scene.depth[t, idx], kind="stable")
    fixed = np.round(pts * _ONE).astype(np.int32)
    thick_size = size * scene.girth[idx]
    left_far = scene.heading[t, idx, 0] > 0  # walking to the image's right shows the right side
    for k in order.tolist():
        p = int(idx[k])
        person = _Person(fixed[k].tolist(), float(size[k]), float(thick_size[k]), bool(left_far[k]))
        if image is not None:
            person.draw(image, scene.palette[p].tolist())
        if labels is not None:
            person.draw(labels, [p + 1] * (2 * DARK))


def draw_occluders(image: np.ndarray | None, labels: np.ndarray | None, scene: Scene, t: int) -> None:
    """Draw the scene's foreground occluders as seen in frame ``t``: placed like the backdrop (``Backdrop.view``),
    shaded as a round pillar or framed as a panel."""
    if not len(scene.occluders):
        return
    cx, cy = scene.width / 2, scene.height / 2
    z, shift = float(scene.zoom[t]), float(scene.shift[t])
    x1, y1, x2, y2 = (scene.occluders[:, :4].astype(np.float64) - [shift + cx, cy, shift + cx, cy]).T * z
    corners = np.stack([x1 + cx, y1 + cy, x2 + cx, y2 + cy], 1)
    for (a, b, c, d), kind, colour in zip(corners, scene.occluders[:, 4], scene.occluder_colours.astype(float)):
        w = c - a
        if kind == 0:  # pillar: darker edges, a highlight left of the middle
            parts = [(a, c, 0.7), (a + 0.15 * w, c - 0.15 * w, 0.9), (a + 0.3 * w, a + 0.55 * w, 1.15)]
        else:  # panel: a dark frame around a lighter board
            m = min(0.05 * w, 0.5 * (d - b))
            parts = [(a, c, 0.6), (a + m, c - m, 1.0)]
        for k, (left, right, shade) in enumerate(parts):
            top = b + (m if kind != 0 and k else 0)
            box = np.round(np.array([[left, top], [right, top], [right, d], [left, d]]) * _ONE).astype(np.int32)
            if image is not None:
                cv2.fillConvexPoly(image, box, np.clip(colour * shade, 0, 255).tolist(), cv2.LINE_8, _SHIFT)
            if labels is not None and k == 0:
                cv2.fillConvexPoly(labels, box, OCCLUDER, cv2.LINE_8, _SHIFT)


class _Person:
    """One person's primitives in one frame, drawable in colour or as a label."""

    def __init__(self, pts, size, thick_size, left_far):
        self.pts, self.size, self.thick_size = pts, size, thick_size
        self.sides = ("left", "right") if left_far else ("right", "left")

    def _width(self, fraction):
        return max(int(round(fraction * self.thick_size)), 2)

    def _line(self, dst, a, b, fraction, colour):
        cv2.line(dst, self.pts[P[a]], self.pts[P[b]], colour, self._width(fraction), cv2.LINE_8, _SHIFT)

    def _limbs(self, dst, side, colours, shade):
        for part in ("leg", "arm"):
            for a, b, fraction, slot in LIMBS[part]:
                self._line(dst, f"{side}_{a}", f"{side}_{b}", fraction, colours[slot + shade])

    def draw(self, dst, colours):
        far, near = self.sides
        self._limbs(dst, far, colours, DARK)
        trunk = np.array([self.pts[P[j]] for j in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")],
                         np.int32)
        cv2.fillConvexPoly(dst, trunk, colours[SHIRT], cv2.LINE_8, _SHIFT)
        self._line(dst, "shoulder_mid", "hip_mid", TORSO_DEPTH, colours[SHIRT])
        self._line(dst, "left_hip", "right_hip", PELVIS, colours[TROUSERS])
        self._limbs(dst, near, colours, 0)
        self._line(dst, "head_bottom", "head_center", NECK, colours[SKIN])
        center = self.pts[P["head_center"]]
        axes = (int(round(HEAD_HALF_WIDTH * self.size * _ONE)), int(round(HEAD_HALF_HEIGHT * self.size * _ONE)))
        cv2.ellipse(dst, center, axes, 0, 0, 360, colours[SKIN], -1, cv2.LINE_8, _SHIFT)
        hair_center = (center[0], center[1] - int(round(0.025 * self.size * _ONE)))
        hair_axes = (axes[0], int(round(0.045 * self.size * _ONE)))
        cv2.ellipse(dst, hair_center, hair_axes, 0, 180, 360, colours[HAIR], -1, cv2.LINE_8, _SHIFT)


class Renderer:
    """Frames of one scene: ``frame(t)`` gives the BGR image and/or the label buffer."""

    def __init__(self, rng: np.random.Generator, scene: Scene, clutter: bool = True, noise: float = 4.0):
        self.scene = scene
        self.backdrop = Backdrop(rng, scene, clutter)
        self.noise = NoiseBank(rng, scene.width, scene.height, noise, scene.num_frames)

    def frame(self, t: int, image: bool = True, labels: bool = True):
        s = self.scene
        img = self.backdrop.view(t) if image else None
        lab = np.zeros((s.height, s.width), np.uint8) if labels else None
        draw_people(img, lab, s, t)
        draw_occluders(img, lab, s, t)
        if img is not None:
            self.noise.apply(img, t)
        return img, lab
