"""Issue 19: the demo detector's hard-negative data, training on people-free images, and calibrated scores."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posetrack.geometry import box_iou
from posetrack.demo.hard import PHOTOS, hard_scenario, write_hard_data
from posetrack.detect.calibration import bake_platt, fit_platt, match_boxes, platt, reliability
from posetrack.detect.faster_rcnn import NAMED_WEIGHTS, FasterRCNNDetector
from posetrack.synth.sequence import make_sequence
from posetrack.train.detector_data import PersonBoxes
from posetrack.train.detector_trainer import DetectorTrainer
from posetrack.train.recipe import (DetectorDataConfig, DetectorModelConfig, DetectorOptimConfig,
                                    DetectorTrainConfig, DetectorValConfig)
from posetrack.train.samples import DatasetSpec

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
ROOT = Path(__file__).resolve().parents[1]


def test_the_scenarios_cover_the_synth_range():
    scenes = [hard_scenario(k) for k in range(25)]
    assert {s["people"] for s in scenes} >= {0, 1, 2, 3, 4, 6, 8, 10, 12}
    assert {s["width"] for s in scenes} == {480, 560, 640, 720}
    assert {s["clutter"] for s in scenes} == {True, False} and {s["enter_leave"] for s in scenes} == {True, False}
    assert "crossing" in {s["scenario"] for s in scenes} and {s["blur"] > 0 for s in scenes} == {True, False}
    assert min(s["quality"] for s in scenes) <= 30 and len({s["pan"] for s in scenes}) > 3
    assert all(s["people"] >= 2 for s in scenes if s["scenario"] == "crossing")


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard")
    photos = OPENCV_DATA if all((OPENCV_DATA / p).is_file() for p in PHOTOS) else None
    summary = write_hard_data(root, parts=5, sequences=1, frames=2, val_parts=1, calib_parts=2, photos=photos,
                              world_parts=2, world_sequences=1, world_frames=2)
    return root, summary, photos


def test_hard_data_holds_people_and_people_free_images(hard):
    root, summary, photos = hard
    coco = json.loads((root / "annotations" / "person_keypoints_hard.json").read_text())
    with_people = {a["image_id"] for a in coco["annotations"]}
    empty = [im for im in coco["images"] if im["id"] not in with_people]
    assert len(coco["images"]) == summary["images"] and with_people
    assert len(empty) >= 2  # part 4 has nobody in it
    if photos is not None:
        assert summary["photos"] == 3 * len(PHOTOS)
        assert sum(im["file_name"].startswith("images/photos/") for im in empty) == summary["photos"]
    for im in coco["images"]:
        pixels = cv2.imread(str(root / im["file_name"]))
        assert pixels is not None and pixels.shape[:2] == (im["height"], im["width"])
    for split in ("hardval", "calib"):
        assert (root / "annotations" / f"person_keypoints_{split}.json").is_file()
    assert [im["id"] for im in coco["images"]] == list(range(1, len(coco["images"]) + 1))
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])


def test_the_demo_worlds_own_parts_come_last_as_the_world_renders_them(hard, tmp_path):
    """``--world-parts``: the demo world's training parts (same seeds and scenes) after the photos, in the
    detector's split; their PoseTrack files apart from the pose stage's."""
    from posetrack.demo.world import write_training_data

    root, summary = hard[:2]
    coco = json.loads((root / "annotations" / "person_keypoints_hard.json").read_text())
    world_images = [im for im in coco["images"] if im["file_name"].startswith("images/worldpart")]
    assert summary["world"] == len(world_images) == 4  # 2 parts x 1 sequence x 2 frames
    assert coco["images"][-len(world_images):] == world_images
    ids = {im["id"] for im in world_images}
    assert sum(a["image_id"] in ids for a in coco["annotations"]) > 0
    assert not list((root / "annotations" / "hard").glob("*worldpart*.json"))
    assert len(list((root / "annotations" / "world").glob("*worldpart*.json"))) == 2
    write_training_data(tmp_path / "world", parts=2, sequences=1, frames=2, val_sequences=1, val_frames=2, jobs=1)
    theirs = json.loads((tmp_path / "world" / "annotations" / "person_keypoints_train.json").read_text())
    assert len(theirs["images"]) == len(world_images)
    for mine, their in zip(world_images, theirs["images"]):
        assert (root / mine["file_name"]).read_bytes() == (tmp_path / "world" / their["file_name"]).read_bytes()


def test_negatives_reach_training_only_when_asked(hard):
    root = hard[0]
    spec = DatasetSpec("coco-file", annotations=str(root / "annotations" / "person_keypoints_hard.json"),
                       images=str(root))
    plain, negatives = PersonBoxes(spec, train=True), PersonBoxes(spec, train=True, negatives=True)
    assert len(negatives) > len(plain) and all(len(b) for b in plain.boxes)
    empty = next(i for i, b in enumerate(negatives.boxes) if len(b) == 0)
    image, target, _ = negatives[empty]
    assert target["boxes"].shape == (0, 4) and target["labels"].shape == (0,) and image.shape[0] == 3


def test_a_detector_trains_on_people_free_images(hard, tmp_path):
    root = hard[0]
    spec = DatasetSpec("coco-file", annotations=str(root / "annotations" / "person_keypoints_hard.json"),
                       images=str(root))
    cfg = DetectorTrainConfig(
        model=DetectorModelConfig(variant="mobilenet_v3_large_fpn", init="none", min_size=96, max_size=128),
        data=DetectorDataConfig(train=spec, val=spec, workers=0, negatives=True),
        optim=DetectorOptimConfig(epochs=1, batch_size=4, max_iters_per_epoch=3, warmup_iters=1, amp=False),
        val=DetectorValConfig(every=1, max_images=2), device="cpu", log_every=1, seed=4)
    trainer = DetectorTrainer(cfg, out=str(tmp_path / "det"), progress=False)
    assert len(trainer.dataset) == len(json.loads(spec.annotations and Path(spec.annotations).read_text())["images"])
    summary = trainer.fit()
    assert summary["step"] == 3


def test_iou_and_matching_take_each_person_once():
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [50, 50, 60, 60]], float)
    assert box_iou(boxes[:1], truth)[0].tolist() == [1.0, 0.0]
    hit = match_boxes(boxes, np.array([0.9, 0.95, 0.5, 0.99]), truth)
    assert hit.tolist() == [False, True, True, False]  # the higher-scoring duplicate takes person 0
    assert match_boxes(boxes, np.ones(4), np.zeros((0, 4))).tolist() == [False] * 4


def test_platt_scaling_recovers_a_known_map_and_lowers_the_calibration_error():
    rng = np.random.default_rng(0)
    raw = 1 / (1 + np.exp(-rng.normal(0, 3, 20000)))
    truth_a, truth_b = 0.6, -1.2
    correct = rng.random(len(raw)) < platt(raw, truth_a, truth_b)
    a, b = fit_platt(raw, correct)
    assert a == pytest.approx(truth_a, abs=0.05) and b == pytest.approx(truth_b, abs=0.08)
    assert reliability(platt(raw, a, b), correct)[1] < 0.02 < reliability(raw, correct)[1]
    with pytest.raises(ValueError, match="both"):
        fit_platt(raw[:10], np.ones(10, bool))


def test_baked_calibration_keeps_the_boxes_and_maps_the_scores(tmp_path):
    """The packaged demo detector, raw and with a map baked in: same boxes in the same order, mapped scores."""
    raw = torch.load(NAMED_WEIGHTS["demo"], weights_only=True)
    state = raw["model"]
    a, b = 0.8, -0.6
    path = tmp_path / "calibrated.pth"
    torch.save({**raw, "model": bake_platt({k: v.float() for k, v in state.items()}, a, b)}, path)
    syn = make_sequence(41, frames=1, people=5)
    kwargs = dict(score_threshold=0.02, min_size=320, max_size=640, device="cpu")
    before = FasterRCNNDetector("mobilenet_v3_large_320_fpn", "demo", **kwargs)(syn.frames)[0]
    after = FasterRCNNDetector("mobilenet_v3_large_320_fpn", str(path), **kwargs)(syn.frames)[0]
    keep = before.scores > 0.1  # away from the floor, where the mapped scores may cross it
    assert keep.sum() >= 4
    np.testing.assert_allclose(after.boxes[: keep.sum()], before.boxes[keep], atol=0.05)
    np.testing.assert_allclose(after.scores[: keep.sum()], platt(before.scores[keep], a, b), atol=2e-3)


def test_calibrate_detector_script_writes_a_calibrated_file(hard, tmp_path):
    root = hard[0]
    out = tmp_path / "calibrated.pth"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "calibrate_detector.py"), str(NAMED_WEIGHTS["demo"]),
                           str(root), "calib", "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "expected calibration error" in done.stdout and "boxes per people-free frame" in done.stdout
    meta = torch.load(out, weights_only=True)["meta"]["score_calibration"]
    assert {"a", "b", "before", "after"} <= set(meta) and meta["data"] == f"{root.name}/calib"
    FasterRCNNDetector("mobilenet_v3_large_320_fpn", str(out), device="cpu")  # loads as any detector file
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "calibrate_detector.py"), str(NAMED_WEIGHTS["demo"]),
                          str(root), "nosuchsplit", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_missing_photos_stop_with_one_line_before_anything_is_written(tmp_path):
    done = subprocess.run([sys.executable, "-m", "posetrack.demo.hard", str(tmp_path / "out"), "--photos",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "aero1.jpg: no such photo" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", [["--world-parts", "-1"], ["--world-parts", "2", "--world-sequences", "0"],
                                 ["--world-parts", "2", "--world-frames", "0"]])
def test_bad_world_parts_stop_with_one_line_before_anything_is_written(tmp_path, bad):
    done = subprocess.run([sys.executable, "-m", "posetrack.demo.hard", str(tmp_path / "out"), *bad],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "--world-sequences" in done.stderr
    assert not (tmp_path / "out").exists()
