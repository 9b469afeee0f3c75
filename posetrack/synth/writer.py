"""A synthetic data set on disk, in the layouts of the real PoseTrack 2018 and COCO releases.

::

    OUT/images/<split>/<seq>/000000.jpg ...            frames (JPEG quality 90)
    OUT/annotations/<split>/<seq>.json                 PoseTrack 2018 ground truth, one file per sequence
    OUT/annotations/person_keypoints_<split>.json      COCO-17 keypoints of every labelled frame, for training
    OUT/videos/<split>/<seq>.mp4                       H.264 yuv420p, playable in browsers

With ``fmt="posetrack21"`` the ground truth takes the PoseTrack21 release's layout instead of
``annotations/<split>/``: ``OUT/posetrack_data/<split>/<seq>.json`` (see ``synth.pt21``) and the box-tracking
ground truth ``OUT/posetrack_mot/mot/<split>/<seq>/{image_info.json,gt/gt.txt}``.

Hidden joints follow each format's convention. PoseTrack 2018 ground truth only annotates what annotators can
see, and the official evaluation counts every listed joint (a joint is absent only as ``0, 0, 0``), so joints
hidden by another person, by the person's own head, or outside the image are written ``0, 0, 0``. COCO
distinguishes "labelled but not visible" (``v = 1``) from "not labelled" (``v = 0``): a joint inside the image
hidden by a nearer person is written with its true position and ``v = 1``; joints outside the image or hidden
by the own head (a face seen from behind) are ``0, 0, 0``; visible joints have ``v = 2``.

Same seed, same bytes: every random draw comes from the seed, JPEG encoding is deterministic, and JSON keys
are written in a fixed order.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..atomic import write_bytes
from ..errors import PosetrackError
from ..formats import mot, posetrack18, posetrack21
from ..formats.common import write_json
from ..geometry import xyxy_to_xywh
from ..io.writer import VideoWriter
from ..layouts import COCO17
from . import skeleton
from .sequence import SynthSequence, file_ground_truth, make_sequence, person_boxes

JPEG_QUALITY = 90
# COCO's own 1-based person skeleton, as in person_keypoints_*.json of the official release.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
                 [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]


@dataclass
class DatasetSummary:
    sequences: list[str]
    frames: int
    labeled_frames: int
    people: int  # annotated people, summed over labelled frames
    seconds: float


def coco_entries(syn: SynthSequence, first_annotation_id: int) -> tuple[list[dict], list[dict]]:
    """COCO ``images`` (labelled frames) and ``annotations`` (people of ``syn.gt``) of one sequence."""
    scene = syn.scene
    pts = scene.points[:, :, skeleton.COCO17_POINTS].astype(np.float64)
    visible = syn.visible[:, :, skeleton.COCO17_POINTS]
    inside = ((pts >= 0) & (pts < [scene.width, scene.height])).all(-1)
    self_hidden = ~skeleton.face_visible(scene.heading)[:, :, skeleton.COCO17_POINTS]
    flag = np.where(visible, 2, np.where(inside & ~self_hidden, 1, 0))
    keypoints = np.concatenate([np.where(flag[..., None] > 0, pts, 0).round(2), flag[..., None]], -1)
    boxes = xyxy_to_xywh(person_boxes(scene)[0].reshape(-1, 4)).reshape(scene.num_frames, -1, 4)
    boxes = boxes.astype(np.float64).round(2)
    images, annotations = [], []
    next_id = first_annotation_id
    for t, frame in enumerate(syn.gt.frames):
        if not frame.is_labeled:
            continue
        images.append({"id": int(frame.image_id), "file_name": frame.file_name, "width": scene.width,
                       "height": scene.height})
        for p in frame.track_ids.tolist():
            annotations.append({
                "id": next_id, "image_id": int(frame.image_id), "category_id": 1, "iscrowd": 0,
                "keypoints": keypoints[t, p].reshape(-1).tolist(), "num_keypoints": int((flag[t, p] > 0).sum()),
                "bbox": boxes[t, p].tolist(), "area": int(syn.area[t, p]), "track_id": int(p)})
            next_id += 1
    return images, annotations


def _prepare(out: Path, split: str, force: bool) -> list[Path]:
    targets = [out / "images" / split, out / "annotations" / split, out / "videos" / split,
               out / "posetrack_data" / split, out / "posetrack_mot" / "mot" / split,
               out / "annotations" / f"person_keypoints_{split}.json"]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise PosetrackError(f"{out}: already holds a '{split}' split ({existing[0]}); choose another OUT or "
                             "split, or pass --force to replace it")
    for path in existing:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return targets


def write_dataset(out: str | os.PathLike, split: str = "val", sequences: int = 1, frames: int = 50,
                  people: int = 4, seed: int = 0, width: int = 640, height: int = 480, fps: float = 25.0,
                  labeled_every: int = 1, video: bool = True, force: bool = False, progress=None,
                  fmt: str = "posetrack18", **scenario) -> DatasetSummary:
    """Render ``sequences`` sequences and write them under ``out`` (see the module docstring for the layout).

    Sequence ``i`` (0-based) is named ``<i+1:06d>_mpii_<split>`` and rendered from seed ``[seed, i]``;
    ``scenario`` takes ``make_sequence``'s scenario keywords. ``progress`` is called with each sequence name.
    ``fmt`` is ``"posetrack18"`` or ``"posetrack21"`` (the ground truth's format and layout).
    """
    if fmt not in ("posetrack18", "posetrack21"):
        raise PosetrackError(f"unknown ground-truth format {fmt!r}; choose posetrack18 or posetrack21")
    if not re.fullmatch(r"[A-Za-z0-9]+", split):
        raise PosetrackError(f"split {split!r}: use letters and digits only (e.g. train, val, test); it becomes "
                             "part of the PoseTrack sequence names")
    if not 1 <= sequences <= 999999:
        raise PosetrackError(f"--sequences must be between 1 and 999999, got {sequences}")
    if width < 64 or height < 64 or (video and (width % 2 or height % 2)):
        raise PosetrackError(f"frame size {width}x{height}: need at least 64x64, and even sides for H.264 video "
                             "(yuv420p); change --width/--height or pass --no-video")
    out = Path(out)
    started = time.perf_counter()

    def render(i):
        name = f"{i + 1:06d}_mpii_{split}"
        return make_sequence(seed=[seed, i], frames=frames, people=people, width=width, height=height, fps=fps,
                             labeled_every=labeled_every, name=name, split=split, lazy=True, **scenario)

    first = render(0)  # bad scenario options fail here, before anything in OUT is touched
    try:
        return _write_all(out, split, sequences, first, render, video, force, progress, started, fmt)
    except OSError as err:
        raise PosetrackError(f"{err.filename or out}: cannot write ({err.strerror}); choose a writable OUT "
                             "folder with free space") from None


def _write_ground_truth(out: Path, split: str, syn: SynthSequence, fmt: str) -> None:
    if fmt == "posetrack18":
        posetrack18.write_sequence(out / "annotations" / split / f"{syn.name}.json", file_ground_truth(syn.gt))
        return
    from .pt21 import pt21_ground_truth

    gt = pt21_ground_truth(syn.truth, [f.is_labeled for f in syn.gt.frames])
    posetrack21.write_sequence(out / "posetrack_data" / split / f"{syn.name}.json", gt)
    mot.write_mot_ground_truth(out / "posetrack_mot" / "mot" / split, gt)


def _write_all(out, split, sequences, first, render, video, force, progress, started, fmt) -> DatasetSummary:
    coco_path = _prepare(out, split, force)[-1]
    coco_images, coco_annotations, names = [], [], []
    total_frames = labeled_frames = total_people = 0
    for i in range(sequences):
        syn = first if i == 0 else render(i)
        name = syn.name
        image_dir = out / "images" / split / name
        image_dir.mkdir(parents=True, exist_ok=True)
        scene = syn.scene
        video_path = out / "videos" / split / f"{name}.mp4"
        # VideoWriter renames its file into place only when the block ends without an exception.
        with VideoWriter(video_path, scene.fps, (scene.width, scene.height)) if video else nullcontext() as writer:
            for frame, image in zip(syn.gt.frames, syn.frames):
                _, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                write_bytes(out / frame.file_name, jpeg.tobytes())
                if writer is not None:
                    writer.write(image)
        _write_ground_truth(out, split, syn, fmt)
        images, annotations = coco_entries(syn, len(coco_annotations) + 1)
        coco_images += images
        coco_annotations += annotations
        names.append(name)
        total_frames += len(syn.gt.frames)
        labeled_frames += len(images)
        total_people += len(annotations)
        if progress is not None:
            progress(name)
    write_json(coco_path, {
        "info": {"description": "posetrack synthetic people", "version": "1.0"},
        "images": coco_images, "annotations": coco_annotations,
        "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(COCO17.joints),
                        "skeleton": COCO_SKELETON}]})
    return DatasetSummary(names, total_frames, labeled_frames, total_people, time.perf_counter() - started)
