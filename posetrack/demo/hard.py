"""Data for the demo detector's hard-negative stage (issue 19): ``posetrack synth`` over its whole range of options,
frames with no one in them, and real photographs without people.

    python -m posetrack.demo.hard ROOT [--photos /usr/share/doc/opencv-doc/examples/data]

Writes ``ROOT/annotations/person_keypoints_hard.json`` (training), ``person_keypoints_hardval.json`` (validation,
other seeds) and ``person_keypoints_calib.json`` (score calibration, ``scripts/calibrate_detector.py``: other seeds
again, one part in four people-free) with their images. Part ``k`` of the training split takes ``hard_scenario(k)``:
1-12 people, 480-720 px wide frames (4:3 and 16:9), clutter on and off, people entering and leaving or staying, the
crossing scenario, pans, zooms, image noise 0-8, JPEG quality 30-90 and, for every third part, a slight blur (a
stand-in for video compression and focus, which the synthetic renderer does not model). Every fifth part has no
people at all: clutter, stripes and shapes the detector must learn to leave alone. Real negatives are random crops
of the people-free photographs in ``PHOTOS`` (OpenCV's sample images, Debian package ``opencv-doc``), three per
photo at 480-720 px wide, in the training split only. ``vtest.avi``'s background is kept out of training: it is what
``scripts/measure_demo_models.py negatives`` checks against. With ``--world-parts N`` the detector's training
split (``person_keypoints_hard.json``) also holds the first ``N`` parts of the demo world's own training data
(``posetrack.demo.world``: the same seeds and scenes), after the photos, so that the stage keeps what the earlier
stages learnt there while it learns the rest (without them the demo's held-out score fell from 86.6 to 86.2). Their
PoseTrack files form split ``world``: the pose network's stage trains on the hard parts alone (held out 87.0 with
the new detector; 86.7 with the world's sequences added).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..formats.common import write_json

HARD_SEED = 3000  # part k of the training split: HARD_SEED + k; validation + 500, calibration + 700
PHOTOS = ("aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "blox.jpg", "board.jpg",
          "box_in_scene.png", "building.jpg", "butterfly.jpg", "cards.png", "chicky_512.png", "fruits.jpg",
          "home.jpg", "leuvenA.jpg", "leuvenB.jpg", "licenseplate_motion.jpg", "orange.jpg", "rubberwhale1.png",
          "smarties.png", "squirrel_cls.jpg", "starry_night.jpg", "stuff.jpg", "left.jpg", "ela_original.jpg",
          "pca_test1.jpg", "HappyFish.jpg")  # no people in any (left01.jpg ... hold a person, graf*.png drawn ones)
WIDTHS = (480, 560, 640, 720)


def hard_scenario(k: int) -> dict:
    """Scene and image settings of part ``k``; every fifth part has no people."""
    width = WIDTHS[k % 4]
    people = 0 if k % 5 == 4 else (1, 2, 3, 4, 6, 8, 10, 12)[k % 8]
    return {"people": people, "width": width, "height": width * 9 // 16 if k % 3 == 1 else width * 3 // 4,
            "scenario": "crossing" if k % 7 == 0 and people >= 2 else "random", "clutter": k % 6 != 5,
            "enter_leave": k % 2 == 0, "pan": (0.0, 3.0, -5.0, 8.0, 1.5, -2.0)[k % 6],
            "zoom": (1.0, 1.25, 0.8, 1.0, 1.1)[k % 5], "noise": (0.0, 2.0, 4.0, 6.0, 8.0)[(k // 2) % 5],
            "quality": (90, 70, 50, 30, 80)[(k // 3) % 5], "blur": 0.9 if k % 3 == 2 else 0.0}


def _write_part(root: Path, split: str, seed: int, sequences: int, frames: int, scene: dict) -> None:
    import cv2

    from ..synth.writer import write_dataset

    scene = dict(scene)
    people, quality, blur = scene.pop("people"), scene.pop("quality"), scene.pop("blur")
    write_dataset(root, split=split, sequences=sequences, frames=frames, people=people, seed=seed, video=False,
                  force=True, **scene)
    coco_path = root / "annotations" / f"person_keypoints_{split}.json"
    coco = json.loads(coco_path.read_text())
    for image in coco["images"]:
        path = root / image["file_name"]
        pixels = cv2.imread(str(path))
        if blur:
            pixels = cv2.GaussianBlur(pixels, (0, 0), blur)
        cv2.imwrite(str(path), pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    write_json(coco_path, coco)


def _photo_crops(root: Path, photos: Path, seed: int) -> list[dict]:
    import cv2

    rng = np.random.default_rng(seed)
    folder = root / "images" / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for name in PHOTOS:
        pixels = cv2.imread(str(photos / name))
        for c in range(3):
            width = int(rng.choice(WIDTHS))
            height = width * 3 // 4
            scale = max(width / pixels.shape[1], height / pixels.shape[0]) * rng.uniform(1.0, 1.6)
            big = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            y = int(rng.integers(0, big.shape[0] - height + 1))
            x = int(rng.integers(0, big.shape[1] - width + 1))
            file_name = f"images/photos/{Path(name).stem}_{c}.jpg"
            cv2.imwrite(str(root / file_name), big[y:y + height, x:x + width],
                        [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
            images.append({"file_name": file_name, "width": width, "height": height})
    return images


def write_hard_data(root: str | Path, parts: int = 25, sequences: int = 8, frames: int = 6, val_parts: int = 4,
                    photos: str | Path | None = None, calib_parts: int = 8, world_parts: int = 0,
                    world_sequences: int = 4, world_frames: int = 40) -> dict:
    """Render the training and validation splits under ``root``; counts of the training split."""
    from .world import TRAIN_SEED, append_coco, merge_parts, part_scenario
    from .world import _write_part as write_world_part

    root = Path(root)
    missing = [name for name in PHOTOS if photos is not None and not (Path(photos) / name).is_file()]
    if world_parts < 0 or (world_parts and min(world_sequences, world_frames) < 1):  # before anything is rendered
        raise PosetrackError(f"--world-parts {world_parts}, --world-sequences {world_sequences}, --world-frames "
                             f"{world_frames}: give 0 or more parts of at least 1 sequence of at least 1 frame")
    if missing:
        raise PosetrackError(f"{Path(photos) / missing[0]}: no such photo ({len(missing)} of {len(PHOTOS)} missing); "
                             "install Debian's opencv-doc or pass --photos with OpenCV's sample images")
    for k in range(parts):
        _write_part(root, f"part{k}", HARD_SEED + k, sequences, frames, hard_scenario(k))
    for k in range(val_parts):
        scene = {**hard_scenario(k), "people": (3, 6, 9, 12)[k % 4]}
        _write_part(root, f"valpart{k}", HARD_SEED + 500 + k, 2, frames, scene)
    for k in range(calib_parts):
        scene = {**hard_scenario(k + 1), "people": (0, 2, 5, 8)[k % 4]}
        _write_part(root, f"calibpart{k}", HARD_SEED + 700 + k, 3, frames, scene)
    for k in range(world_parts):
        write_world_part((str(root), f"worldpart{k}", TRAIN_SEED + k, world_sequences, world_frames, part_scenario(k)))
    summary = merge_parts(root, [f"part{k}" for k in range(parts)], "hard")
    merge_parts(root, [f"valpart{k}" for k in range(val_parts)], "hardval")
    merge_parts(root, [f"calibpart{k}" for k in range(calib_parts)], "calib")
    path = root / "annotations" / "person_keypoints_hard.json"
    coco = json.loads(path.read_text())
    if photos is not None:
        extra = _photo_crops(root, Path(photos), HARD_SEED)
        append_coco(coco["images"], coco["annotations"], extra)
        summary["images"] += len(extra)
        summary["photos"] = len(extra)
    if world_parts:  # after the photos, in the detector's split only (their PoseTrack files: split "world")
        world = merge_parts(root, [f"worldpart{k}" for k in range(world_parts)], "world")
        added = json.loads((root / "annotations" / "person_keypoints_world.json").read_text())
        append_coco(coco["images"], coco["annotations"], added["images"], added["annotations"])
        for key in ("images", "people"):
            summary[key] += world[key]
        summary["world"] = world["images"]
    write_json(path, coco)
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Render the demo detector's hard-negative stage data.")
    parser.add_argument("root")
    parser.add_argument("--parts", type=int, default=25)
    parser.add_argument("--sequences", type=int, default=8, help="per part")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--val-parts", type=int, default=4)
    parser.add_argument("--calib-parts", type=int, default=8)
    parser.add_argument("--photos", default=None, help="folder of OpenCV's sample images (opencv-doc)")
    parser.add_argument("--world-parts", type=int, default=0, help="demo-world training parts mixed in")
    parser.add_argument("--world-sequences", type=int, default=4, help="per demo-world part")
    parser.add_argument("--world-frames", type=int, default=40)
    a = parser.parse_args(argv)
    try:
        summary = write_hard_data(a.root, a.parts, a.sequences, a.frames, a.val_parts, a.photos, a.calib_parts,
                                  a.world_parts, a.world_sequences, a.world_frames)
    except PosetrackError as err:
        raise SystemExit(f"posetrack.demo.hard: {err}") from None
    print(f"hard: {summary['images']} images ({summary.get('photos', 0)} photos, {summary.get('world', 0)} from the "
          f"demo world), {summary['people']} people in {a.root}")


if __name__ == "__main__":
    main()
