import argparse
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torchvision.models import detection as tvd

from posetrack.config import DetectorConfig
from posetrack.detect import Detections, make_box_source
from posetrack.detect import faster_rcnn
from posetrack.detect.faster_rcnn import FasterRCNNDetector, default_weights_file, recognise_variant
from posetrack.detect.files import DetectionsFile, GroundTruthBoxes
from posetrack.errors import PosetrackError
from posetrack.layouts import POSETRACK18

BUILDERS = {"resnet50_fpn": tvd.fasterrcnn_resnet50_fpn, "resnet50_fpn_v2": tvd.fasterrcnn_resnet50_fpn_v2,
            "mobilenet_v3_large_fpn": tvd.fasterrcnn_mobilenet_v3_large_fpn}


def _random_model(variant="mobilenet_v3_large_fpn", num_classes=91, seed=0):
    """Random weights, except that the classifier leans to "person" so that random images give person boxes."""
    torch.manual_seed(seed)
    model = BUILDERS[variant](weights=None, weights_backbone=None, num_classes=num_classes).eval()
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.bias[1] += 4
    return model


def _frames(n=3, size=(160, 120)):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8) for _ in range(n)]


def _check_detections(dets, n):
    assert len(dets) == n
    for boxes, scores in dets:
        assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
        assert scores.dtype == np.float32 and scores.shape == (len(boxes),)
        assert (np.diff(scores) <= 0).all() and (boxes[:, 2:] >= boxes[:, :2]).all()


@pytest.fixture(scope="module")
def mobilenet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "mobilenet.pth"
    model = _random_model()
    torch.save(model.state_dict(), path)
    return path, model


# ---------------------------------------------------------------- Faster R-CNN


def test_local_state_dict_runs_batched_and_matches_torchvision(mobilenet_file):
    path, reference = mobilenet_file
    detector = FasterRCNNDetector("resnet50_fpn", path, score_threshold=0.0, min_size=128, max_size=160,
                                  batch_size=2, device="cpu")
    assert detector.variant == "mobilenet_v3_large_fpn"  # recognised from the file, not the argument
    frames = _frames(3)
    dets = detector(frames, [0, 1, 2])
    _check_detections(dets, 3)
    assert sum(len(d.boxes) for d in dets) > 0
    # Same network, same person boxes as torchvision itself given RGB in [0, 1].
    reference.transform.min_size, reference.transform.max_size = (128,), 160
    reference.roi_heads.score_thresh = 0.0
    with torch.inference_mode():
        ref = reference([torch.from_numpy(frames[2][..., ::-1].copy()).permute(2, 0, 1).float() / 255])[0]
    person = ref["labels"] == 1
    np.testing.assert_allclose(dets[2].boxes, ref["boxes"][person].numpy(), atol=1e-3)
    np.testing.assert_allclose(dets[2].scores, ref["scores"][person].numpy(), atol=1e-5)
    strict = FasterRCNNDetector("mobilenet_v3_large_fpn", path, score_threshold=0.99, min_size=128, max_size=160)
    assert all((d.scores >= 0.99).all() for d in strict(frames[:1]))


def test_person_only_detector_in_a_training_checkpoint(tmp_path):
    model = _random_model(num_classes=2)
    path = tmp_path / "person.pth"
    torch.save({"model": model.state_dict(), "epoch": 3, "args": argparse.Namespace(lr=0.02)}, path)
    detector = FasterRCNNDetector("mobilenet_v3_large_fpn", path, score_threshold=0.0, min_size=128,
                                  max_size=160)
    assert detector.model.roi_heads.box_predictor.cls_score.out_features == 2
    _check_detections(detector(_frames(2), [0, 1]), 2)


@pytest.mark.parametrize("variant", ["resnet50_fpn", "resnet50_fpn_v2", "mobilenet_v3_large_fpn"])
@pytest.mark.parametrize("num_classes", [91, 2])
def test_every_variant_is_recognised_from_its_keys(variant, num_classes):
    with torch.device("meta"):  # only names and shapes matter; nothing is allocated
        state = BUILDERS[variant](weights=None, weights_backbone=None, num_classes=num_classes).state_dict()
    assert recognise_variant(state) == variant


@pytest.mark.slow
def test_resnet50_v1_loads_like_torchvision_with_frozen_bn(tmp_path):
    # torchvision builds its pretrained v1 with FrozenBatchNorm2d of eps 0; our BatchNorm2d build must agree.
    from torchvision.models import resnet50
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops import FrozenBatchNorm2d

    model = _random_model("resnet50_fpn")
    state = model.state_dict()
    rng = torch.Generator().manual_seed(1)
    for key in [k for k in state if k.endswith("running_var")]:
        # Small variances (where eps 0 and 1e-5 differ) with gains that keep activations at their scale.
        state[key] = torch.rand(state[key].shape, generator=rng) * 1e-3 + 1e-4
        state[key[:-len("running_var")] + "weight"] = state[key].sqrt()
    torch.save({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, tmp_path / "r50.pth")
    detector = FasterRCNNDetector("resnet50_fpn", tmp_path / "r50.pth", score_threshold=0.0, min_size=96,
                                  max_size=128, device="cpu")
    reference = tvd.FasterRCNN(_resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 3), 91,
                               min_size=96, max_size=128, box_score_thresh=0.0)
    reference.load_state_dict(state, strict=False)
    for module in reference.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.eps = 0.0
    frame = _frames(1, (128, 96))[0]
    with torch.inference_mode():
        ref = reference.eval()([torch.from_numpy(frame[..., ::-1].copy()).permute(2, 0, 1).float() / 255])[0]
        image = torch.rand(1, 3, 64, 64, generator=rng)
        ours, theirs = detector.model.backbone(image), reference.backbone(image)
    for level in theirs:
        torch.testing.assert_close(ours[level], theirs[level], rtol=1e-4, atol=1e-4)
    (boxes, scores), = detector([frame], [0])
    person = ref["labels"] == 1
    np.testing.assert_allclose(scores, ref["scores"][person].numpy(), atol=1e-4)
    np.testing.assert_allclose(boxes, ref["boxes"][person].numpy(), atol=1e-2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fp16_batches_agree_with_cpu(mobilenet_file):
    frames = _frames(3)
    kwargs = dict(score_threshold=0.3, min_size=128, max_size=160, batch_size=3)
    cpu = FasterRCNNDetector("mobilenet_v3_large_fpn", mobilenet_file[0], device="cpu", **kwargs)(frames, [0, 1, 2])
    gpu = FasterRCNNDetector("mobilenet_v3_large_fpn", mobilenet_file[0], device="cuda", fp16=True, **kwargs)
    assert gpu.fp16 and gpu.device.type == "cuda"
    out = gpu(frames, [0, 1, 2])
    _check_detections(out, 3)
    # Random weights score many boxes alike, so which ones survive NMS differs; the scores themselves agree.
    for a, b in zip(cpu, out):
        assert len(b.scores) > 0 and (b.scores >= 0.3).all()
        np.testing.assert_allclose(a.scores[0], b.scores[0], atol=5e-3)


def test_files_that_are_no_detector_give_clear_errors(tmp_path, mobilenet_file):
    state = torch.load(mobilenet_file[0], weights_only=True)
    state["backbone.fpn.extra.weight"] = torch.zeros(3)
    state["roi_heads.box_head.fc6.weight"] = torch.zeros(5, 5)
    del state["rpn.head.cls_logits.bias"]
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(PosetrackError) as err:
        FasterRCNNDetector(weights=tmp_path / "odd.pth")
    message = str(err.value)
    assert "closest is mobilenet_v3_large_fpn" in message and "missing rpn.head.cls_logits.bias" in message
    assert "unexpected backbone.fpn.extra.weight" in message and "wrong shape roi_heads.box_head.fc6" in message
    torch.save({"conv.weight": torch.zeros(3, 3)}, tmp_path / "classifier.pth")
    with pytest.raises(PosetrackError, match="no roi_heads.box_predictor.cls_score.weight"):
        FasterRCNNDetector(weights=tmp_path / "classifier.pth")
    (tmp_path / "notes.pth").write_text("not a checkpoint")
    with pytest.raises(PosetrackError, match="notes.pth: not a PyTorch checkpoint"):
        FasterRCNNDetector(weights=tmp_path / "notes.pth")
    with pytest.raises(PosetrackError, match="absent.pth: detector weights file not found"):
        FasterRCNNDetector(weights=tmp_path / "absent.pth")
    with pytest.raises(PosetrackError, match="unknown detector variant"):
        FasterRCNNDetector("yolo")


def test_default_weights_come_from_the_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url, path = default_weights_file("mobilenet_v3_large_320_fpn")
    assert path == str(tmp_path / "hub" / "checkpoints" / url.rsplit("/", 1)[1])
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(_random_model().state_dict(), path)  # as if downloaded earlier
    detector = FasterRCNNDetector("mobilenet_v3_large_320_fpn", None, score_threshold=0.0, min_size=128,
                                  max_size=160, progress=False)
    assert detector.variant == "mobilenet_v3_large_320_fpn"
    _check_detections(detector(_frames(1), [0]), 1)


def test_offline_download_failure_says_what_to_fetch_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    # A URL nothing answers (the discard port on this machine): the real download code fails at once.
    unreachable = SimpleNamespace(DEFAULT=SimpleNamespace(url="http://127.0.0.1:9/fasterrcnn_x-0123abcd.pth"))
    monkeypatch.setitem(faster_rcnn.VARIANTS, "resnet50_fpn", (tvd.fasterrcnn_resnet50_fpn, unreachable))
    with pytest.raises(PosetrackError) as err:
        FasterRCNNDetector("resnet50_fpn", None, progress=False)
    message = str(err.value)
    assert "download http://127.0.0.1:9/fasterrcnn_x-0123abcd.pth" in message
    assert str(tmp_path / "hub" / "checkpoints" / "fasterrcnn_x-0123abcd.pth") in message
    assert "\n" not in message


def test_make_box_source_builds_the_model(mobilenet_file):
    config = DetectorConfig(variant="mobilenet_v3_large_fpn", weights=str(mobilenet_file[0]), min_size=128,
                            max_size=160, batch_size=3, score_threshold=0.0)
    source = make_box_source(config, device="cpu")
    assert source.batch_size == 3 and source.needs_pixels
    _check_detections(source(_frames(4), range(4)), 4)


# ---------------------------------------------------------------- detection files and ground truth


def _posetrack18_file(path, with_boxes=True):
    """Three images; image 0 has two people, image 1 none, image 2 one (joints 5..16 labelled)."""
    def person(image_id, x, track, score):
        kpts = np.zeros((17, 3))
        kpts[5:, 0], kpts[5:, 1], kpts[5:, 2] = x + np.arange(12) * 2, 50 + np.arange(12) * 10, 1
        ann = {"image_id": image_id, "track_id": track, "keypoints": kpts.ravel().tolist(), "score": score,
               "category_id": 1}
        if with_boxes:
            ann["bbox"] = [x - 5, 40, 40, 140]
        return ann
    data = {"images": [{"id": 10 + i, "file_name": f"images/val/000001_mpii_test/{i:06d}.jpg"} for i in range(3)],
            "annotations": [person(10, 100, 0, 0.9), person(10, 300, 1, 0.3), person(12, 200, 0, 0.8)],
            "categories": [{"name": "person", "id": 1, "keypoints": list(POSETRACK18.joints)}]}
    path.write_text(json.dumps(data))
    return path


def test_coco_results_by_frame_index_and_file_name(tmp_path):
    results = [{"image_id": 2, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.4},
               {"image_id": 0, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.2},
               {"image_id": 2, "category_id": 1, "bbox": [50, 60, 10, 20], "score": 0.9},
               {"image_id": 2, "category_id": 3, "bbox": [1, 1, 1, 1], "score": 1.0}]  # a car: ignored
    (tmp_path / "dets.json").write_text(json.dumps(results))
    source = DetectionsFile(tmp_path / "dets.json", score_threshold=0.3)
    assert not source.needs_pixels
    empty0, empty1, frame2 = source(None, [0, 1, 2])
    assert len(empty0.boxes) == 0 and len(empty1.boxes) == 0  # frame 0's only box scores below 0.3
    np.testing.assert_allclose(frame2.boxes, [[50, 60, 60, 80], [10, 20, 40, 60]])
    np.testing.assert_allclose(frame2.scores, [0.9, 0.4])
    named = [{"image_id": "000001.jpg", "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]
    (tmp_path / "alphapose.json").write_text(json.dumps(named))
    by_name = DetectionsFile(tmp_path / "alphapose.json", frame_names=["000000.jpg", "000001.jpg"])
    np.testing.assert_allclose(by_name(None, [1])[0].boxes, [[1, 2, 4, 6]])


@pytest.mark.parametrize("content,message", [
    ({"not": "posetrack"}, "images"),
    ([{"image_id": 0, "bbox": [1, 2, 3]}], "bbox must be 4 numbers"),
    ([{"image_id": -1, "bbox": [1, 2, 3, 4]}], "0-based frame index"),
    ([{"bbox": [1, 2, 3, 4]}], "entry 0 is not a COCO result"),
    ([{"image_id": "a.jpg", "bbox": [1, 2, 3, 4]}], "needs an image folder input"),
])
def test_bad_detection_files(tmp_path, content, message):
    (tmp_path / "d.json").write_text(json.dumps(content))
    with pytest.raises(PosetrackError, match=message):
        DetectionsFile(tmp_path / "d.json")
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(PosetrackError, match="not valid JSON"):
        DetectionsFile(tmp_path / "broken.json")


def test_posetrack_file_boxes_by_image_order(tmp_path):
    source = DetectionsFile(_posetrack18_file(tmp_path / "000001_mpii_test.json"), score_threshold=0.5)
    frame0, frame1, frame2 = source(None, [0, 1, 2])
    np.testing.assert_allclose(frame0.boxes, [[95, 40, 135, 180]])  # the 0.3 person is below the threshold
    assert len(frame1.boxes) == 0 and frame2.scores.tolist() == pytest.approx([0.8])


def test_ground_truth_keypoint_boxes_enlarged_by_15_percent(tmp_path):
    source = GroundTruthBoxes(_posetrack18_file(tmp_path / "gt.json", with_boxes=False))
    frame0, frame1, frame2 = source(None, [0, 1, 2])
    # Joints span x 100..122, y 50..160: 22 x 110, grown 7.5% on each side.
    np.testing.assert_allclose(frame0.boxes[0], [100 - 1.65, 50 - 8.25, 122 + 1.65, 160 + 8.25], rtol=1e-5)
    assert frame0.scores.tolist() == [1.0, 1.0] and len(frame1.boxes) == 0 and len(frame2.boxes) == 1


def test_make_box_source_picks_the_sequence_file_in_a_folder(tmp_path):
    _posetrack18_file(tmp_path / "000001_mpii_test.json")
    config = DetectorConfig(source="gt", file=str(tmp_path))
    source = make_box_source(config, sequence="000001_mpii_test")
    assert isinstance(source, GroundTruthBoxes) and len(source(None, [0])[0].boxes) == 2
    with pytest.raises(PosetrackError, match="no detections file for sequence 'other'"):
        make_box_source(config, sequence="other")
    assert isinstance(make_box_source(DetectorConfig(source="file", file=str(tmp_path / "000001_mpii_test.json"))),
                      DetectionsFile)
    assert Detections.empty().boxes.shape == (0, 4)
