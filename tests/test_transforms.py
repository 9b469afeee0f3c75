import cv2
import numpy as np
import pytest
import torch

from posetrack.geometry import box_to_center_scale
from posetrack.pose.transforms import (affine_matrices, apply_affine, crop_cv2, crop_torch,
                                       get_affine_transform)


def test_center_scale_matches_official_xywh2cs():
    # Wide box 100x50 at (10, 20): height grows to 100 / 0.75; then x1.25 and /200.
    center, scale = box_to_center_scale(np.array([[10, 20, 110, 70]]), 192 / 256)
    np.testing.assert_allclose(center, [[60, 45]])
    np.testing.assert_allclose(scale, [[100 / 200 * 1.25, 100 / 0.75 / 200 * 1.25]], rtol=1e-6)
    # Tall box: width grows to h * 0.75.
    _, scale = box_to_center_scale(np.array([[0, 0, 30, 200]]), 0.75)
    np.testing.assert_allclose(scale, [[150 / 200 * 1.25, 1.25]], rtol=1e-6)


@pytest.mark.parametrize("rot", [0.0, 25.0, -40.0])
@pytest.mark.parametrize("inv", [False, True])
def test_closed_form_equals_the_official_three_point_construction(rot, inv):
    centers = np.array([[320.5, 200.25], [50, 60]])
    scales = np.array([[1.3, 1.7333], [0.4, 0.6]])
    ours = affine_matrices(centers, scales, (192, 256), rot, inv=inv)
    ref = np.stack([get_affine_transform(c, s, rot, (192, 256), inv=inv) for c, s in zip(centers, scales)])
    np.testing.assert_allclose(ours, ref, atol=2e-3 if inv else 1e-5, rtol=1e-4)


def test_known_points_land_where_expected():
    # Box center -> crop center; a point half a crop width to the right of the center -> the crop's right edge.
    center, scale = np.array([[100.0, 150.0]]), np.array([[1.0, 4 / 3]])  # 200 px wide region
    m = affine_matrices(center, scale, (192, 256))
    pts = apply_affine(np.array([[[100, 150], [200, 150], [100, 50]]]), m)
    np.testing.assert_allclose(pts[0], [[96, 128], [192, 128], [96, 32]], atol=1e-4)
    # With rot=90 the official construction maps the point above the center to the crop's left edge.
    m = affine_matrices(center, scale, (192, 256), 90.0)
    up = apply_affine(np.array([[[100, 50]]]), m)
    np.testing.assert_allclose(up[0, 0], [96 - 96, 128], atol=1e-3)


def test_crop_then_inverse_round_trip():
    rng = np.random.default_rng(0)
    centers = rng.uniform(0, 600, (20, 2))
    scales = rng.uniform(0.2, 3, (20, 2))
    rots = rng.uniform(-45, 45, 20)
    fwd = affine_matrices(centers, scales, (288, 384), rots)
    back = affine_matrices(centers, scales, (288, 384), rots, inv=True)
    pts = rng.uniform(-50, 700, (20, 17, 2))
    np.testing.assert_allclose(apply_affine(apply_affine(pts, fwd), back), pts, atol=1e-3)


def test_cv2_crop_moves_a_dot_like_the_matrix_says():
    frame = np.zeros((300, 400, 3), np.uint8)
    cv2.circle(frame, (250, 120), 3, (255, 255, 255), -1)
    center, scale = box_to_center_scale(np.array([[200, 50, 300, 250]]), 0.75)
    m = affine_matrices(center, scale, (192, 256))
    crop = crop_cv2(frame, m, (192, 256))[0]
    ys, xs = np.nonzero(crop[:, :, 0] > 128)
    expected = apply_affine(np.array([[[250, 120]]]), m)[0, 0]
    np.testing.assert_allclose([xs.mean(), ys.mean()], expected, atol=0.6)


def test_torch_crop_agrees_with_cv2():
    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (7, 7), 2)
    boxes = np.array([[20, 30, 120, 200], [-40, -10, 60, 100], [250, 150, 330, 260]], np.float32)
    center, scale = box_to_center_scale(boxes, 0.75)
    m = affine_matrices(center, scale, (96, 128), np.array([0, 10, -20]))
    ref = crop_cv2(frame, m, (96, 128)).astype(np.float32)
    ours = crop_torch(torch.from_numpy(frame).permute(2, 0, 1), m, (96, 128)).permute(0, 2, 3, 1).numpy()
    assert np.abs(ours - ref).mean() < 0.5 and np.percentile(np.abs(ours - ref), 99) < 3
