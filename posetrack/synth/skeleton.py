"""The body model: an articulated stick person with proportions, gaits and a list of drawn parts.

A person is a set of 3D points in a body frame (``lateral`` to the person's left, ``up``, ``forward``, in metres)
driven by a gait phase: hip, knee, shoulder and elbow angles oscillate with the phase, the trunk leans, and the
hip height follows the stance leg, which gives the torso bob of walking (and a flight phase when running).
Points are projected by weak perspective: one scale (pixels per metre) per person and frame, the heading
rotating the body about the vertical axis. Everything is vectorised over any leading shape (frames, people).

Proportions are fractions of standing height (the usual anthropometric tables: shoulders at 0.82, hips at 0.52,
chin at 0.86). All joints lie on the centre line of a drawn part or inside the drawn head, so a joint that is in
the image and not covered by a nearer person is on its own person's pixels.
"""
from __future__ import annotations

import numpy as np

# Point order: slots 0-16 are the posetrack18 layout (ears included, though PoseTrack files leave them empty);
# the rest are extra points used for COCO (eyes) and for drawing.
POINTS = ("nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
          "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
          "right_knee", "left_ankle", "right_ankle", "left_eye", "right_eye", "head_center", "left_toe",
          "right_toe", "shoulder_mid", "hip_mid")
P = {name: i for i, name in enumerate(POINTS)}
NUM_POINTS = len(POINTS)
POSETRACK18_POINTS = np.arange(17)
COCO17_POINTS = np.array([P["nose"], P["left_eye"], P["right_eye"], P["left_ear"], P["right_ear"]]
                         + list(range(5, 17)))

# Half axes of the drawn head ellipse (fractions of height); face points sit inside it.
HEAD_HALF_WIDTH, HEAD_HALF_HEIGHT = 0.056, 0.068

# Colour slots of a person's palette; a far-side limb uses its slot + DARK.
SKIN, HAIR, SHIRT, TROUSERS, SHOES, SLEEVE = range(6)
DARK = 6

# Drawn parts: (from point, to point, thickness as a fraction of height, colour slot, side: +1 left, -1 right).
LIMBS = {
    "leg": [("hip", "knee", 0.075, TROUSERS), ("knee", "ankle", 0.055, TROUSERS), ("ankle", "toe", 0.04, SHOES)],
    "arm": [("shoulder", "elbow", 0.05, SHIRT), ("elbow", "wrist", 0.04, SLEEVE)],
}
TORSO_DEPTH = 0.12   # thickness of the trunk seen from the side
PELVIS = 0.08
NECK = 0.05

_WALK = dict(hip0=0.05, hip=0.38, knee0=0.08, knee=0.75, knee_peak=-0.3, shoulder0=0.0, shoulder=0.32,
             elbow0=0.25, elbow=0.25, lean=0.04, lift=0.0, stride=0.8)
_RUN = dict(hip0=0.2, hip=0.6, knee0=0.35, knee=1.5, knee_peak=-0.6, shoulder0=0.15, shoulder=0.55,
            elbow0=1.45, elbow=0.2, lean=0.18, lift=0.04, stride=1.25)


def gait_parameter(name: str, running: np.ndarray) -> np.ndarray:
    """One gait constant for each person (walking or running)."""
    return np.where(running, _RUN[name], _WALK[name])


def stride_frequency(speed: np.ndarray, height: np.ndarray, running: np.ndarray) -> np.ndarray:
    """Gait cycles per second: a walking stride is ~0.8 body heights, a running stride ~1.25."""
    return speed / (gait_parameter("stride", running) * height)


def _bump(x: np.ndarray) -> np.ndarray:
    return ((1 + np.cos(x)) / 2) ** 2


def body_points(phase: np.ndarray, running: np.ndarray, height: np.ndarray) -> np.ndarray:
    """``(..., NUM_POINTS, 3)`` body-frame points (lateral, up, forward) in metres, feet on the ground (up = 0).

    ``phase`` is the gait phase in radians; the left leg swings forward while ``sin(phase)`` rises and the
    right arm swings with it, as in human gait. All inputs broadcast together.
    """
    phase, running, height = np.broadcast_arrays(phase, running, height)
    g = {k: gait_parameter(k, running) for k in _WALK}
    out = np.zeros(phase.shape + (NUM_POINTS, 3), np.float64)
    h = height
    thigh, shank, ankle_h = 0.245 * h, 0.245 * h, 0.04 * h

    legs = {}
    for side, offset in ((1, 0.0), (-1, np.pi)):
        hip_angle = g["hip0"] + g["hip"] * np.sin(phase + offset)
        knee_angle = g["knee0"] + g["knee"] * _bump(phase + offset - g["knee_peak"])
        legs[side] = (hip_angle, knee_angle)
    # The stance leg (the one reaching lowest) stands on the ground; that sets the hip height.
    reach = [thigh * np.cos(a) + shank * np.cos(a - k) for a, k in legs.values()]
    flight = g["lift"] * h * np.clip(np.sin(2 * phase), 0, None)
    hip_h = ankle_h + np.maximum(*reach) + flight

    for side, name in ((1, "left"), (-1, "right")):
        a, k = legs[side]
        hip = np.stack([side * 0.055 * h, hip_h, 0 * h], -1)
        knee = hip + np.stack([0 * h, -thigh * np.cos(a), thigh * np.sin(a)], -1)
        ankle = knee + np.stack([0 * h, -shank * np.cos(a - k), shank * np.sin(a - k)], -1)
        out[..., P[f"{name}_hip"], :] = hip
        out[..., P[f"{name}_knee"], :] = knee
        out[..., P[f"{name}_ankle"], :] = ankle
        out[..., P[f"{name}_toe"], :] = ankle + np.stack([0 * h, -0.025 * h, 0.11 * h], -1)

    lean = g["lean"]

    def trunk(lateral, above_hip, forward):
        # A point fixed to the trunk, which pivots forward about the hips by ``lean``.
        up = hip_h + above_hip * h * np.cos(lean) - forward * h * np.sin(lean)
        fwd = above_hip * h * np.sin(lean) + forward * h * np.cos(lean)
        return np.stack([lateral * h + 0 * up, up, fwd], -1)

    out[..., P["head_bottom"], :] = trunk(0, 0.335, 0.01)
    out[..., P["head_center"], :] = trunk(0, 0.415, 0)
    out[..., P["head_top"], :] = trunk(0, 0.477, 0)
    out[..., P["nose"], :] = trunk(0, 0.405, 0.045)
    for side, name in ((1, "left"), (-1, "right")):
        out[..., P[f"{name}_eye"], :] = trunk(side * 0.025, 0.425, 0.038)
        out[..., P[f"{name}_ear"], :] = trunk(side * 0.05, 0.415, 0)
        shoulder = trunk(side * 0.105, 0.295, 0)
        # Arms swing opposite to the same-side leg; the elbow bends more when the arm is forward.
        swing = g["shoulder0"] - side * g["shoulder"] * np.sin(phase)
        bend = g["elbow0"] + g["elbow"] * np.clip(-side * np.sin(phase), 0, None)
        upper, fore = 0.17 * h, 0.155 * h
        elbow = shoulder + np.stack([side * 0.015 * h, -upper * np.cos(swing), upper * np.sin(swing)], -1)
        wrist = elbow + np.stack([side * 0.01 * h, -fore * np.cos(swing + bend), fore * np.sin(swing + bend)], -1)
        out[..., P[f"{name}_shoulder"], :] = shoulder
        out[..., P[f"{name}_elbow"], :] = elbow
        out[..., P[f"{name}_wrist"], :] = wrist
    out[..., P["shoulder_mid"], :] = (out[..., P["left_shoulder"], :] + out[..., P["right_shoulder"], :]) / 2
    out[..., P["hip_mid"], :] = (out[..., P["left_hip"], :] + out[..., P["right_hip"], :]) / 2
    return out


def project(points: np.ndarray, heading: np.ndarray, foot: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Screen ``(..., NUM_POINTS, 2)`` pixels of body-frame points.

    ``heading`` ``(..., 2)`` is the walking direction on the ground as (x, depth) unit vectors; the person's left
    is then ``(-depth, x)`` (someone facing the camera has their left on the image's right). ``foot`` ``(..., 2)``
    is the screen point of the ground under the hips and ``scale`` the pixels per metre at that depth.
    """
    fx, fz = heading[..., 0, None], heading[..., 1, None]
    lateral, up, forward = points[..., 0], points[..., 1], points[..., 2]
    x = -lateral * fz + forward * fx
    s = scale[..., None]
    return np.stack([foot[..., 0, None] + s * x, foot[..., 1, None] - s * up], -1)


def face_visible(heading: np.ndarray) -> np.ndarray:
    """``(..., NUM_POINTS)`` False where the head itself hides a face point (seen from behind or the far side).

    A face point is seen when its outward direction does not point away from the camera (camera looks along
    +depth). Ears are seen side-on and from the front; eyes and nose are lost once the head turns away.
    """
    fx, fz = heading[..., 0], heading[..., 1]
    seen = np.ones(heading.shape[:-1] + (NUM_POINTS,), bool)
    seen[..., P["nose"]] = fz < 0.5
    for side, name in ((1, "left"), (-1, "right")):
        # Depth component of the outward direction: lateral part along (fx), forward part along (fz).
        seen[..., P[f"{name}_eye"]] = side * 0.5 * fx + 0.87 * fz < 0.2
        seen[..., P[f"{name}_ear"]] = side * fx < 0.3
    return seen


def random_palette(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 2 * DARK, 3)`` uint8 BGR colours per person; slots ``DARK..`` are the shaded far-side versions."""
    skins = np.array([[60, 80, 120], [90, 125, 175], [120, 160, 210], [150, 190, 230], [40, 55, 85]], np.float64)
    base = np.empty((n, DARK, 3))
    base[:, SKIN] = skins[rng.integers(0, len(skins), n)] + rng.normal(0, 6, (n, 3))
    base[:, HAIR] = rng.uniform(10, 90, (n, 1)) * np.array([0.8, 0.9, 1.0]) + rng.uniform(0, 40, (n, 3))
    base[:, SHIRT] = rng.uniform(20, 240, (n, 3))
    base[:, TROUSERS] = rng.uniform(15, 200, (n, 3)) * rng.uniform(0.5, 1.0, (n, 1))
    base[:, SHOES] = rng.uniform(10, 120, (n, 3))
    long_sleeves = rng.random(n) < 0.4
    base[:, SLEEVE] = np.where(long_sleeves[:, None], base[:, SHIRT], base[:, SKIN])
    base = np.clip(base, 0, 255)
    return np.concatenate([base, base * 0.72], axis=1).round().astype(np.uint8)
