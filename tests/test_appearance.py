"""Appearance descriptors: colour histograms of the pose's body regions, their similarity, running averages."""
import warnings

import cv2
import numpy as np
import pytest

from posetrack.layouts import POSETRACK18
from posetrack.synth import make_sequence
from posetrack.synth.skeleton import SHIRT, TROUSERS
from posetrack.track.appearance import (BINS, HSV_BINS, REGIONS, blend, colour_histograms, feature_similarity,
                                        histogram_similarity)

JOINTS = {"left_shoulder": (80, 50), "right_shoulder": (120, 50), "left_elbow": (62, 80), "right_elbow": (138, 80),
          "left_wrist": (55, 110), "right_wrist": (145, 110), "left_hip": (88, 110), "right_hip": (112, 110),
          "left_knee": (88, 150), "right_knee": (112, 150), "left_ankle": (88, 190), "right_ankle": (112, 190),
          "nose": (100, 30), "head_bottom": (100, 42), "head_top": (100, 10)}


def pose(hidden=()) -> np.ndarray:
    k = np.zeros((1, 17, 3), np.float32)
    for name, xy in JOINTS.items():
        k[0, POSETRACK18.index(name)] = (*xy, 0.0 if name in hidden else 0.9)
    return k


def hsv_bin(bgr) -> int:
    """Histogram bin of a BGR colour, from OpenCV's HSV (hue 0-179) and the bin counts."""
    h, s, v = cv2.cvtColor(np.array([[bgr]], np.uint8), cv2.COLOR_BGR2HSV)[0, 0].astype(int)
    return ((h * HSV_BINS[0] // 180) * HSV_BINS[1] + s * HSV_BINS[1] // 256) * HSV_BINS[2] + v * HSV_BINS[2] // 256


@pytest.mark.parametrize("bgr, expected", [((0, 0, 255), 15), ((255, 0, 0), 175)])
def test_a_one_colour_frame_fills_one_bin_of_every_region_shown(bgr, expected):
    assert hsv_bin(bgr) == expected  # red: hue 0; blue: hue 120 -> bin 10 of 16; saturation and value full
    frame = np.full((220, 200, 3), bgr, np.uint8)
    onehot = np.zeros(BINS, np.float32)
    onehot[expected] = 1
    hist = colour_histograms(frame, pose())
    assert hist.shape == (1, len(REGIONS), BINS) and (hist[0] == onehot).all()
    # Without wrists there are no forearms; without the left hip no torso, but the right thigh still counts.
    hist = colour_histograms(frame, pose(hidden=("left_wrist", "right_wrist", "left_hip")))
    shown = {r: bool(h.any()) for r, h in zip(REGIONS, hist[0])}
    assert shown == {"torso": False, "upper_arm": True, "forearm": False, "thigh": True, "shin": True}
    assert (hist[0, [1, 3, 4]] == onehot).all()
    # Nobody in the image or no pose: all zeros.
    off = pose() + [1000, 0, 0]
    assert not colour_histograms(frame, off).any() and colour_histograms(frame, np.zeros((0, 17, 3))).shape == (
        0, len(REGIONS), BINS)
    # Nothing shown, or shown absurdly far away: zeros, without a warning about the integer arithmetic.
    far = np.concatenate([pose() * [1, 1, 0] + [1e12, 1e12, 0], pose() + [1e12, -1e12, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not colour_histograms(frame, far).any()


def test_every_colour_lands_in_its_bin():
    # 640 people side by side, each on a tile of one colour (random, plus greys and the pure hues): the bin
    # arithmetic of colour_histograms (a hue table and shifts) against hsv_bin's plain formula.
    rng = np.random.default_rng(0)
    colours = np.concatenate([rng.integers(0, 256, (600, 3)), np.repeat(np.arange(0, 256, 32), 3).reshape(-1, 3),
                              np.eye(3, dtype=int).repeat(2, 0).reshape(-1, 3)[::2] * 255,
                              [[0, 255, 255], [255, 0, 255], [255, 255, 0]] * 9]).astype(np.uint8)[:640]
    small = pose() * [0.25, 0.25, 1]
    frame = np.zeros((32 * 60, 20 * 55, 3), np.uint8)
    poses = []
    for i, bgr in enumerate(colours):
        y, x = divmod(i, 20)
        frame[y * 60:(y + 1) * 60, x * 55:(x + 1) * 55] = bgr
        poses.append(small[0] + [x * 55 + 2, y * 60 + 2, 0])
    hist = colour_histograms(frame, np.stack(poses))
    assert [int(h.argmax()) for h in hist[:, 0]] == [hsv_bin(c) for c in colours]
    assert (hist.max(-1) == 1).all()  # every region of every tile: one colour, one bin


def test_regions_see_the_clothes_the_pose_locates():
    seq = make_sequence(seed=0, frames=1, people=1, noise=0, enter_leave=False)
    frame, gt = seq.frames[0], seq.gt.frames[0]
    palette = seq.scene.palette[0]
    hist = colour_histograms(frame, gt.keypoints, min_score=0.5)[0]
    assert hist[REGIONS.index("torso")].argmax() == hsv_bin(palette[SHIRT])
    # The near leg's trousers are the palette colour, the far leg's its shaded version: both in the shins.
    shin = hist[REGIONS.index("shin")]
    assert shin.argmax() in (hsv_bin(palette[TROUSERS]), hsv_bin(palette[TROUSERS + 6]))


def test_histogram_similarity_is_the_bhattacharyya_coefficient_over_shared_regions():
    a = np.zeros((1, len(REGIONS), BINS), np.float32)
    b = np.zeros((2, len(REGIONS), BINS), np.float32)
    a[0, 0, 3] = 1                      # torso all in bin 3
    a[0, 1, 5] = 1                      # upper arms all in bin 5
    b[0, 0, [3, 4]] = 0.5               # torso half in bin 3: coefficient sqrt(0.5)
    b[0, 1, 5] = 1                      # upper arms identical: coefficient 1
    b[0, 2, 7] = 1                      # forearms: a does not show them, not counted
    b[1, 3, 1] = 1                      # only thighs: nothing shared with a
    sim = histogram_similarity(a, b)
    assert sim.shape == (1, 2)
    assert sim[0, 0] == pytest.approx((np.sqrt(0.5) + 1) / 2) and np.isnan(sim[0, 1])
    assert histogram_similarity(b, b)[0, 0] == pytest.approx(1.0)


def test_feature_similarity_is_cosine():
    a = np.array([[1.0, 0.0], [3.0, 4.0]])
    b = np.array([[2.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(feature_similarity(a, b), [[1.0, 0.0], [0.6, 0.8]], atol=1e-7)


def test_blend_keeps_regions_only_one_side_shows():
    old = np.zeros((len(REGIONS), BINS), np.float32)
    new = np.zeros((len(REGIONS), BINS), np.float32)
    old[0, 1], new[0, 2] = 1, 1         # torso in both
    old[1, 4] = 1                       # upper arms only in the average
    new[2, 6] = 1                       # forearms only in the new one
    mixed = blend(old, new, 0.25)
    assert mixed[0, 1] == 0.75 and mixed[0, 2] == 0.25
    assert (mixed[1] == old[1]).all() and (mixed[2] == new[2]).all() and not mixed[3:].any()
    np.testing.assert_allclose(blend(np.array([1.0, 2.0]), np.array([3.0, 6.0]), 0.5), [2.0, 4.0])


def test_a_person_is_told_from_the_others_after_an_occlusion():
    seq = make_sequence(seed=2, frames=250, people=8, width=480, height=270, scenario="occlusion", noise=0)
    scored = [j for j in range(17) if j not in (3, 4)]

    def descriptor(t, p):
        f = seq.truth.frames[t]
        k = f.keypoints[list(f.track_ids).index(p)][None].copy()
        k[k[..., 2] <= 0] = 0
        return colour_histograms(seq.frames[t], k, min_score=0.5)[0]

    for p, role in enumerate(seq.scene.roles):
        if role not in ("pause", "turn"):
            continue
        start, end = np.round(seq.scene.hidden[p] * seq.scene.fps).astype(int)
        listed = lambda t, q: q in seq.truth.frames[t].track_ids and (  # noqa: E731
            seq.truth.frames[t].keypoints[list(seq.truth.frames[t].track_ids).index(q), scored, 2] > 0).sum() >= 8
        before = next(t for t in range(start, 0, -1) if listed(t, p))
        after = next(t for t in range(end, 250) if listed(t, p))
        others = [descriptor(after, q) for q in range(8) if q != p and listed(after, q)]
        sims = histogram_similarity(descriptor(before, p)[None], np.stack([descriptor(after, p)] + others))[0]
        assert len(others) >= 2 and sims.argmax() == 0, (p, role, sims)
