import cv2
import numpy as np
import pytest
import torch
from torch import nn

from posetrack import PoseEstimator
from posetrack.errors import PosetrackError
from posetrack.pose.checkpoint import PoseModelInfo, save_checkpoint
from posetrack.pose.network import PoseResNet


class DotNet(nn.Module):
    """Heatmap k = channel k of the (normalised) crop, average-pooled to 1/4: known weights, no training."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(4)
        self.mix = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.mix.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.mix.bias.fill_(3.0)  # lift the normalised black background (about -2) above zero

    def forward(self, x):
        return self.mix(self.pool(x))


def _frame_with_dots(dots, size=(480, 640)):
    frame = np.zeros(size + (3,), np.uint8)
    for k, (x, y) in enumerate(dots):
        colour = [0, 0, 0]
        colour[k] = 255
        cv2.circle(frame, (int(round(x)), int(round(y))), 3, colour, -1)
    return frame


@pytest.mark.parametrize("flip_test", [False, True])
def test_dots_are_recovered_in_frame_coordinates(flip_test):
    dots = [(250.0, 130.0), (300.0, 220.0), (270.0, 330.0)]  # channel 0 (B), 1 (G), 2 (R)
    frame = _frame_with_dots(dots)
    box = np.array([[200, 100, 360, 380]], np.float32)
    est = PoseEstimator(DotNet(), flip_pairs=[], num_joints=3, flip_test=flip_test, input_size=(192, 256),
                        color_order="bgr")
    kpts, scores = est(frame, box, [0.9])
    # One heatmap pixel covers 4 crop pixels; the crop of this box is zoomed by 192 / (0.75*280*1.25).
    hm_px = 4 / (192 / (280 * 0.75 * 1.25))
    err = np.linalg.norm(kpts[0, :, :2] - np.array(dots), axis=1)
    assert (err <= hm_px).all(), err
    assert (kpts[0, :, 2] > 0).all() and scores[0] > 0


def test_rgb_checkpoints_get_rgb_input():
    dots = [(250.0, 130.0), (300.0, 220.0), (270.0, 330.0)]
    frame = _frame_with_dots(dots)
    est = PoseEstimator(DotNet(), flip_pairs=[], num_joints=3, flip_test=False, color_order="rgb")
    kpts, _ = est(frame, np.array([[200, 100, 360, 380]]))
    # In RGB order channel 0 is red: joint 0 finds the red dot (dots[2]) and joint 2 the blue one.
    assert np.linalg.norm(kpts[0, 0, :2] - dots[2]) < 10 and np.linalg.norm(kpts[0, 2, :2] - dots[0]) < 10


def test_multi_frame_batches_equal_single_frames():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    est = PoseEstimator(PoseResNet(depth=18), batch_size=3, input_size=(96, 128))
    frames = [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(3)]
    boxes = [np.array([[10, 10, 100, 200], [150, 20, 300, 230]]), np.zeros((0, 4)), np.array([[0, 0, 50, 60]])]
    together = est.estimate_frames(frames, boxes)
    for frame, b, (k, s) in zip(frames, boxes, together):
        k1, s1 = est(frame, b)
        np.testing.assert_allclose(k, k1, atol=1e-4)
        np.testing.assert_allclose(s, s1, atol=1e-6)
    assert together[1][0].shape == (0, 17, 3)


def test_from_checkpoint_file(tmp_path):
    model = PoseResNet(depth=18)
    save_checkpoint(tmp_path / "m.pth", model, PoseModelInfo(arch=model.config, input_size=(96, 128)))
    est = PoseEstimator.from_checkpoint(str(tmp_path / "m.pth"), flip_test=False)
    assert est.input_size == (96, 128)
    kpts, scores = est(np.zeros((100, 100, 3), np.uint8), [[10, 10, 50, 90]])
    assert kpts.shape == (1, 17, 3) and scores.shape == (1,)


def test_odd_frames_and_boxes():
    est = PoseEstimator(DotNet(), flip_pairs=[], num_joints=3, flip_test=True)
    grey = np.zeros((120, 160), np.uint8)
    bgra = np.zeros((120, 160, 4), np.uint8)
    for frame in (grey, grey[:, :, None], bgra):
        kpts, _ = est(frame, [[10, 10, 60, 100]])
        assert kpts.shape == (1, 3, 3)
    # Outside the frame: still a pose (the crop is zero-padded); degenerate: zeros, with a warning.
    boxes = np.array([[-100, -100, -20, -10], [50, 50, 50, 50], [np.nan, 0, 10, 10], [30, 30, 30, 90]])
    with pytest.warns(UserWarning, match="2 degenerate boxes"):
        kpts, scores = est(grey, boxes, [1, 1, 1, 1])
    assert kpts.shape == (4, 3, 3) and np.all(kpts[1:3] == 0) and np.all(scores[1:3] == 0)
    assert np.isfinite(kpts).all()
    empty_k, empty_s = est(grey, [])
    assert empty_k.shape == (0, 3, 3) and empty_s.shape == (0,)


def test_bad_input_is_a_clear_error():
    est = PoseEstimator(DotNet(), flip_pairs=[], num_joints=3)
    with pytest.raises(PosetrackError, match="uint8"):
        est(np.zeros((10, 10, 3), np.float32), [[0, 0, 5, 5]])
    with pytest.raises(PosetrackError, match="shape"):
        est(np.zeros((10, 10, 5), np.uint8), [[0, 0, 5, 5]])
    with pytest.raises(PosetrackError, match=r"\(N, 4\)"):
        est(np.zeros((10, 10, 3), np.uint8), [[0, 0, 5]])
    with pytest.raises(PosetrackError, match="2 boxes but 1 box scores"):
        est(np.zeros((10, 10, 3), np.uint8), [[0, 0, 5, 5], [1, 1, 4, 4]], [0.5])
    with pytest.raises(PosetrackError, match="fp16 needs a CUDA"):
        PoseEstimator(DotNet(), flip_pairs=[], num_joints=3, precision="fp16")


def test_bf16_on_cpu_runs_close_to_fp32():
    torch.manual_seed(0)
    model = PoseResNet(depth=18)
    frame = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    k32, _ = PoseEstimator(model, input_size=(96, 128))(frame, [[20, 20, 150, 190]])
    k16, _ = PoseEstimator(model, input_size=(96, 128), precision="bf16")(frame, [[20, 20, 150, 190]])
    assert k16.shape == k32.shape and np.isfinite(k16).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fp16_matches_cpu():
    dots = [(250.0, 130.0), (300.0, 220.0), (270.0, 330.0)]
    frame = _frame_with_dots(dots)
    box = np.array([[200, 100, 360, 380]], np.float32)
    cpu = PoseEstimator(DotNet(), flip_pairs=[], num_joints=3)(frame, box)[0]
    gpu = PoseEstimator(DotNet(), flip_pairs=[], num_joints=3, device="cuda", precision="fp16")(frame, box)[0]
    assert np.abs(cpu[..., :2] - gpu[..., :2]).max() < 1.5


def test_features_come_from_the_same_pass_and_do_not_change_the_poses():
    torch.manual_seed(0)
    model = PoseResNet(depth=18)
    frame = np.random.default_rng(1).integers(0, 255, (200, 260, 3), dtype=np.uint8)
    boxes = np.array([[20, 20, 150, 190], [5, 5, 5, 5], [100, 30, 250, 180]], np.float32)
    plain = PoseEstimator(model, input_size=(96, 128))
    est = PoseEstimator(model, input_size=(96, 128), return_features=True)
    with pytest.warns(UserWarning, match="1 degenerate"):
        k0, s0 = plain(frame, boxes)
    with pytest.warns(UserWarning, match="1 degenerate"):
        k1, s1, features = est(frame, boxes)
    assert np.array_equal(k0, k1) and np.array_equal(s0, s1)
    assert est.feature_size == 512 and features.shape == (3, 512) and (features[1] == 0).all()
    assert est(frame, np.zeros((0, 4)))[2].shape == (0, 512)
    # The pooled backbone map, averaged with the mirrored crop's: the same for a crop and its mirror image.
    crops = torch.from_numpy(np.random.default_rng(2).integers(0, 255, (2, 3, 128, 96), dtype=np.uint8))
    pooled = est.heatmaps(crops, features=True)[1]
    with torch.no_grad():
        x = (crops.float() - est.mean) / est.std
        expected = (model.backbone(x).mean((2, 3)) + model.backbone(x.flip(3)).mean((2, 3))) / 2
    torch.testing.assert_close(pooled, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(est.heatmaps(crops.flip(3), features=True)[1], pooled, rtol=1e-4, atol=1e-5)
    with pytest.raises(PosetrackError, match="backbone"):
        PoseEstimator(DotNet(), flip_pairs=[], num_joints=3, return_features=True)
