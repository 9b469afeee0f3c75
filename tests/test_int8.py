"""``pose.int8``: the pose network's backbone in 8 bits on the CPU, calibrated on synthetic people."""
import numpy as np
import pytest
import torch

from posetrack import PoseEstimator
from posetrack.config import PipelineConfig, load_config
from posetrack.errors import PosetrackError
from posetrack.pipeline.estimate import calibration_crops, load_estimator
from posetrack.pose.network import PoseResNet
from posetrack.pose.quantize import Int8PoseNet
from posetrack.synth.sequence import make_sequence, person_boxes


def _people(seed, frames=4, people=5):
    """``[(frame, boxes of the people at least 400 px visible)]`` of a synth clip the calibration never saw."""
    syn = make_sequence(seed, frames=frames, people=people)
    boxes = person_boxes(syn.scene)[0]
    return [(frame, boxes[t][syn.area[t] >= 400]) for t, frame in enumerate(syn.frames)]


@pytest.fixture(scope="module")
def demo_pair():
    """The shipped demo pose network twice: fp32, and int8 through the pipeline's own loader."""
    config = load_config(PipelineConfig, None, ["pose.weights=demo", "pose.flip_test=false", "pose.int8=true"])
    int8 = load_estimator(config, "cpu")
    fp32 = PoseEstimator.from_checkpoint("demo", flip_test=False)
    return fp32, int8


def test_the_demo_network_in_int8_finds_the_same_joints(demo_pair):
    fp32, int8 = demo_pair
    assert int8.precision == "int8" and isinstance(int8.model, Int8PoseNet)
    moved, scores = [], []
    for frame, boxes in _people(31) + _people(32, people=8):
        k8, s8 = int8(frame, boxes)
        k32, s32 = fp32(frame, boxes)
        moved.append(np.linalg.norm(k8[..., :2] - k32[..., :2], axis=-1).ravel())
        scores.append(np.abs(s8 - s32))
    moved = np.concatenate(moved)
    assert len(moved) > 300
    # Measured: 96% of the joints within 2 px of fp32, 99% within 4 px (a person is 100-250 px tall here).
    assert (moved <= 2).mean() > 0.9 and (moved <= 4).mean() > 0.95
    assert np.concatenate(scores).mean() < 0.02


def test_int8_results_do_not_depend_on_the_thread_count(demo_pair):
    fp32 = demo_pair[0]
    frame, boxes = _people(33)[0]
    crops = calibration_crops(fp32)
    threads = torch.get_num_threads()
    outputs = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            est = PoseEstimator.from_checkpoint("demo", flip_test=False).to_int8(crops)
            torch.set_num_threads(1)  # the same inference, so that only the calibration's threads differ
            with torch.inference_mode():
                outputs.append(est.model.backbone(est._normalize(est.crops(frame, boxes))))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(outputs[0], outputs[1])


def test_calibration_crops_are_the_same_people_every_time(demo_pair):
    fp32 = demo_pair[0]
    a, b = calibration_crops(fp32), calibration_crops(fp32)
    assert a.dtype == torch.uint8 and a.shape == (32, 3, 192, 128)
    assert torch.equal(a, b)
    assert a.float().std() > 20  # people and backdrops, not blank crops


def test_features_and_flip_test_work_in_int8():
    frame, boxes = _people(34, people=6)[0]
    fp32 = PoseEstimator.from_checkpoint("demo", flip_test=True, return_features=True)
    int8 = PoseEstimator.from_checkpoint("demo", flip_test=True, return_features=True)
    int8.to_int8(calibration_crops(int8))
    (k8, _, f8), (k32, _, f32) = int8(frame, boxes), fp32(frame, boxes)
    assert f8.shape == (len(boxes), 512) and np.isfinite(f8).all()
    cosine = (f8 * f32).sum(1) / np.linalg.norm(f8, axis=1) / np.linalg.norm(f32, axis=1)
    assert cosine.min() > 0.98
    assert (np.linalg.norm(k8[..., :2] - k32[..., :2], axis=-1) <= 4).mean() > 0.9


def test_int8_refuses_what_it_cannot_quantize():
    with pytest.raises(PosetrackError, match="CPU from fp32"):
        PoseEstimator(PoseResNet(depth=18), input_size=(96, 128), precision="bf16").to_int8(
            torch.zeros((1, 3, 128, 96), dtype=torch.uint8))
    with pytest.raises(PosetrackError, match="PoseResNet"):
        PoseEstimator(torch.nn.Conv2d(3, 17, 1), input_size=(96, 128)).to_int8(
            torch.zeros((1, 3, 128, 96), dtype=torch.uint8))
    with pytest.raises(PosetrackError, match="calibration crops"):
        PoseEstimator(PoseResNet(depth=18), input_size=(96, 128)).to_int8(torch.zeros((0, 3, 128, 96)))


def test_int8_is_ignored_off_the_cpu_and_off_by_default():
    config = load_config(PipelineConfig, None, ["pose.weights=demo"])
    assert config.pose.int8 is False
    assert load_estimator(config, "cpu").precision == "fp32"
    assert load_config(PipelineConfig, "fast_cpu").pose.int8 is True
