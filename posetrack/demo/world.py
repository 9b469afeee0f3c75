"""The synthetic scenes behind the demo models and the demo clips.

Training data (``python -m posetrack.demo.world train ROOT``): ``parts`` independent ``posetrack synth`` splits
rendered in parallel, each with its own seed, crowd size, camera pan/zoom, image noise and scenario, then merged
into one ``train`` split: ``annotations/train/*.json`` (PoseTrack 2018, for the pose network) and
``annotations/person_keypoints_train.json`` (COCO boxes, for the detector; image and annotation ids renumbered,
since every part numbers its sequences from 1). ``val`` is a separate seed. Demo and held-out clips
(``write_clips``) use other seeds again, so the demo never scores a model on what it was trained on.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..formats import posetrack18
from ..formats.common import present_joints
from ..formats.common import write_json

TRAIN_SEED = 1000  # part k is rendered from seed TRAIN_SEED + k
VAL_SEED = 999
DEMO_SEED = 2018   # posetrack demo's default; held-out checks use others (e.g. 7)


def part_scenario(k: int) -> dict:
    """Scene settings of training part ``k``: every combination of crowd, camera motion and clutter recurs."""
    return {"people": (3, 4, 5, 6, 7, 8)[k % 6], "scenario": "crossing" if k % 3 == 0 else "random",
            "pan": (0.0, 2.0, -3.0, 5.0, 0.0, -6.0, 8.0, 1.0)[k % 8], "zoom": (1.0, 1.2, 0.85, 1.0)[k % 4],
            "noise": (4.0, 2.0, 6.0, 3.0)[(k // 4) % 4]}


def clip_scenario(i: int, people: int) -> dict:
    """Scene settings of demo clip ``i``: the first is the showcase (a crossing under a panning camera); the
    others alternate crossings and crowds wandering in and out, panning either way."""
    return {"people": people, "scenario": "random" if i % 2 else "crossing",
            "pan": (3.0, -2.0, 4.0, 0.0, -4.0)[i % 5], "zoom": (1.0, 1.0, 1.15, 0.9, 1.0)[i % 5]}


def _write_part(args) -> str:
    from ..synth.writer import write_dataset

    root, split, seed, sequences, frames, scene = args
    scene = dict(scene)
    people = scene.pop("people")
    write_dataset(root, split=split, sequences=sequences, frames=frames, people=people, seed=seed, video=False,
                  force=True, **scene)
    return split


def write_training_data(root: str | Path, parts: int = 16, sequences: int = 30, frames: int = 40,
                        val_sequences: int = 4, val_frames: int = 40, jobs: int = 16) -> dict:
    """Render the training parts and the val split under ``root`` and merge the parts into ``train``."""
    root = Path(root)
    tasks = [(str(root), f"part{k}", TRAIN_SEED + k, sequences, frames, part_scenario(k)) for k in range(parts)]
    tasks.append((str(root), "val", VAL_SEED, val_sequences, val_frames,
                  {"people": 6, "scenario": "crossing", "pan": 3.0, "zoom": 1.0, "noise": 4.0}))
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks)))) as pool:
        list(pool.map(_write_part, tasks))
    return merge_parts(root, [f"part{k}" for k in range(parts)], "train")


def merge_parts(root: Path, parts: list[str], split: str) -> dict:
    """One ``split`` from several: PoseTrack files side by side (their image paths stay valid; people
    too small to crop left out), COCO
    files concatenated with fresh ids."""
    ann_dir = root / "annotations" / split
    if ann_dir.exists():
        shutil.rmtree(ann_dir)
    ann_dir.mkdir(parents=True)
    images, annotations, coco = [], [], None
    for part in parts:
        for path in sorted((root / "annotations" / part).glob("*.json")):
            posetrack18.write_sequence(ann_dir / path.name, drop_degenerate(posetrack18.read_sequence(path)))
        coco = json.loads((root / "annotations" / f"person_keypoints_{part}.json").read_text())
        append_coco(images, annotations, coco["images"], coco["annotations"])
    if coco is None:
        raise PosetrackError(f"{root}: no parts to merge")
    write_json(root / "annotations" / f"person_keypoints_{split}.json",
               {**coco, "images": images, "annotations": annotations})
    return {"images": len(images), "people": len(annotations), "sequences": len(list(ann_dir.glob("*.json")))}


def append_coco(images: list, annotations: list, new_images: list, new_annotations: list = ()) -> None:
    """COCO ``new_images`` and their ``new_annotations`` appended to ``images`` and ``annotations`` with fresh ids
    (each list numbered 1, 2, ... in order), their annotations pointing at their images' new ids."""
    renumber = {}
    for image in new_images:
        renumber[image.get("id")] = len(images) + 1
        images.append({**image, "id": len(images) + 1})
    for ann in new_annotations:
        annotations.append({**ann, "id": len(annotations) + 1, "image_id": renumber[ann["image_id"]]})


def drop_degenerate(seq, min_extent: float = 4.0):
    """``seq`` without the people whose labelled joints span less than ``min_extent`` pixels (a person with one
    joint in view): their keypoint box has no size, so a training crop of it has no scale (NaN targets)."""
    frames = []
    for f in seq.frames:
        if len(f):
            present = present_joints(f.keypoints)
            xy = np.where(present[..., None], f.keypoints[..., :2], np.nan)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no joint at all
                extent = np.nanmax(np.nanmax(xy, 1) - np.nanmin(xy, 1), 1)
            keep = np.nan_to_num(extent) >= min_extent
            f = dataclasses.replace(f, keypoints=f.keypoints[keep], boxes=f.boxes[keep], scores=f.scores[keep],
                                    track_ids=f.track_ids[keep], head_boxes=f.head_boxes[keep])
        frames.append(f)
    return dataclasses.replace(seq, frames=frames)


def write_clips(root: str | Path, split: str, seed: int, sequences: int, frames: int, people: int,
                progress=None) -> list[Path]:
    """Render ``sequences`` demo clips (images + PoseTrack 2018 ground truth) under ``root``; the GT files."""
    import cv2

    from ..synth import make_sequence
    from ..synth import file_ground_truth
    from ..synth.writer import JPEG_QUALITY

    root = Path(root)
    paths = []
    for i in range(sequences):
        name = f"{i + 1:06d}_mpii_{split}"
        syn = make_sequence(seed=[seed, i], frames=frames, name=name, split=split, lazy=True,
                            **clip_scenario(i, people))
        folder = root / "images" / split / name
        folder.mkdir(parents=True, exist_ok=True)
        for frame, image in zip(syn.gt.frames, syn.frames):
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            (root / frame.file_name).write_bytes(jpeg.tobytes())
        path = root / "annotations" / split / f"{name}.json"
        posetrack18.write_sequence(path, file_ground_truth(syn.gt))
        paths.append(path)
        if progress is not None:
            progress(name)
    return paths


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Render the demo models' training data (train + val splits).")
    parser.add_argument("command", choices=["train"])
    parser.add_argument("root")
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--sequences", type=int, default=30, help="per part")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--val-sequences", type=int, default=4)
    parser.add_argument("--val-frames", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=16)
    a = parser.parse_args(argv)
    summary = write_training_data(a.root, a.parts, a.sequences, a.frames, a.val_sequences, a.val_frames, a.jobs)
    print(f"train: {summary['sequences']} sequences, {summary['images']} images, {summary['people']} people "
          f"in {a.root}")


if __name__ == "__main__":
    main()
