"""Detector fine-tuning on synthetic person boxes: run, save, resume, reload through the detector loader."""
import json

import cv2
import numpy as np
import pytest
import torch

from posetrack.cli import main
from posetrack.detect.faster_rcnn import FasterRCNNDetector
from posetrack.errors import PosetrackError
from posetrack.train.samples import DatasetSpec
from posetrack.train.detector_data import PersonBoxes, box_ap
from posetrack.train.detector_trainer import DetectorTrainer
from posetrack.train.recipe import (DetectorDataConfig, DetectorModelConfig, DetectorOptimConfig,
                                    DetectorTrainConfig, DetectorValConfig)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_det")
    assert main(["synth", str(root), "--split", "train", "--sequences", "1", "--frames", "8", "--people", "3",
                 "--seed", "5", "--width", "192", "--height", "128", "--no-video"]) == 0
    return root


def config(root, epochs: int) -> DetectorTrainConfig:
    spec = DatasetSpec("coco-file", annotations=str(root / "annotations" / "person_keypoints_train.json"),
                       images=str(root))
    return DetectorTrainConfig(
        model=DetectorModelConfig(variant="mobilenet_v3_large_fpn", init="none", min_size=96, max_size=128),
        data=DetectorDataConfig(train=spec, val=spec, workers=0),
        optim=DetectorOptimConfig(epochs=epochs, batch_size=2, max_iters_per_epoch=2, warmup_iters=3,
                                  milestones=(2,), amp=False),
        val=DetectorValConfig(every=1, max_images=2), device="cpu", log_every=1)


def log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_person_boxes_flip_with_the_image(synth):
    spec = DatasetSpec("coco-file", annotations=str(synth / "annotations" / "person_keypoints_train.json"),
                       images=str(synth))
    plain = PersonBoxes(spec, train=True, flip_prob=0.0)
    flipped = PersonBoxes(spec, train=True, flip_prob=1.0)
    (a, ta, _), (b, tb, _) = plain[0], flipped[0]
    assert torch.equal(a.flip(2), b) and ta["labels"].tolist() == [1] * len(ta["boxes"])
    w = a.shape[2]
    torch.testing.assert_close(tb["boxes"][:, [0, 2]], w - ta["boxes"][:, [2, 0]])


def test_fine_tune_save_resume_and_load_with_the_detector_loader(synth, tmp_path):
    out = tmp_path / "det"
    DetectorTrainer(config(synth, 2), out=str(out), progress=False).fit()
    with pytest.raises(PosetrackError, match="--resume"):
        DetectorTrainer(config(synth, 3), out=str(out), progress=False)
    trainer = DetectorTrainer(config(synth, 3), out=str(out), resume=True, progress=False)
    assert (trainer.start_epoch, trainer.step) == (2, 4)
    summary = trainer.fit()
    entries = log(out)
    assert [e["step"] for e in entries] == [1, 2, 3, 4, 5, 6] and summary["step"] == 6
    # warmup over 3 steps from 0.001x, then x0.1 from epoch 3 (milestone 2)
    lrs = [e["lr"] for e in entries]
    assert lrs[0] == pytest.approx(0.0025 * 0.001) and lrs[3] == pytest.approx(0.0025)
    assert lrs[4] == pytest.approx(0.00025) and all(np.isfinite(e["loss"]) for e in entries)
    # The logged AP is what last.pth scores when the detector loader runs it on the same validation images.
    val = PersonBoxes(config(synth, 3).data.val, train=False)
    reloaded = FasterRCNNDetector("mobilenet_v3_large_fpn", weights=str(out / "last.pth"), min_size=96,
                                  max_size=128, score_threshold=0.05, device="cpu")
    results = []
    for i in range(2):  # val.max_images
        image, target, _ = val[i]
        (found,) = reloaded([np.ascontiguousarray(image.permute(1, 2, 0).numpy()[:, :, ::-1])], [i])
        results += [{"image_id": target["image_id"], "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                     "score": float(s)} for (x1, y1, x2, y2), s in zip(found.boxes.tolist(), found.scores)]
    assert summary["last_val"] == pytest.approx(box_ap(val.ann_file, results, val.image_ids[:2]), nan_ok=True)
    ckpt = torch.load(out / "last.pth", weights_only=True)
    assert ckpt["meta"]["variant"] == "mobilenet_v3_large_fpn" and ckpt["meta"]["num_classes"] == 2
    detector = FasterRCNNDetector("mobilenet_v3_large_fpn", weights=str(out / "last.pth"), min_size=96,
                                  max_size=128, score_threshold=0.0, device="cpu")
    trained = {k: v for k, v in ckpt["model"].items()}
    for key, value in detector.model.state_dict().items():
        if key in trained:
            torch.testing.assert_close(value, trained[key])
    frame = cv2.imread(str(next((synth / "images" / "train").rglob("*.jpg"))))
    (dets,) = detector([frame], [0])
    assert dets.boxes.shape[1:] == (4,) and len(dets.boxes) == len(dets.scores)
