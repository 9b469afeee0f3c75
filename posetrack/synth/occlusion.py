"""The ``occlusion`` scenario: scripted people who disappear and come back, for identity tests (issue 14).

Static foreground occluders, pillars (full height) and panels (wider, from 18% of the image height down), stand
in front of everyone. They belong to the backdrop: a point of the backdrop at horizontal position ``A`` (pixels
of frame 0 at zoom 1) is seen at ``u = cx + zoom * (A - shift - cx)``, and so are the occluders, so they move
with the backdrop when the camera pans.

People follow scripts, given a role each (``ROLES``, repeating after the first six):

* ``pass``: walks at a steady pace behind an occluder, absent from the ground truth for 1-3 s;
* ``pause``: walks behind an occluder, stops there (hidden 1-3 s in all), walks on the same way;
* ``turn``: walks behind an occluder, stops and turns round while hidden, comes back out the side it went in;
* ``exit``: walks out through the side of the view with fewer occluders, stays out 2-4 s, turns and comes back
  on that side;
* ``cross``: two people on opposite straight paths 1.5 m apart in depth, the nearer hiding the farther.

Occlusion events happen in the middle 40% of the sequence, when an occluder is near the view's centre, so that
people are seen before and after. Scripts are drawn in backdrop-relative metres (``x_rel``: the camera held at
its first position) or, for ``exit`` and ``cross``, relative to the view, and then converted to the world: a
person at depth ``d`` seen at ``u = cx + zoom * (f x_rel / d - shift)`` stands at ``x = x_rel + cam.x -
shift d / f`` (``cam.x``: the camera's position). So a hidden person stays behind their occluder however the
camera pans. Twins: people ``2k`` and ``2k + 1`` with ``k`` even wear similar (not identical) clothes.
"""
from __future__ import annotations

import numpy as np

from .skeleton import DARK

ROLES = ("pass", "pause", "cross", "cross", "turn", "exit")
REPEAT = ("pass", "pause", "turn", "exit")
PILLAR, PANEL = 0, 1
SPACING = 0.65           # view widths between occluders
PANEL_TOP = 0.18         # panels reach from this fraction of the image height down
BODY_HALF_WIDTH = 0.34   # half the drawn width of a walker seen side-on, as a fraction of height (skeleton.py)
# A walker is listed in the ground truth while any joint shows. Walking in, the trailing joint trails the hips by
# 0.19 height on average over the gait; walking out, the leading joint leads by 0.13: so a person is absent while
# the hips are more than 0.19 height inside one edge and 0.13 inside the other. Scripts time absences with this.
JOINT_SPAN = 0.32
TURN_SECONDS = 0.6


def roles_for(people: int) -> tuple[str, ...]:
    roles = ROLES[:people] if people >= 4 else tuple(r for r in ROLES if r != "cross")[:people]
    return roles + tuple(REPEAT[i % len(REPEAT)] for i in range(people - len(roles)))


def place_occluders(rng: np.random.Generator, width: int, focal: float, shift: np.ndarray) -> np.ndarray:
    """``(K, 5)`` occluders: x1, y1, x2, y2 in backdrop pixels (frame 0, zoom 1) and kind (PILLAR or PANEL),
    every ``SPACING`` view widths along the camera's path, one near the view's centre at mid-sequence: with a
    still camera one occluder stands mid-view with free floor on both sides and its neighbours at the edges.
    Widths are fractions of the focal length, so that they hide far people whatever the image size."""
    middle = width / 2 + float(shift[len(shift) // 2]) + rng.uniform(-0.1, 0.1) * width
    first = middle - np.ceil((middle - float(shift.min())) / (SPACING * width)) * SPACING * width
    centres = np.arange(first, float(shift.max()) + 1.5 * width, SPACING * width)
    count = len(centres)
    kinds = (np.arange(count) + rng.integers(0, 2)) % 2
    widths = np.where(kinds == PILLAR, rng.uniform(0.19, 0.23, count), rng.uniform(0.28, 0.34, count)) * focal
    return np.stack([centres - widths / 2, np.zeros(count), centres + widths / 2, np.zeros(count), kinds], 1)


def occluder_colours(rng: np.random.Generator, count: int) -> np.ndarray:
    """``(K, 3)`` muted BGR colours (concrete, painted wood, billboards)."""
    grey = rng.uniform(70, 190, (count, 1))
    return np.clip(grey + rng.normal(0, 25, (count, 3)), 0, 255).round().astype(np.uint8)


def _line(times, xs, psis, t):
    """Piecewise-linear script (key times in seconds) sampled at ``t``, extrapolated at the ends with the first
    and last segments' speeds so that people keep walking before and after their scene."""
    times, xs = np.asarray(times, float), np.asarray(xs, float)
    v0 = (xs[1] - xs[0]) / (times[1] - times[0])
    v1 = (xs[-1] - xs[-2]) / (times[-1] - times[-2])
    x = np.interp(t, times, xs)
    x = np.where(t < times[0], xs[0] + v0 * (t - times[0]), x)
    x = np.where(t > times[-1], xs[-1] + v1 * (t - times[-1]), x)
    return x, np.interp(t, times, np.asarray(psis, float))


class Choreographer:
    """Draws each role's script. All quantities in metres and seconds."""

    def __init__(self, rng, cam, occluders, frames: int, fps: float):
        self.rng, self.cam, self.occluders, self.fps = rng, cam, occluders, fps
        self.t = np.arange(frames) / fps
        self.duration = max(frames - 1, 1) / fps

    def _frame(self, time: float) -> int:
        return int(np.clip(round(time * self.fps), 0, len(self.t) - 1))

    def event_time(self) -> float:
        return self.rng.uniform(0.3, 0.7) * self.duration

    def _occluder_event(self) -> tuple[float, np.ndarray]:
        """A time in the middle 40% of the sequence when an occluder is within 0.12 view widths of the view's
        centre (any time in it if the camera pans too fast for that), and that occluder."""
        cam, occ = self.cam, self.occluders
        frames = np.arange(int(0.3 * len(self.t)), max(int(0.7 * len(self.t)), int(0.3 * len(self.t)) + 1))
        offset = (occ[None, :, 0] + occ[None, :, 2]) / 2 - (cam.width / 2 + cam.shift[frames, None])
        near = np.abs(offset).min(1) <= 0.12 * cam.width
        choices = frames[near] if near.any() else frames
        frame = int(choices[self.rng.integers(len(choices))])
        t_e = (frame + self.rng.uniform(-0.5, 0.5)) / self.fps
        return t_e, occ[np.argmin(np.abs(offset[frame - frames[0]]))]

    def _freer_side(self, frame: int) -> float:
        """-1 or +1: the side of the view whose outer quarter occluders cover less at ``frame``, so that people
        leaving the view are not also hidden just before or after."""
        cam, occ = self.cam, self.occluders
        half = cam.width / 2 / cam.zoom[frame]
        centre = cam.width / 2 + cam.shift[frame]
        cover = []
        for lo, hi in ((centre - half, centre - half / 2), (centre + half / 2, centre + half)):
            cover.append(np.clip(np.minimum(occ[:, 2], hi) - np.maximum(occ[:, 0], lo), 0, None).sum())
        if cover[0] == cover[1]:
            return float(self.rng.choice([-1.0, 1.0]))
        return -1.0 if cover[0] < cover[1] else 1.0

    def behind(self, role: str, height: float):
        """``pass``, ``pause`` and ``turn``: ``(x_rel(t), depth, psi(t), hidden window (s))``."""
        rng, f, cx = self.rng, self.cam.focal, self.cam.width / 2
        t_e, occ = self._occluder_event()
        w = (occ[2] - occ[0]) / f  # shadow width per metre of depth
        body = 2 * BODY_HALF_WIDTH * height
        # Far enough for the occluder to hide the whole body with some room to walk behind it.
        depth = float(np.clip(max(rng.uniform(8.0, 10.0), (body + 0.35) / w), 7.5, 10.8))
        room = w * depth - JOINT_SPAN * height  # absent from the ground truth over this stretch of path
        centre = ((occ[0] + occ[2]) / 2 - cx) * depth / f
        s = rng.choice([-1.0, 1.0])
        hidden = rng.uniform(1.3, 2.7)
        if role == "pass":
            speed = float(np.clip(room / hidden, 0.6, 1.6))
            hidden = room / speed
            stop = 0.0
        else:  # walking behind takes at most 2.3 s, so that a stop of 0.4 s or more fits in 2.7 s
            speed = max(rng.uniform(0.9, 1.4), room / 2.3)
            hidden = max(hidden, room / speed + 0.4)
            stop = hidden - room / speed
        t_in = t_e - stop / 2  # reaches the occluder's centre
        back = -s if role == "turn" else s
        times = [t_in - 3, t_in, t_in + stop, t_in + stop + 3]
        xs = [centre - s * 3 * speed, centre, centre, centre + back * 3 * speed]
        psi = s * np.pi / 2
        turned = psi + np.pi if role == "turn" else psi
        x, heading = _line(times, xs, [psi, psi, turned, turned], self.t)
        return x, depth, heading, (t_in - room / 2 / speed, t_in + stop + room / 2 / speed)

    def exit(self, height: float):
        """Leaves through the nearer side of the view, out for 2-4 s, back on that side: x relative to the view."""
        rng = self.rng
        depth = rng.uniform(5.5, 8.5)
        speed = rng.uniform(1.0, 1.5)
        out = rng.uniform(2.3, 3.7)
        t_out = self.event_time() - out / 2  # the moment the last joint leaves the view
        frame = self._frame(t_out)
        s = self._freer_side(frame)
        edge = s * (self.cam.half_view(frame, depth) + JOINT_SPAN / 2 * height)
        walk = (out - TURN_SECONDS) / 2
        times = [t_out - 3, t_out, t_out + walk, t_out + walk + TURN_SECONDS, t_out + out, t_out + out + 3]
        far = edge + s * speed * walk
        xs = [edge - s * 3 * speed, edge, far, far, edge, edge - s * 3 * speed]
        psi = s * np.pi / 2
        x, heading = _line(times, xs, [psi, psi, psi, psi + np.pi, psi + np.pi, psi + np.pi], self.t)
        return x, depth, heading, (t_out, t_out + out)

    def cross(self, first: bool, meet: float, direction: float):
        """One of the crossing pair: meet at the view's centre at time ``meet``, x relative to the view."""
        depth, speed = (5.0, 1.3) if first else (6.5, 1.3)
        s = direction if first else -direction
        x, heading = _line([meet - 1, meet], [-s * speed, 0.0], [s * np.pi / 2] * 2, self.t)
        return x, depth, heading, (np.nan, np.nan)


def occlusion_paths(rng, cam, frames: int, fps: float, height_m: np.ndarray, roles, occluders):
    """``(T, P)`` world x, depth, heading angle and speed (m/s, for the gait) of the scripted people, and
    ``(P, 2)`` the seconds each is meant to be hidden or out of view (NaN for the crossing pair)."""
    c = Choreographer(rng, cam, occluders, frames, fps)
    n = len(roles)
    x, depth, psi = (np.zeros((frames, n)) for _ in range(3))
    windows = np.full((n, 2), np.nan)
    meet, direction = c.event_time(), rng.choice([-1.0, 1.0])
    crossers = 0
    for p, role in enumerate(roles):
        if role in ("pass", "pause", "turn"):
            xr, d, h, windows[p] = c.behind(role, height_m[p])
        else:
            if role == "exit":
                xv, d, h, windows[p] = c.exit(height_m[p])
            else:
                xv, d, h, windows[p] = c.cross(crossers == 0, meet, direction)
                crossers += 1
            xr = xv + d * cam.shift / cam.focal  # view-relative -> backdrop-relative
        x[:, p] = xr + cam.x - cam.shift * d / cam.focal
        depth[:, p], psi[:, p] = d, h
    # The gait follows the motion relative to the backdrop (what the eye reads as walking).
    rel = x - cam.x[:, None] + cam.shift[:, None] * depth / cam.focal
    speed = np.abs(np.gradient(rel, axis=0)) * fps if frames > 1 else np.zeros_like(rel)
    return x, depth, psi, speed, windows


def twin_palettes(rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    """People ``2k + 1`` (``k`` even) get person ``2k``'s clothes with small colour changes (not identical)."""
    out, dark = palette.astype(np.float64), DARK
    for a in range(0, len(palette) - 1, 4):
        base = out[a, :dark] + rng.normal(0, 10, (dark, 3))
        base = np.clip(base + np.sign(rng.normal(size=(dark, 3))) * 6, 0, 255)
        out[a + 1, :dark], out[a + 1, dark:] = base, base * 0.72
    return out.round().astype(np.uint8)
