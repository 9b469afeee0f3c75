"""``make_sequence``: one synthetic video with its exact ground truth, as the other stages' tests consume it.

Ground-truth conventions (the ``.gt`` and ``.truth`` sequences, layout ``posetrack18``):

* keypoints are the true joint positions; the score is 1 for a visible joint and 0 for one that is hidden by a
  nearer person, hidden by the person's own head (nose seen from behind) or outside the image. Hidden joints keep
  their true coordinates in memory (tests may want to know where they are); the file writer turns them into
  ``0, 0, 0``. The ear slots (3, 4) are always ``0, 0, 0``: PoseTrack files leave them empty.
* a person is listed in a frame when at least one of its joints is visible, as annotators can only label people
  they see; ``track_ids`` are the person's index in the scene, fixed for the whole sequence.
* ``boxes`` are the whole body's extent (occluded parts included) clipped to the image, ``head_boxes`` span the
  drawn head's width and run from its top to ``head_bottom``; ``scores`` are 1.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..errors import PosetrackError
from ..formats.common import image_id_for, parse_file_name
from ..layouts import POSETRACK18_UNUSED
from ..types import Frame, Sequence
from . import skeleton
from .render import Renderer
from .scene import Scene, build_scene


@dataclass
class SynthSequence:
    """A rendered synthetic sequence.

    ``frames``: list of ``(H, W, 3)`` uint8 BGR images (an iterator when made with ``lazy=True``).
    ``gt``: what a PoseTrack annotation file says (unlabelled frames carry no people). ``truth``: the same with
    every frame labelled (identical to ``gt`` when all frames are labelled); feed it to ``noisy_observations`` to
    get detections on every frame. ``visible`` ``(T, P, NUM_POINTS)`` per scene point; ``area`` ``(T, P)``
    visible pixels per person; ``labels``: per-frame ``(H, W)`` uint8 person index + 1 (only with
    ``labels=True``); ``scene``: the world (positions, depth, palette) behind it all.
    """

    name: str
    frames: list[np.ndarray] | Iterator[np.ndarray]
    gt: Sequence
    truth: Sequence
    scene: Scene
    visible: np.ndarray
    area: np.ndarray
    labels: list[np.ndarray] | None = None


def visibility(scene: Scene, t: int, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(P, NUM_POINTS)`` visible flags and ``(P,)`` visible pixel counts of frame ``t`` from its label buffer.

    A point is visible when its pixel belongs to its own person (no nearer person drawn over it), it lies in
    the image, and the person's head does not hide it.
    """
    pts = np.round(scene.points[t]).astype(np.int64)
    inside = (pts[..., 0] >= 0) & (pts[..., 1] >= 0) & (pts[..., 0] < scene.width) & (pts[..., 1] < scene.height)
    x = np.clip(pts[..., 0], 0, scene.width - 1)
    y = np.clip(pts[..., 1], 0, scene.height - 1)
    owner = labels[y, x].astype(np.int64)
    mine = owner == np.arange(1, scene.num_people + 1)[:, None]
    seen = inside & mine & skeleton.face_visible(scene.heading[t])
    counts = cv2.calcHist([labels], [0], None, [256], [0, 256]).reshape(-1)  # a fast bincount for uint8
    area = counts[1:scene.num_people + 1].round().astype(np.int64)
    return seen, area


def person_boxes(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """``(T, P, 4)`` body boxes (clipped to the image) and head boxes, xyxy."""
    pts, size = scene.points, scene.size[..., None]
    pad = 0.04 * size * scene.girth[None, :, None]
    center = pts[:, :, skeleton.P["head_center"]]
    top = center[..., 1:] - skeleton.HEAD_HALF_HEIGHT * 1.05 * size
    lo, hi = pts.min(-2), pts.max(-2)  # (T, P, 2)
    boxes = np.concatenate([lo[..., :1] - pad, np.minimum(lo[..., 1:], top), hi + pad], -1)
    boxes = np.clip(boxes, 0, [scene.width, scene.height, scene.width, scene.height])
    half = skeleton.HEAD_HALF_WIDTH * size
    heads = np.concatenate([center[..., :1] - half, center[..., 1:] - skeleton.HEAD_HALF_HEIGHT * size,
                            center[..., :1] + half, pts[:, :, skeleton.P["head_bottom"], 1:]], -1)
    return boxes.astype(np.float32), heads.astype(np.float32)


def ground_truth(scene: Scene, visible: np.ndarray, name: str, split: str,
                 labeled: np.ndarray | None = None) -> Sequence:
    """The posetrack18 ``Sequence`` of a rendered scene; frames where ``labeled`` is False carry no people."""
    keypoints = np.concatenate([scene.points[:, :, :17], visible[:, :, :17, None].astype(np.float32)], -1)
    keypoints[:, :, POSETRACK18_UNUSED] = 0
    present = visible[:, :, :17].any(-1)
    boxes, heads = person_boxes(scene)
    vid = int(name.split("_")[0])
    frames = []
    for t in range(scene.num_frames):
        file_name = f"images/{split}/{name}/{t:06d}.jpg"
        frame = Frame(file_name=file_name, image_id=image_id_for(file_name), width=scene.width,
                      height=scene.height, is_labeled=True if labeled is None else bool(labeled[t]))
        if frame.is_labeled:
            who = np.flatnonzero(present[t])
            frame.keypoints = keypoints[t, who]
            frame.boxes = boxes[t, who]
            frame.head_boxes = heads[t, who]
            frame.scores = np.ones(len(who), np.float32)
            frame.track_ids = who.astype(np.int64)
        frames.append(frame)
    return Sequence(name=name, frames=frames, layout="posetrack18", vid_id=vid)


def make_sequence(seed: int | list[int] = 0, frames: int = 50, people: int = 4, width: int = 640,
                  height: int = 480, fps: float = 25.0, *, scenario: str = "random", pan: float = 0.0,
                  zoom: float = 1.0, enter_leave: bool = True, clutter: bool = True, noise: float = 4.0,
                  run_fraction: float = 0.25, labeled_every: int = 1, name: str | None = None,
                  split: str = "val", lazy: bool = False, labels: bool = False) -> SynthSequence:
    """Render one synthetic multi-person sequence with its ground truth; the same arguments give the same pixels.

    ``scenario``: ``"random"`` (people wander, walk and run) or ``"crossing"`` (person 0 walks left to right
    at 5 m, person 1 right to left at 6.5 m, crossing mid-sequence so 0 hides 1; further people stay behind) or
    ``"occlusion"`` (scripted people hidden by foreground occluders or leaving the view and coming back, see
    ``occlusion.py``; ``enter_leave`` and ``run_fraction`` do not apply). Joints behind an occluder are hidden.
    ``pan``: camera pan in backdrop pixels per frame; ``zoom``: zoom factor reached at the last frame.
    ``enter_leave``: about half the people walk in from, or out through, an edge of the view; without it
    people steer to stay in view. ``clutter``: random shapes and stripes on the backdrop (else plain
    gradients). ``noise``: sigma of the Gaussian image noise (0 for none). ``run_fraction``: share of runners.
    ``labeled_every``: only every K-th frame is labelled in ``gt`` (PoseTrack val labels a subset).
    ``lazy``: ``frames`` is an iterator rendering on demand (for long sequences). ``labels``: keep label buffers.
    """
    if name is None:
        name = f"{1:06d}_mpii_{split}"
    if parse_file_name(f"images/{split}/{name}/000000.jpg") is None:
        raise PosetrackError(f"synthetic sequence name {name!r} does not follow the PoseTrack pattern "
                             "'<6 digits>_mpii_<split>' that the official evaluation parses")
    if frames > 10000:
        raise PosetrackError(f"{frames} frames: PoseTrack sequences hold fewer than 10000 frames")
    if not fps > 0:
        raise PosetrackError(f"fps must be positive, got {fps}")
    if width < 64 or height < 64:
        raise PosetrackError(f"frame size {width}x{height} is too small for synthetic people; use at least 64x64")
    if labeled_every < 1:
        raise PosetrackError(f"labeled_every must be >= 1, got {labeled_every}")
    scene_rng, backdrop_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    scene = build_scene(scene_rng, frames, people, width, height, fps, scenario, pan, zoom, enter_leave,
                        run_fraction)
    renderer = Renderer(backdrop_rng, scene, clutter, noise)

    images, label_buffers = [], []
    visible = np.zeros((frames, people, skeleton.NUM_POINTS), bool)
    area = np.zeros((frames, people), np.int64)
    for t in range(frames):
        img, lab = renderer.frame(t, image=not lazy, labels=True)
        visible[t], area[t] = visibility(scene, t, lab)
        if img is not None:
            images.append(img)
        if labels:
            label_buffers.append(lab)

    truth = ground_truth(scene, visible, name, split)
    labeled = np.arange(frames) % labeled_every == 0
    gt = truth if labeled.all() else ground_truth(scene, visible, name, split, labeled)
    out_frames = (renderer.frame(t, labels=False)[0] for t in range(frames)) if lazy else images
    return SynthSequence(name=name, frames=out_frames, gt=gt, truth=truth, scene=scene, visible=visible,
                         area=area, labels=label_buffers if labels else None)


def file_ground_truth(gt: Sequence) -> Sequence:
    """``gt`` as PoseTrack files store it: joints with score 0 become ``0, 0, 0``."""
    frames = []
    for f in gt.frames:
        kpts = f.keypoints.copy()
        kpts[kpts[..., 2] <= 0] = 0
        frames.append(replace(f, keypoints=kpts))
    return replace(gt, frames=frames)
