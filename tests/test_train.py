"""Pose training on a small synthetic COCO/PoseTrack set written by ``posetrack synth``."""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posetrack.cli import main
from posetrack.errors import PosetrackError
from posetrack.layouts import COCO17
from posetrack.pose.checkpoint import load_pose_model
from posetrack.pose.estimator import PoseEstimator
from posetrack.train.augment import AugmentConfig
from posetrack.train.datasets import KeypointDataset, collate
from posetrack.train.samples import DatasetSpec, load_samples
from posetrack.train.evaluate import evaluate_checkpoint
from posetrack.train.pose_trainer import PoseTrainer
from posetrack.train.recipe import DataConfig, ModelConfig, OptimConfig, TrainConfig, ValConfig
from posetrack.train.targets import JointsMSELoss, heatmap_targets


def small_synth(tmp_path_factory, split: str):
    """Two short 256x192 synthetic sequences of two people (COCO and PoseTrack files) in ``split``."""
    root = tmp_path_factory.mktemp("synth")
    assert main(["synth", str(root), "--split", split, "--sequences", "2", "--frames", "12", "--people", "2",
                 "--seed", "3", "--width", "256", "--height", "192", "--noise", "2", "--no-video"]) == 0
    return root


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return small_synth(tmp_path_factory, "train")


def coco_spec(root: Path) -> DatasetSpec:
    return DatasetSpec("coco-file", annotations=str(root / "annotations" / "person_keypoints_train.json"),
                       images=str(root))


def tiny_config(spec: DatasetSpec, **optim) -> TrainConfig:
    """ResNet-18 with a narrow head at 96x64: seconds per epoch on one CPU core."""
    return TrainConfig(
        model=ModelConfig(depth=18, input_size=(64, 96), deconv_filters=(16, 16, 16), init="none"),
        data=DataConfig(train=spec, val=spec, workers=0, sigma=1),
        optim=OptimConfig(**{"epochs": 1, "batch_size": 4, "milestones": (100,), **optim}),
        val=ValConfig(every=0), device="cpu", log_every=1)


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------- targets and loss

def test_heatmap_targets_match_hand_computed_values():
    g = lambda d2, s=2.0: np.exp(-d2 / (2 * s * s))  # noqa: E731
    joints = np.array([[100.0, 60.0, 1],    # mu = (int(25.5), int(15.5)) = (25, 15)
                       [100.0, 60.0, 0],    # unlabelled
                       [190.0, 250.0, 1],   # mu = (48, 63): the patch hangs over the right and bottom edges
                       [-40.0, 10.0, 1],    # mu_x = int(-9.5) = -9: patch ends at x = -2 < 0, weight 0
                       [-30.0, 10.0, 1]],   # mu_x = int(-7.0) = -7: br = 0 is not < 0, weight stays 1
                      np.float32)
    target, weight = heatmap_targets(joints, (192, 256), (48, 64), sigma=2)
    assert target.shape == (5, 64, 48) and weight.shape == (5, 1)
    assert weight[:, 0].tolist() == [1, 0, 1, 0, 1]
    t = target[0]
    assert t[15, 25] == pytest.approx(1)
    assert t[15, 26] == pytest.approx(g(1)) and t[17, 25] == pytest.approx(g(4))
    assert t[18, 27] == pytest.approx(g(4 + 9))
    assert t[15, 31] == pytest.approx(g(36)) and t[15, 32] == 0 and t[15, 19] == pytest.approx(g(36))
    assert t[9, 25] == pytest.approx(g(36)) and t[8, 25] == 0 and t[21, 31] == pytest.approx(g(72))
    assert np.count_nonzero(t) == 13 * 13
    assert not target[1].any() and not target[3].any() and not target[4].any()
    assert target[2, 63, 47] == pytest.approx(g(1)) and target[2, 63, 42] == pytest.approx(g(36))
    assert np.count_nonzero(target[2]) == 6 * 7
    # σ 3 (384x288): a 19x19 patch
    t3, _ = heatmap_targets(np.array([[144.0, 192.0, 1]]), (288, 384), (72, 96), sigma=3)
    assert np.count_nonzero(t3) == 19 * 19 and t3[0, 48, 36] == 1 and t3[0, 48, 45] == pytest.approx(g(81, 3))


def test_joints_mse_loss_is_the_official_weighted_mean():
    pred = torch.zeros(1, 2, 2, 2)
    gt = torch.ones(1, 2, 2, 2)
    w = torch.tensor([[[1.0], [0.0]]])
    # joint 0: 0.5 * mean((0 - 1)^2) = 0.5; joint 1: weight 0 -> 0; divided by 2 joints
    assert JointsMSELoss()(pred, gt, w).item() == pytest.approx(0.25)
    pred = torch.tensor([[[[0.5, 0.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 1.0]]]])
    w = torch.tensor([[[2.0], [1.0]]])
    expected = (0.5 * np.mean([(1 - 2) ** 2, 4, 4, 4]) + 0.5 * np.mean([1, 1, 1, 0])) / 2
    assert JointsMSELoss()(pred, gt, w).item() == pytest.approx(expected)


# ---------------------------------------------------------------- augmentation

def _palette(k: int) -> np.ndarray:
    levels = (0, 128, 255)
    colours = [(b, g, r) for b in levels for g in levels for r in levels if (b, g, r) != (0, 0, 0)]
    return np.array(colours[:k], np.int32)


def test_augmented_crop_puts_each_joint_on_its_drawn_dot(tmp_path):
    # One person whose 17 joints are 9x9 coloured squares on black, spaced >= 16 px apart.
    xy = np.array([[160, 40], [176, 28], [144, 28], [196, 44], [124, 44], [200, 76], [120, 76], [224, 112],
                   [96, 112], [232, 148], [88, 148], [184, 160], [136, 160], [192, 210], [128, 210],
                   [200, 260], [120, 260]], np.float32)
    colours = _palette(17)
    image = np.zeros((300, 320, 3), np.uint8)
    for (x, y), c in zip(xy.astype(int), colours):
        image[y - 4:y + 5, x - 4:x + 5] = c
    cv2.imwrite(str(tmp_path / "a.png"), image)
    kpts = np.concatenate([xy, np.full((17, 1), 2)], 1)
    ann = {"images": [{"id": 1, "file_name": "a.png", "width": 320, "height": 300}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 9000,
                            "keypoints": kpts.reshape(-1).tolist(), "bbox": [80, 20, 160, 250]}]}
    (tmp_path / "a.json").write_text(json.dumps(ann))
    spec = DatasetSpec("coco-file", annotations=str(tmp_path / "a.json"), images=str(tmp_path))
    samples = load_samples(spec, 192 / 256)
    perm = COCO17.flip_permutation()
    for colour_order in ("bgr", "rgb"):
        for flip_prob in (0.0, 1.0):
            cfg = AugmentConfig(rotation_prob=1.0, flip_prob=flip_prob)
            dataset = KeypointDataset(samples, (192, 256), 2.0, cfg, colour_order, seed=7)
            for epoch in range(3):
                dataset.set_epoch(epoch)
                item = dataset.sample(0)
                crop, joints = item["image"], item["joints"]
                if colour_order == "rgb":
                    crop = crop[:, :, ::-1]
                checked = 0
                for k, (x, y, v) in enumerate(joints):
                    px, py = int(round(x)), int(round(y))
                    if v == 0 or not (1 <= px < 191 and 1 <= py < 255):
                        continue
                    source = perm[k] if flip_prob else k  # after a mirror, joint k is the other side's dot
                    assert np.abs(crop[py, px].astype(int) - colours[source]).max() <= 40, (k, epoch, flip_prob)
                    checked += 1
                assert checked >= 12
    # the augmentation really rotates, scales and flips: joints are not where a plain crop puts them
    plain = KeypointDataset(samples, (192, 256), 2.0, None).sample(0)["joints"]
    assert np.abs(joints[:, :2] - plain[:, :2]).max() > 10


# ---------------------------------------------------------------- datasets and bad input

def test_posetrack_samples_use_keypoint_boxes_plus_15_percent(synth):
    samples = load_samples(DatasetSpec("posetrack18", str(synth), "train"), 0.75)
    coco = load_samples(coco_spec(synth), 0.75)
    assert samples.layout == "posetrack18" and len(samples) > 20
    assert len(samples) >= len(coco) - 2  # the same people (COCO drops no one with a visible joint)
    j = samples.joints[0]
    vis = j[:, 2] > 0
    lo, hi = j[vis, :2].min(0), j[vis, :2].max(0)
    np.testing.assert_allclose(samples.boxes[0], np.r_[lo - 0.075 * (hi - lo), hi + 0.075 * (hi - lo)], rtol=1e-5)
    assert all(os.path.isfile(p) for p in samples.image_paths)


def test_a_person_with_one_labelled_joint_is_skipped_not_a_nan(synth, tmp_path):
    import shutil

    from posetrack.formats import posetrack18

    root = tmp_path / "pt"
    shutil.copytree(synth / "images", root / "images")
    (root / "annotations" / "train").mkdir(parents=True)
    first = sorted((synth / "annotations" / "train").glob("*.json"))[0]
    seq = posetrack18.read_sequence(first)
    frame = next(f for f in seq.frames if len(f))
    frame.keypoints[0, 1:] = 0  # only the nose is left: a zero-size keypoint box
    posetrack18.write_sequence(root / "annotations" / "train" / first.name, seq)
    samples = load_samples(DatasetSpec("posetrack18", str(root), "train"), 0.75)
    assert samples.skipped["box under 1 px"] == 1
    assert np.isfinite(samples.scales).all() and (samples.scales > 0).all()


def test_bad_samples_are_skipped_and_counted_then_fatal_past_the_limit(synth, tmp_path):
    data = json.loads((synth / "annotations" / "person_keypoints_train.json").read_text())
    data["annotations"][0]["keypoints"] = [1, 2, 3]                       # malformed
    data["annotations"][1]["keypoints"] = [0] * 51                         # no joint: skipped, not bad
    missing = data["images"][2]["id"]
    data["images"][2]["file_name"] = "images/none.jpg"                     # missing image
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    data["images"][3]["file_name"] = str(broken)                           # undecodable image
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    spec = DatasetSpec("coco-file", annotations=str(path), images=str(synth))
    with pytest.raises(PosetrackError, match=r"samples are bad .*max_bad_fraction"):
        load_samples(spec, 0.75, max_bad_fraction=0.01)
    samples = load_samples(spec, 0.75, max_bad_fraction=0.2)
    in_missing = sum(a["image_id"] == missing and max(a["keypoints"]) > 0 for a in data["annotations"][2:])
    assert samples.bad == 1 + in_missing and samples.skipped["no labelled joint"] >= 1
    assert "does not exist" in samples.examples[-1]
    dataset = KeypointDataset(samples, (48, 64), 1.0, None)
    broken_index = int(np.flatnonzero(np.array(samples.image_paths)[samples.image_index] == str(broken))[0])
    batch = collate([dataset[broken_index]])
    assert batch["image"].shape == (1, 3, 64, 48)  # replaced by the next sample, batch size kept
    assert batch["bad"][0][0] == broken_index and "cannot be read or decoded" in batch["bad"][0][1]
    path.write_text("{ not json")
    with pytest.raises(PosetrackError, match="not valid JSON"):
        load_samples(spec, 0.75)


def test_cli_reports_user_errors_in_one_line(synth, tmp_path, capsys):
    assert main(["train", "coco/res50_256x192", "--out", str(tmp_path / "r"), "--set",
                 f"data.train.root={tmp_path / 'nowhere'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "COCO keypoint file not found" in err
    assert main(["train", "coco/res50_256x192", "--set", "optim.lr=fast"]) == 2
    assert "optim.lr" in capsys.readouterr().err


# ---------------------------------------------------------------- training

@pytest.mark.slow
def test_training_halves_the_loss_and_scores_on_its_images(synth, tmp_path):
    # 40 epochs x 5 steps of 8 crops, ResNet-18 at 128x96 from scratch (no downloads offline).
    spec = coco_spec(synth)
    cfg = TrainConfig(
        model=ModelConfig(depth=18, input_size=(96, 128), deconv_filters=(64, 64, 64), init="none"),
        data=DataConfig(train=spec, val=spec, workers=1, sigma=2),
        optim=OptimConfig(epochs=40, batch_size=8, milestones=(100,)),
        val=ValConfig(every=40), device="cpu", log_every=5)
    out = tmp_path / "run"
    summary = PoseTrainer(cfg, out=str(out), progress=False).fit()
    log = read_log(out)
    assert log[-1]["step"] == summary["step"] == 40 * 5
    first, last = log[0]["loss"], np.mean([e["loss"] for e in log[-4:]])
    assert last <= 0.5 * first, (first, last)
    ap = summary["last_val"]["AP"]
    assert summary["best"] == ap
    # best.pth, loaded afresh and scored as `posetrack test` scores a checkpoint, gives the AP training logged.
    scored = evaluate_checkpoint(cfg, str(out / "best.pth"), "cpu", "fp32")["metrics"]
    assert scored == pytest.approx(summary["last_val"], nan_ok=True)
    # best.pth is our checkpoint format: it rebuilds the model and its preprocessing alone
    model, info = load_pose_model(out / "best.pth")
    assert info.input_size == (96, 128) and info.layout == "coco17" and info.color_order == "bgr"
    assert info.meta["val"]["AP"] == ap and info.meta["epoch"] == 40
    est = PoseEstimator(model, info, flip_test=True)
    frame = cv2.imread(load_samples(spec, 0.75).image_paths[0])
    kpts, scores = est(frame, load_samples(spec, 0.75).boxes[:1])
    assert kpts.shape == (1, 17, 3) and np.isfinite(kpts).all()


def test_resume_continues_at_the_same_step_with_the_same_learning_rate(synth, tmp_path):
    spec = coco_spec(synth)
    straight = tiny_config(spec, epochs=3, milestones=(2,), max_iters_per_epoch=2)
    PoseTrainer(straight, out=str(tmp_path / "a"), progress=False).fit()
    first_two = replace(straight, optim=replace(straight.optim, epochs=2))
    PoseTrainer(first_two, out=str(tmp_path / "b"), progress=False).fit()
    with pytest.raises(PosetrackError, match="--resume"):
        PoseTrainer(straight, out=str(tmp_path / "b"), progress=False)
    resumed = PoseTrainer(straight, out=str(tmp_path / "b"), resume=True, progress=False)
    assert (resumed.start_epoch, resumed.step, resumed.lr) == (2, 4, pytest.approx(1e-4))
    resumed.fit()
    a, b = read_log(tmp_path / "a"), read_log(tmp_path / "b")
    assert [e["step"] for e in b] == [e["step"] for e in a] == [1, 2, 3, 4, 5, 6]
    assert [e["lr"] for e in b] == pytest.approx([e["lr"] for e in a]) and b[-1]["lr"] == pytest.approx(1e-4)
    np.testing.assert_allclose([e["loss"] for e in b], [e["loss"] for e in a], rtol=1e-5)
    wa = torch.load(tmp_path / "a" / "last.pth", weights_only=True)["state_dict"]
    wb = torch.load(tmp_path / "b" / "last.pth", weights_only=True)["state_dict"]
    for key in ("conv1.weight", "final_layer.weight", "layer4.1.bn2.running_mean"):
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-5, atol=1e-7)


def test_resume_with_a_longer_schedule_follows_the_configured_milestones(synth, tmp_path):
    """A run saved with milestones (2,) and resumed with (3,): the rates follow the new config from the resume
    on (the official train.py rebuilds its scheduler from the config), and so does a later resume."""
    spec = coco_spec(synth)
    short = tiny_config(spec, epochs=1, milestones=(2,), max_iters_per_epoch=1)
    PoseTrainer(short, out=str(tmp_path / "r"), progress=False).fit()
    longer = tiny_config(spec, epochs=4, milestones=(3,), max_iters_per_epoch=1)
    resumed = PoseTrainer(longer, out=str(tmp_path / "r"), resume=True, progress=False)
    assert resumed.lr == pytest.approx(1e-3)
    resumed.fit()
    assert [e["lr"] for e in read_log(tmp_path / "r")] == pytest.approx([1e-3, 1e-3, 1e-3, 1e-4])
    # A resume whose schedule has already passed a milestone starts at the dropped rate.
    earlier = tiny_config(spec, epochs=5, milestones=(1,), max_iters_per_epoch=1)
    assert PoseTrainer(earlier, out=str(tmp_path / "r"), resume=True, progress=False).lr == pytest.approx(1e-4)


def test_posetrack_fine_tuning_from_a_coco_checkpoint_validates_with_posetrack_map(synth, tmp_path):
    coco = tiny_config(coco_spec(synth), max_iters_per_epoch=1)
    PoseTrainer(coco, out=str(tmp_path / "coco"), progress=False).fit()
    pt = DatasetSpec("posetrack18", str(synth), "train")
    cfg = tiny_config(pt, max_iters_per_epoch=1, lr=1e-4)
    cfg.model.init = str(tmp_path / "coco" / "last.pth")
    cfg.val = ValConfig(every=1, max_images=6)
    summary = PoseTrainer(cfg, out=str(tmp_path / "pt"), progress=False).fit()
    # The mAP training logged is what `posetrack test` gives last.pth on the same frames (poseval's mAP).
    scored = evaluate_checkpoint(cfg, str(tmp_path / "pt" / "last.pth"), "cpu", "fp32")["metrics"]
    assert summary["last_val"] == pytest.approx(scored, nan_ok=True)
    _, info = load_pose_model(tmp_path / "pt" / "last.pth")
    assert info.layout == "posetrack18"


@pytest.mark.slow
def test_two_process_ddp_gives_the_single_process_loss_curve(synth, tmp_path):
    # Same global batch (2 x 4 vs 1 x 8) and the same samples per step: the DistributedSampler splits one
    # seeded permutation between the processes, and every crop's augmentation is seeded by its index. BatchNorm
    # runs on running statistics (model.bn=frozen) so that a sample's output does not depend on which process's
    # batch it is in; with per-process batch statistics the two runs would differ by design.
    spec = coco_spec(synth)
    single = tiny_config(spec, epochs=2, batch_size=8, max_iters_per_epoch=2)
    single.model.bn = "frozen"
    PoseTrainer(single, out=str(tmp_path / "one"), progress=False).fit()
    overrides = ["model.depth=18", "model.input_size=[64,96]", "model.deconv_filters=[16,16,16]",
                 "model.init=none", "model.bn=frozen", f"data.train.annotations={spec.annotations}",
                 f"data.train.images={spec.images}", "data.train.format=coco-file", "data.workers=0",
                 "data.sigma=1", "optim.epochs=2", "optim.batch_size=4", "optim.max_iters_per_epoch=2",
                 "optim.milestones=[100]", "val.every=0", "device=cpu", "log_every=1"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "posetrack", "train", "coco/res50_256x192", "--out", str(tmp_path / "two"), "-q"]
    for o in overrides:
        cmd += ["--set", o]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    one, two = read_log(tmp_path / "one"), read_log(tmp_path / "two")
    assert [e["step"] for e in two] == [e["step"] for e in one] == [1, 2, 3, 4]
    np.testing.assert_allclose([e["loss"] for e in two], [e["loss"] for e in one], rtol=1e-4)
    assert "trained 4 steps" in run.stdout
