"""People and camera: where every person is, faces and how big they look in every frame.

The world is a ground plane (``x`` across, ``depth`` away from the camera, metres) seen by a pinhole camera
``CAMERA_HEIGHT`` m above it, tilted down so the horizon sits at 36% of the image height. Apparent size follows
depth, so people walking toward or away from the camera grow or shrink; panning moves the camera along ``x``
(nearer people shift more than the background: parallax) and zooming scales the whole image about its centre.

People walk or run along smooth paths: a slowly wandering heading, steered away from "walls" (the near and far
limits of the stage and, for people meant to stay, the edges of the view). People meant to enter or leave walk
straight in from, or out through, an edge of the view. The ``crossing`` scenario puts two people on straight
opposite paths that cross at mid-sequence, the nearer one hiding the farther. The ``occlusion`` scenario
(``occlusion.py``) scripts people who vanish behind static foreground occluders or out of the view and come back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import PosetrackError
from . import occlusion, skeleton

CAMERA_HEIGHT = 1.5     # metres
HORIZON = 0.36          # horizon row as a fraction of the image height, at zoom 1
BACKGROUND_DEPTH = 12.0  # depth of the backdrop: the pan speed is given in its pixels
NEAR, FAR = 3.6, 10.5   # the stage people are steered to stay in (depth, metres)
WALL = 1.2              # people start turning this far (metres) before a wall
SCENARIOS = ("random", "crossing", "occlusion")


@dataclass
class Scene:
    """Everything the renderer and the ground truth need, for ``T`` frames and ``P`` people.

    ``points`` ``(T, P, NUM_POINTS, 2)`` screen pixels (see ``skeleton.POINTS``); ``depth`` ``(T, P)`` metres
    (drawing order: far first); ``size`` ``(T, P)`` standing height in pixels; ``heading`` ``(T, P, 2)`` walking
    direction (x, depth); ``girth`` ``(P,)`` limb thickness factor; ``palette`` ``(P, 12, 3)`` BGR colours;
    ``shift`` and ``zoom`` ``(T,)``: how far the backdrop has panned (pixels at zoom 1) and the zoom factor.
    ``occluders`` ``(K, 5)``: foreground occluders drawn in front of everyone, x1, y1, x2, y2 in backdrop pixels
    (frame 0, zoom 1) and kind; ``occluder_colours`` ``(K, 3)`` BGR;
    ``roles``: each person's script in the ``occlusion`` scenario and ``hidden`` ``(P, 2)`` the seconds it
    means them to be hidden or out of view (NaN for the crossing pair; both empty in other scenarios).
    """

    width: int
    height: int
    fps: float
    points: np.ndarray
    depth: np.ndarray
    size: np.ndarray
    heading: np.ndarray
    girth: np.ndarray
    running: np.ndarray
    palette: np.ndarray
    shift: np.ndarray
    zoom: np.ndarray
    occluders: np.ndarray = field(default_factory=lambda: np.zeros((0, 5), np.float32))
    occluder_colours: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    roles: tuple = ()
    hidden: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))

    @property
    def num_frames(self) -> int:
        return self.points.shape[0]

    @property
    def num_people(self) -> int:
        return self.points.shape[1]

    @property
    def horizon(self) -> float:
        return HORIZON * self.height


class _Camera:
    def __init__(self, width, height, frames, pan, zoom):
        self.width, self.height = width, height
        self.focal = 4 / 3 * height
        t = np.arange(frames, dtype=np.float64)
        self.shift = pan * t
        self.zoom = 1 + (zoom - 1) * t / max(frames - 1, 1)
        self.x = self.shift * BACKGROUND_DEPTH / self.focal  # camera position on the ground (metres)

    def half_view(self, t, depth):
        """Half the width of the view (metres) at ``depth`` in frame ``t``."""
        return self.width / 2 / self.zoom[t] * depth / self.focal

    def to_screen(self, t, x, depth):
        """Screen point of the ground at (x, depth) and pixels per metre there, frame index array ``t``."""
        z, f = self.zoom[t], self.focal
        u = self.width / 2 + z * f * (x - self.x[t]) / depth
        v = self.height / 2 + z * (HORIZON * self.height + f * CAMERA_HEIGHT / depth - self.height / 2)
        return np.stack([u, v], -1), z * f / depth


def _steer(rng, cam, x, depth, psi, speed, start, direction, stay_in_view, steps, fps, near):
    """Integrate walking paths for ``steps`` frames from frame ``start`` forward (+1) or backward (-1) in time.

    Returns ``(steps, P)`` arrays x, depth, heading angle. The heading wanders (an Ornstein-Uhlenbeck turn rate)
    and turns toward the stage when a wall is near, at up to ~3 rad/s.
    """
    n = len(x)
    xs, zs, ps = (np.empty((steps, n)) for _ in range(3))
    turn = np.zeros(n)
    walk_psi = psi + (np.pi if direction < 0 else 0.0)  # walking backward in time = walking the other way
    dt = 1.0 / fps
    for i in range(steps):
        xs[i], zs[i], ps[i] = x, depth, walk_psi
        t = np.clip(start + direction * i, 0, cam.zoom.size - 1)
        half = cam.half_view(t, depth) - WALL
        left, right = cam.x[t] - half - x, x - cam.x[t] - half
        push_x = np.where(stay_in_view, np.clip(left, 0, None) - np.clip(right, 0, None), 0)
        push_z = np.clip(near + WALL - depth, 0, None) - np.clip(depth - FAR + WALL, 0, None)
        strength = np.minimum(np.hypot(push_x, push_z) / WALL, 1.0)
        # Turn toward the stage at full rate unless already nearly facing it (a plain sin() would stall when
        # heading straight at the wall).
        miss = np.angle(np.exp(1j * (np.arctan2(push_x, push_z) - walk_psi)))
        turn = 0.92 * turn + rng.normal(0, 0.06, n)
        rate = np.clip(turn + 3.0 * strength * np.clip(miss / (np.pi / 4), -1, 1), -3.0, 3.0)
        walk_psi = walk_psi + rate * dt
        x = x + speed * np.sin(walk_psi) * dt
        # A hard floor on depth as a safety net: nobody walks into (or behind) the camera.
        depth = np.maximum(depth + speed * np.cos(walk_psi) * dt, near - 0.6)
    if direction < 0:
        ps = ps + np.pi
    return xs, zs, ps


def _random_paths(rng, cam, frames, fps, speed, enter_leave, near=NEAR):
    """``(T, P)`` x, depth and heading angle of freely walking people."""
    n = len(speed)
    role = np.where(rng.random(n) < (0.5 if enter_leave else 0.0), rng.choice([1, 2], n), 0)  # 1 enters, 2 leaves
    t_anchor = np.where(role == 1, rng.uniform(0, 0.6, n), np.where(role == 2, rng.uniform(0.4, 1, n),
                                                                      rng.uniform(0, 1, n)))
    t_anchor = np.minimum((t_anchor * frames).astype(np.int64), frames - 1)
    depth = rng.uniform(near + WALL, FAR - WALL, n)
    lateral = rng.random(n) < 0.7
    psi = np.where(lateral, rng.choice([-1, 1], n) * np.pi / 2 + rng.normal(0, 0.35, n),
                   rng.choice([0, np.pi], n) + rng.normal(0, 0.4, n))
    # Free walkers start somewhere in the middle 70% of the view; edge walkers just outside it.
    half = cam.half_view(t_anchor, depth)
    x = cam.x[t_anchor] + rng.uniform(-0.7, 0.7, n) * half
    side = rng.choice([-1, 1], n)
    edge = role > 0
    x = np.where(edge, cam.x[t_anchor] + side * (half + 0.35), x)
    inward = np.where(side < 0, np.pi / 2, -np.pi / 2) + rng.normal(0, 0.25, n)
    psi = np.where(role == 1, inward, np.where(role == 2, inward + np.pi, psi))

    fx, fz, fp = _steer(rng, cam, x, depth, psi, speed, t_anchor, +1, role != 2, frames, fps, near)
    bx, bz, bp = _steer(rng, cam, x, depth, psi, speed, t_anchor, -1, role != 1, frames, fps, near)
    offset = np.arange(frames)[:, None] - t_anchor[None, :]
    cols = np.arange(n)[None, :]
    fwd, bwd = np.clip(offset, 0, frames - 1), np.clip(-offset, 0, frames - 1)
    ahead = offset >= 0
    return tuple(np.where(ahead, f[fwd, cols], b[bwd, cols]) for f, b in ((fx, bx), (fz, bz), (fp, bp)))


def _crossing_paths(cam, frames, fps, speed):
    """Two people on straight opposite paths, meeting at the middle of the view halfway through."""
    t = np.arange(frames, dtype=np.float64)[:, None]
    middle = (frames - 1) / 2
    meet = cam.x[int(round(middle))]
    direction = np.array([1.0, -1.0])
    x = meet + direction * speed[:2] * (t - middle) / fps
    depth = np.broadcast_to(np.array([5.0, 6.5]), x.shape)
    psi = np.broadcast_to(direction * np.pi / 2, x.shape)
    return x, depth, psi


def build_scene(rng: np.random.Generator, frames: int, people: int, width: int, height: int, fps: float,
                scenario: str = "random", pan: float = 0.0, zoom: float = 1.0, enter_leave: bool = True,
                run_fraction: float = 0.25) -> Scene:
    if scenario not in SCENARIOS:
        raise PosetrackError(f"unknown synthetic scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if scenario == "crossing" and people < 2:
        raise PosetrackError("the 'crossing' scenario needs at least 2 people; pass people >= 2")
    if frames < 1 or people < 0 or people > 250:
        raise PosetrackError(f"synthetic sequences need frames >= 1 and 0 <= people <= 250, got frames={frames}, "
                             f"people={people}")
    if zoom <= 0:
        raise PosetrackError(f"zoom must be a positive factor (1 = none), got {zoom}")
    cam = _Camera(width, height, frames, pan, zoom)
    running = rng.random(people) < run_fraction
    speed = np.where(running, rng.uniform(2.4, 3.6, people), rng.uniform(0.9, 1.6, people))
    height_m = rng.uniform(1.5, 1.95, people)
    girth = rng.uniform(0.85, 1.2, people)
    phase0 = rng.uniform(0, 2 * np.pi, people)

    if scenario == "occlusion":
        return _occlusion_scene(rng, cam, frames, fps, height_m, girth, phase0)
    if scenario == "crossing":
        running[:2] = False
        speed[:2] = 1.3
        height_m[:2] = 1.75
        cross = _crossing_paths(cam, frames, fps, speed)
        rest = _random_paths(rng, cam, frames, fps, speed[2:], enter_leave, near=7.5)  # behind the pair
        x, depth, psi = (np.concatenate([c, r], axis=1) for c, r in zip(cross, rest))
    else:
        x, depth, psi = _random_paths(rng, cam, frames, fps, speed, enter_leave)

    t = np.arange(frames)[:, None]
    foot, scale = cam.to_screen(np.broadcast_to(t, x.shape), x, depth)
    heading = np.stack([np.sin(psi), np.cos(psi)], -1)
    phase = phase0 + 2 * np.pi * skeleton.stride_frequency(speed, height_m, running) * t / fps
    body = skeleton.body_points(phase, running, height_m)
    points = skeleton.project(body, heading, foot, scale)
    return Scene(width=width, height=height, fps=fps, points=points.astype(np.float32),
                 depth=depth.astype(np.float32), size=(scale * height_m).astype(np.float32),
                 heading=heading.astype(np.float32), girth=girth.astype(np.float32), running=running,
                 palette=skeleton.random_palette(rng, people), shift=cam.shift, zoom=cam.zoom)


def _occlusion_scene(rng, cam, frames, fps, height_m, girth, phase0) -> Scene:
    """Scripted people (``occlusion.py``), all walking; the gait follows each frame's speed (0 when stopped)."""
    people = len(height_m)
    roles = occlusion.roles_for(people)
    occluders = occlusion.place_occluders(rng, cam.width, cam.focal, cam.shift)
    # Pillars run from above the image to below it, panels from PANEL_TOP down (beyond the bottom even when
    # zoomed out: they stand on the floor).
    occluders[:, 1] = np.where(occluders[:, 4] == occlusion.PANEL, occlusion.PANEL_TOP * cam.height, -cam.height)
    occluders[:, 3] = 2 * cam.height
    x, depth, psi, speed, hidden = occlusion.occlusion_paths(rng, cam, frames, fps, height_m, roles, occluders)
    running = np.zeros(people, bool)
    t = np.arange(frames)[:, None]
    foot, scale = cam.to_screen(np.broadcast_to(t, x.shape), x, depth)
    heading = np.stack([np.sin(psi), np.cos(psi)], -1)
    phase = phase0 + 2 * np.pi * np.cumsum(skeleton.stride_frequency(speed, height_m, running), 0) / fps
    points = skeleton.project(skeleton.body_points(phase, running, height_m), heading, foot, scale)
    palette = occlusion.twin_palettes(rng, skeleton.random_palette(rng, people))
    return Scene(width=cam.width, height=cam.height, fps=fps, points=points.astype(np.float32),
                 depth=depth.astype(np.float32), size=(scale * height_m).astype(np.float32),
                 heading=heading.astype(np.float32), girth=girth.astype(np.float32), running=running,
                 palette=palette, shift=cam.shift, zoom=cam.zoom, occluders=occluders.astype(np.float32),
                 occluder_colours=occlusion.occluder_colours(rng, len(occluders)), roles=roles,
                 hidden=hidden.astype(np.float32))
