"""``posetrack test``: a checkpoint scored on a validation set through the real CLI, checked against
``posetrack eval-coco`` / ``posetrack eval`` on the files it writes and against training's own validation."""
import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

from posetrack.cli import main
from posetrack.eval.names import summary
from posetrack.pose.checkpoint import load_pose_model, save_checkpoint
from posetrack.pose.weights import resolve
from posetrack.train.samples import DatasetSpec, load_samples
from posetrack.train.pose_trainer import PoseTrainer
from posetrack.train.recipe import DataConfig, ModelConfig, OptimConfig, TrainConfig, ValConfig
from test_train import small_synth


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return small_synth(tmp_path_factory, "val")


@pytest.fixture(scope="module")
def coco_weights(tmp_path_factory):
    """The packaged demo network (PoseTrack-18 joints) relabelled COCO-17: 14 of its 17 channels are the same
    joints, so it scores a real, non-zero COCO AP on the synthetic people (its eye channels are head points)."""
    model, info = load_pose_model(resolve("demo")[0], layout="coco17")
    path = tmp_path_factory.mktemp("weights") / "coco_demo.pth"
    save_checkpoint(path, model, info)
    return path


def coco_ann(root: Path) -> Path:
    return root / "annotations" / "person_keypoints_val.json"


def write_config(path: Path, val: dict, **settings) -> Path:
    path.write_text(yaml.safe_dump({"data": {"val": val}, "val": {"batch_size": 64, **settings}, "device": "cpu"}))
    return path


@pytest.fixture
def coco_config(synth, tmp_path):
    return write_config(tmp_path / "coco.yaml", {"format": "coco-file", "annotations": str(coco_ann(synth)),
                                                 "images": str(synth)})


def floats(numbers: dict) -> dict:
    """JSON writes an undefined number (pycocotools' -1, no large person here) as null; back to NaN."""
    return {k: math.nan if v is None else v for k, v in numbers.items()}


def run_json(capsys, *args) -> dict:
    assert main(["test", *map(str, args), "--json", "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    report["metrics"] = floats(report["metrics"])
    return report


def eval_json(capsys, tmp_path, *args) -> dict:
    out = tmp_path / "eval.json"
    assert main([*map(str, args), "--json", str(out)]) == 0
    capsys.readouterr()
    return json.loads(out.read_text())


def test_coco_gt_boxes_score_what_eval_coco_and_training_validation_score(synth, coco_weights, coco_config,
                                                                          tmp_path, capsys):
    results = tmp_path / "out" / "keypoints_val_results.json"
    report = run_json(capsys, coco_config, "--weights", coco_weights,
                      "--results", results)
    ap = report["metrics"]["AP"]
    assert report["layout"] == "coco17" and report["boxes"] == "gt" and report["flip_test"] is True
    # The written file is what was scored: rescored, OKS-NMS'd, one entry per kept person.
    written = json.loads(results.read_text())
    assert written and {"image_id", "category_id", "keypoints", "score"} <= set(written[0])
    assert not list(results.parent.glob(".*"))  # no temporary file left beside it
    assert floats(eval_json(capsys, tmp_path, "eval-coco", coco_ann(synth), results)) == pytest.approx(
        report["metrics"], nan_ok=True)
    # Training's validation of the same network (loaded as a fine-tuning start) gives the same numbers.
    spec = DatasetSpec("coco-file", annotations=str(coco_ann(synth)), images=str(synth))
    _, info = load_pose_model(coco_weights)
    cfg = TrainConfig(model=ModelConfig(depth=18, input_size=tuple(info.input_size), deconv_filters=(128, 128, 128),
                                        init=str(coco_weights)),
                      data=DataConfig(train=spec, val=spec, workers=0), optim=OptimConfig(epochs=1),
                      val=ValConfig(batch_size=64), device="cpu")
    trained = PoseTrainer(cfg, out=str(tmp_path / "run"), progress=False).validate()
    assert trained == pytest.approx(report["metrics"], nan_ok=True)
    # The table prints the same AP, and --no-flip changes it.
    assert main(["test", str(coco_config), "--weights", str(coco_weights), "-q"]) == 0
    assert f"\nAP    {ap:6.2f}\n" in capsys.readouterr().out
    assert run_json(capsys, coco_config, "--weights", coco_weights, "--no-flip")["metrics"]["AP"] != ap


def test_detection_boxes_equal_to_the_gt_boxes_score_as_gt_boxes(synth, coco_weights, coco_config, tmp_path,
                                                                 capsys):
    samples = load_samples(DatasetSpec("coco-file", annotations=str(coco_ann(synth)), images=str(synth)), 0.75)
    dets = []
    for i, box in zip(samples.image_index, samples.boxes.astype(float)):
        image_id = int(samples.image_ids[i])
        dets.append({"image_id": image_id, "category_id": 1, "score": 1.0,
                     "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
        # below val.min_box_score, and another category: both ignored
        dets.append({"image_id": image_id, "category_id": 1, "score": 0.3, "bbox": [150, 10, 60, 120]})
        dets.append({"image_id": image_id, "category_id": 3, "score": 0.9, "bbox": [10, 10, 60, 120]})
    det_file = tmp_path / "detections.json"
    det_file.write_text(json.dumps(dets))
    gt = run_json(capsys, coco_config, "--weights", coco_weights)["metrics"]
    results = tmp_path / "det_results.json"
    with_dets = run_json(capsys, coco_config, "--weights", coco_weights, "--boxes", det_file,
                         "--set", "val.min_box_score=0.5", "--results", results)
    assert with_dets["boxes"] == str(det_file)
    assert with_dets["metrics"]["AP"] == pytest.approx(gt["AP"], abs=1e-6)
    assert floats(eval_json(capsys, tmp_path, "eval-coco", coco_ann(synth), results)) == pytest.approx(
        with_dets["metrics"], nan_ok=True)
    # Without the score floor the background boxes are kept: more results, lower precision.
    unfiltered = run_json(capsys, coco_config, "--weights", coco_weights, "--boxes", det_file,
                          "--results", tmp_path / "all.json")
    assert len(json.loads((tmp_path / "all.json").read_text())) > len(json.loads(results.read_text()))
    assert unfiltered["metrics"]["AP"] <= with_dets["metrics"]["AP"]


def test_posetrack_map_equals_posetrack_eval_on_the_written_folder(synth, coco_weights, tmp_path, capsys):
    config = write_config(tmp_path / "pt.yaml", {"format": "posetrack18", "root": str(synth), "split": "val"})
    folder = tmp_path / "predictions"
    report = run_json(capsys, config, "--weights", "demo", "--results", folder)
    m = report["metrics"]
    gt_folder = synth / "annotations" / "val"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in gt_folder.glob("*.json"))
    scored = eval_json(capsys, tmp_path, "eval", gt_folder, folder)
    assert m == pytest.approx(summary(scored))  # mAP, every group's AP and MOTA
    # The table shows the per-joint AP and the total.
    assert main(["test", str(config), "--weights", "demo", "-q"]) == 0
    table = capsys.readouterr().out
    assert f"{m['mAP']:6.1f}" in table and "MOTA" in table
    # A COCO-17 network is scored on the PoseTrack joints through the layout conversion (head estimated).
    coco = run_json(capsys, config, "--weights", coco_weights, "--set", "val.max_images=6", "--results",
                    tmp_path / "coco_predictions")
    assert coco["layout"] == "coco17"
    scored = eval_json(capsys, tmp_path, "eval", gt_folder, tmp_path / "coco_predictions")
    assert coco["metrics"] == pytest.approx(summary(scored))


def test_user_mistakes_give_one_line_and_exit_code_2(synth, coco_weights, coco_config, tmp_path, capsys):
    pt = write_config(tmp_path / "pt.yaml", {"format": "posetrack18", "root": str(synth), "split": "val"})
    not_json = tmp_path / "dets.json"
    not_json.write_text("[{ broken")
    no_bbox = tmp_path / "no_bbox.json"
    image_id = json.loads(coco_ann(synth).read_text())["images"][0]["id"]
    no_bbox.write_text(json.dumps([{"image_id": image_id, "category_id": 1, "score": 0.9}]))
    other_split = tmp_path / "other.json"
    other_split.write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 0.9, "bbox": [0, 0, 9, 9]}]))
    no_images = tmp_path / "no_images"
    shutil.copytree(synth / "annotations" / "val", no_images / "annotations" / "val")
    cases = [
        ([coco_config, "--weights", tmp_path / "missing.pth"], "does not exist"),
        ([coco_config, "--weights", "no_such_weights"], "no pose weights named"),
        ([coco_config, "--weights", "demo"], "posetrack18 joints"),
        ([coco_config, "--weights", coco_weights, "--set", f"data.val.annotations={tmp_path / 'none.json'}"],
         "COCO keypoint file not found"),
        ([pt, "--weights", "demo", "--set", f"data.val.root={tmp_path / 'nowhere'}"], "no PoseTrack annotation"),
        ([pt, "--weights", "demo", "--set", f"data.val.root={no_images}"], "does not exist"),
        ([coco_config, "--weights", coco_weights, "--boxes", not_json], "not valid JSON"),
        ([coco_config, "--weights", coco_weights, "--boxes", no_bbox], "entry 0 is not a COCO result"),
        ([coco_config, "--weights", coco_weights, "--boxes", other_split], "no person box names an image"),
        ([pt, "--weights", "demo", "--boxes", not_json], "ground-truth boxes"),
        ([coco_config, "--weights", coco_weights, "--set", "val.flip_test=maybe"], "val.flip_test"),
    ]
    for args, message in cases:
        assert main(["test", *map(str, args), "-q"]) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("posetrack: error:") and "\n" not in err and message in err, (args, err)
