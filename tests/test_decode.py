import numpy as np
import pytest
import torch

from posetrack.layouts import COCO17
from posetrack.pose.decode import decode_heatmaps, flip_back, get_max_preds, pose_nms, rescore


def gaussian(h, w, x, y, sigma=2.0):
    ys, xs = np.mgrid[0:h, 0:w]
    return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2)).astype(np.float32)


def quarter_rule(x):
    """What the official decoder returns for a true sub-pixel position x (argmax, then 0.25 toward the neighbour)."""
    r = np.floor(x + 0.5)
    return r + 0.25 * np.sign(x - r)


@pytest.mark.parametrize("x,y", [(20.3, 30.8), (10.0, 11.0), (33.6, 5.2), (24.5 - 1e-3, 40.1)])
def test_gaussian_at_subpixel_position_is_recovered_by_the_quarter_rule(x, y):
    hm = torch.from_numpy(gaussian(64, 48, x, y))[None, None]
    coords, maxvals = decode_heatmaps(hm)
    np.testing.assert_allclose(coords[0, 0].numpy(), [quarter_rule(x), quarter_rule(y)], atol=1e-6)
    assert abs(coords[0, 0, 0].item() - x) <= 0.5 and abs(coords[0, 0, 1].item() - y) <= 0.5
    assert maxvals[0, 0] > 0.9


def test_no_shift_at_the_border_and_zero_for_non_positive_maps():
    hm = np.zeros((2, 64, 48), np.float32)
    hm[0] = gaussian(64, 48, 1.3, 30)  # argmax at px=1: official rule needs 1 < px, so no shift in x
    hm[1] -= 1.0  # all negative: coords zeroed
    coords, maxvals = decode_heatmaps(torch.from_numpy(hm)[None])
    assert coords[0, 0, 0] == 1.0 and coords[0, 0, 1] == 30.0
    assert coords[0, 1].tolist() == [0.0, 0.0] and maxvals[0, 1] == -1.0


def test_argmax_is_row_major():
    hm = torch.zeros(1, 1, 4, 5)
    hm[0, 0, 3, 2] = 1
    coords, _ = get_max_preds(hm)
    assert coords[0, 0].tolist() == [2.0, 3.0]


def test_flip_back_mirrors_swaps_and_shifts_one_pixel():
    k = COCO17.num_joints
    hm = torch.zeros(1, k, 8, 6)
    hm[0, 5, 2, 1] = 1.0  # left_shoulder at x=1
    hm[0, 0, 4, 4] = 2.0  # nose at x=4
    out = flip_back(hm, COCO17.flip_permutation())
    # Mirrored: x -> 5 - x; then shifted right by one: x -> 6 - x. Left shoulder becomes right shoulder (6).
    assert out[0, 6, 2, 5] == 1.0 and out[0, 5].sum() == 0
    assert out[0, 0, 4, 2] == 2.0
    no_shift = flip_back(hm, COCO17.flip_permutation(), shift=False)
    assert no_shift[0, 6, 2, 4] == 1.0


def test_rescoring_uses_joints_above_point_two():
    joint_scores = np.array([[0.9, 0.1, 0.5, 0.2], [0.1, 0.05, 0.0, 0.2]], np.float32)
    scores = rescore(np.array([0.8, 0.9]), joint_scores)
    np.testing.assert_allclose(scores, [0.8 * (0.9 + 0.5) / 2, 0.0], rtol=1e-6)


def test_oks_nms_hand_computed():
    sigmas = COCO17.sigmas
    base = np.zeros((17, 3), np.float32)
    base[:, 0] = np.linspace(100, 200, 17)
    base[:, 1] = np.linspace(50, 300, 17)
    base[:, 2] = 1
    near = base.copy()
    near[:, :2] += 1.0  # 1.41 px away: OKS ~0.999 at area 200*266 -> suppressed
    far = base.copy()
    far[:, 0] += 40.0  # OKS well below 0.9 -> kept
    kpts = np.stack([near, base, far])
    scales = np.array([[1.0, 1.333]] * 3)
    keep = pose_nms(kpts, np.array([0.7, 0.9, 0.8]), scales, sigmas, threshold=0.9)
    assert keep.tolist() == [1, 2]
    # OKS by hand for base vs far: d^2 = 1600, var = (2 sigma)^2, area = 200*266.6
    area = 200 * 266.6
    e = 1600 / (2 * sigmas) ** 2 / area / 2
    assert np.exp(-e).mean() < 0.9
