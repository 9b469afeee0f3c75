import numpy as np

from posetrack.track.propagate import propagate_joints, propagated_boxes, sample_flow, unify_boxes


def _linear_flow(height=60, width=80):
    """flow(x, y) = (0.5 x, -0.25 y + 3): bilinear sampling must reproduce it exactly between pixels."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([0.5 * xs, -0.25 * ys + 3], axis=-1)


def test_sample_flow_is_bilinear_and_clamps_at_the_border():
    flow = _linear_flow()
    pts = np.array([[10.25, 20.5], [0, 0], [79, 59], [33.75, 7.125]], np.float32)
    got = sample_flow(flow, pts)
    want = np.stack([0.5 * pts[:, 0], -0.25 * pts[:, 1] + 3], axis=1)
    np.testing.assert_allclose(got, want, atol=0.02)  # remap interpolates on a 1/32 px grid
    off = sample_flow(flow, np.array([[-5.0, 200.0]], np.float32))
    np.testing.assert_allclose(off, [[0.0, -0.25 * 59 + 3]], atol=1e-4)


def test_sample_flow_handles_more_points_than_a_remap_row():
    flow = _linear_flow()
    rng = np.random.default_rng(1)
    pts = (rng.random((3, 5000, 2)) * [79, 59]).astype(np.float32)
    got = sample_flow(flow, pts)
    assert got.shape == (3, 5000, 2)
    np.testing.assert_allclose(got[..., 0], 0.5 * pts[..., 0], atol=0.02)


def test_only_confident_joints_move_and_scores_stay():
    flow = np.zeros((50, 50, 2), np.float32)
    flow[..., 0], flow[..., 1] = 4.0, -2.0
    kpts = np.array([[[10, 10, 0.9], [20, 20, 0.1], [30, 30, 0.5]]], np.float32)
    moved = propagate_joints(kpts, flow, min_score=0.2)
    np.testing.assert_allclose(moved[0, :, :2], [[14, 8], [20, 20], [34, 28]])
    np.testing.assert_array_equal(moved[..., 2], kpts[..., 2])
    assert propagate_joints(np.zeros((0, 3, 3)), flow).shape == (0, 3, 3)


def test_propagated_box_is_the_joint_box_enlarged_by_15_percent():
    kpts = np.array([[[10, 20, 0.9], [110, 220, 0.9], [500, 500, 0.0]],
                     [[0, 0, 0.0], [5, 5, 0.1], [9, 9, 0.0]]], np.float32)
    boxes, valid = propagated_boxes(kpts, min_score=0.2, enlarge=0.15)
    np.testing.assert_allclose(boxes[0], [10 - 7.5, 20 - 15, 110 + 7.5, 220 + 15], rtol=1e-5)
    np.testing.assert_array_equal(valid, [True, False])


def test_unify_keeps_the_detector_box_over_a_weaker_overlapping_propagated_box():
    det = np.array([[0, 0, 100, 200], [300, 0, 400, 200]], np.float32)
    det_scores = np.array([0.95, 0.4], np.float32)
    flow_boxes = np.array([[5, 5, 105, 205], [300, 0, 400, 200], [600, 0, 700, 200]], np.float32)
    flow_scores = np.array([0.8, 0.8, 0.6], np.float32)
    boxes, scores, source = unify_boxes(det, det_scores, flow_boxes, flow_scores, iou_threshold=0.5)
    # det 0 beats flow 0; flow 1 beats the weak det 1; flow 2 covers a person the detector missed.
    np.testing.assert_array_equal(source, [-1, 1, 2])
    np.testing.assert_allclose(scores, [0.95, 0.8, 0.6])
    np.testing.assert_allclose(boxes[0], det[0])
    # Equal scores: the detector box (measured on this frame) wins.
    _, _, source = unify_boxes(det[:1], [0.8], flow_boxes[:1], [0.8], iou_threshold=0.5)
    np.testing.assert_array_equal(source, [-1])
