import numpy as np
import pytest

from posetrack.errors import PosetrackError
from posetrack.geometry import keypoint_boxes
from posetrack.layouts import POSETRACK18
from posetrack.track.similarity import Candidates, make_similarity, pose_oks, reduce_by_track

SIGMAS = POSETRACK18.sigmas


def _pose(x0, y0, score=0.9):
    """A 17-joint pose spread over a 40 x 100 px area with its top-left joint at (x0, y0)."""
    grid = np.stack(np.meshgrid(np.linspace(0, 40, 3), np.linspace(0, 100, 6)), -1).reshape(-1, 2)[:17]
    return np.concatenate([grid + [x0, y0], np.full((17, 1), score)], axis=1).astype(np.float32)


def _boxes(poses):
    """The poses' joint boxes enlarged by 15%: 46 x 115 px for every ``_pose``."""
    return keypoint_boxes(np.asarray(poses, np.float32), enlarge=0.15)


def _candidates(raw, moved, history=None, history_track=None, boxes=None):
    raw, moved = np.asarray(raw, np.float32), np.asarray(moved, np.float32)
    t = len(raw)
    history = moved if history is None else np.asarray(history, np.float32)
    history_track = np.arange(t) if history_track is None else np.asarray(history_track)
    boxes = _boxes(raw) if boxes is None else np.asarray(boxes, np.float32)
    return Candidates(np.arange(t, dtype=np.int64) + 10, boxes, raw, moved, history, _boxes(history),
                      history_track)


def test_oks_by_hand_for_a_uniform_shift():
    a = _pose(0, 0)[None]
    b = _pose(3, 4)[None]  # every joint 5 px away
    a_box, b_box = np.array([[0, 0, 46, 115]]), np.array([[0, 0, 50, 120]])
    mean_area = (46 * 115 + 50 * 120) / 2
    want = np.mean(np.exp(-25 / (2 * SIGMAS) ** 2 / mean_area / 2))
    np.testing.assert_allclose(pose_oks(a, a_box, b, b_box, SIGMAS, 0.2), [[want]], rtol=1e-4)
    np.testing.assert_allclose(pose_oks(a, a_box, a, b_box, SIGMAS, 0.2), [[1.0]], rtol=1e-6)


def test_oks_counts_only_joints_seen_in_both_poses():
    a = _pose(0, 0)
    b = _pose(0, 0)
    b[:8, :2] += 50   # far off, but not seen: they must not count
    b[:8, 2] = 0.1
    box = _boxes([a])
    np.testing.assert_allclose(pose_oks(a[None], box, b[None], box, SIGMAS, 0.2), [[1.0]], rtol=1e-6)
    b[:, 2] = 0.1
    assert pose_oks(a[None], box, b[None], box, SIGMAS, 0.2)[0, 0] == 0


def test_flow_similarity_compares_the_propagated_pose_not_the_last_one():
    current = np.stack([_pose(100, 0), _pose(160, 0)])
    # Track 0 was at x=60 and the flow moved it to x=100; track 1 was at x=100 and moved to x=160.
    cands = _candidates(raw=[_pose(60, 0), _pose(100, 0)], moved=[_pose(100, 0), _pose(160, 0)])
    flow = make_similarity("flow", SIGMAS, 0.2)(cands, current, _boxes(current))
    pose = make_similarity("pose", SIGMAS, 0.2)(cands, current, _boxes(current))
    np.testing.assert_allclose(np.diag(flow), [1, 1], rtol=1e-6)
    assert pose[1, 0] == pytest.approx(1.0)  # without flow, track 1's old place looks like person 0
    assert flow[0, 1] < 0.01 and flow[1, 0] < 0.01


def test_multiflow_reduces_each_tracks_appearances_with_max_or_mean():
    current = np.stack([_pose(0, 0), _pose(300, 0)])
    # Track 0 appears twice in the queue (one appearance exact, one 5 px off), track 1 once, far away.
    history = np.stack([_pose(0, 0), _pose(500, 0), _pose(3, 4)])
    cands = _candidates(raw=history[:2], moved=history[:2], history=history, history_track=[0, 1, 0])
    box = _boxes([_pose(0, 0)])
    shifted = pose_oks(_pose(0, 0)[None], box, _pose(3, 4)[None], box, SIGMAS, 0.2)[0, 0]
    best = make_similarity("multiflow", SIGMAS, 0.2, "max")(cands, current, _boxes(current))
    mean = make_similarity("multiflow", SIGMAS, 0.2, "mean")(cands, current, _boxes(current))
    assert best.shape == (2, 2)
    assert best[0, 0] == pytest.approx(1.0) and mean[0, 0] == pytest.approx((1 + shifted) / 2)
    assert best[1, 0] < 1e-3


def test_reduce_by_track_by_hand():
    values = np.array([[1.0, 0.0], [0.2, 0.4], [0.5, 0.6], [0.3, 0.2]], np.float32)
    track = np.array([2, 0, 2, 0])
    np.testing.assert_allclose(reduce_by_track(values, track, 3, "max"), [[0.3, 0.4], [0, 0], [1.0, 0.6]])
    np.testing.assert_allclose(reduce_by_track(values, track, 3, "mean"), [[0.25, 0.3], [0, 0], [0.75, 0.3]])


def test_bbox_similarity_is_iou_of_the_last_boxes():
    cands = _candidates(raw=[_pose(0, 0)], moved=[_pose(0, 0)], boxes=[[0, 0, 10, 10]])
    sim = make_similarity("bbox", SIGMAS, 0.2)(cands, None, np.array([[5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(sim, [[50 / 150, 0]], rtol=1e-6)


def test_unknown_names_are_user_errors():
    with pytest.raises(PosetrackError, match="similarity"):
        make_similarity("iou", SIGMAS, 0.2)
    with pytest.raises(PosetrackError, match="reduction"):
        make_similarity("multiflow", SIGMAS, 0.2, "median")
