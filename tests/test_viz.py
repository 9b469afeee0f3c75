import numpy as np

from posetrack.layouts import COCO17
from posetrack.viz import Trails, draw_poses, track_color, track_colors


def _person(cx: float, cy: float, score: float = 0.9) -> np.ndarray:
    """A COCO-17 pose: joints spread on a 5 x 4 grid around (cx, cy), 12 px apart."""
    grid = np.stack(np.meshgrid(np.arange(4) * 12 - 18, np.arange(5) * 12 - 24), -1).reshape(-1, 2)[:17]
    return np.concatenate([grid + [cx, cy], np.full((17, 1), score)], 1).astype(np.float32)


def _color_at(image, xy) -> tuple:
    return tuple(int(c) for c in image[int(xy[1]), int(xy[0])])


def test_joints_take_their_track_colour_and_frame_is_not_modified():
    frame = np.zeros((240, 320, 3), np.uint8)
    kpts = np.stack([_person(80, 120), _person(230, 120)])
    out = draw_poses(frame, kpts, [3, 11], layout=COCO17, draw_boxes=False, draw_ids=False)
    assert frame.max() == 0 and out is not frame
    for person, tid in zip(kpts, [3, 11]):
        for joint in person[[0, 8, 16]]:
            assert _color_at(out, joint) == track_color(tid)
    assert track_color(3) != track_color(11)


def test_same_id_same_colour_across_frames_and_calls():
    a = draw_poses(np.zeros((200, 200, 3), np.uint8), _person(60, 100)[None], [7], draw_ids=False)
    b = draw_poses(np.zeros((200, 200, 3), np.uint8), np.stack([_person(150, 100), _person(60, 100)]), [2, 7],
                   draw_ids=False)
    joint = _person(60, 100)[5]
    assert _color_at(a, joint) == _color_at(b, joint) == track_color(7)
    np.testing.assert_array_equal(track_colors([7, 7, 2]), [track_color(7), track_color(7), track_color(2)])


def test_palette_separates_nearby_ids_and_greys_untracked():
    colors = track_colors(np.arange(20)).astype(int)
    distance = np.abs(colors[:, None] - colors[None]).sum(-1)
    assert distance[np.triu_indices(20, 1)].min() > 40  # no two of the first 20 ids look alike
    assert track_color(-1) == (200, 200, 200)


def test_low_score_joints_are_not_drawn_and_inplace_draws_on_the_frame():
    frame = np.zeros((200, 200, 3), np.uint8)
    kpts = _person(100, 100)
    kpts[:, 2] = 0.3
    kpts[4, 2] = 0.9
    out = draw_poses(frame, kpts[None], [1], kpt_threshold=0.4, draw_ids=False, inplace=True)
    assert out is frame
    assert _color_at(frame, kpts[4]) == track_color(1)
    assert _color_at(frame, kpts[9]) == (0, 0, 0)


def test_boxes_and_labels_are_drawn_in_the_track_colour():
    frame = np.zeros((200, 200, 3), np.uint8)
    box = np.array([[40, 50, 160, 180]], np.float32)
    out = draw_poses(frame, _person(100, 110)[None], [5], boxes=box, draw_ids=True)
    assert _color_at(out, (100, 180)) == track_color(5)  # bottom edge of the box
    tag = out[30:50, 40:60].reshape(-1, 3)  # the id tag sits on the box's top-left corner
    assert (tag == track_color(5)).all(1).sum() > 50
    plain = draw_poses(frame, _person(100, 110)[None], [5], boxes=box, draw_boxes=False, draw_ids=False)
    assert _color_at(plain, (100, 180)) == (0, 0, 0)


def test_trails_follow_a_track_and_forget_old_ids():
    trails = Trails(length=4, max_age=2)
    frame = np.zeros((200, 300, 3), np.uint8)
    for step in range(6):
        out = draw_poses(frame, _person(60 + 30 * step, 100)[None], [9], trails=trails, draw_ids=False)
    assert len(trails.path(9)) == 4  # bounded length
    assert _color_at(out, (60 + 30 * 3.5, 100)) == track_color(9)  # the path between two old centres
    assert _color_at(out, (60 + 30 * 1.5, 100)) == (0, 0, 0)  # older than the trail length
    for _ in range(3):
        trails.update([], np.zeros((0, 2)))
    assert len(trails) == 0 and len(trails.path(9)) == 0


def test_empty_frame_and_missing_ids():
    frame = np.full((50, 60, 3), 10, np.uint8)
    np.testing.assert_array_equal(draw_poses(frame, np.zeros((0, 17, 3)), []), frame)
    out = draw_poses(np.zeros((200, 200, 3), np.uint8), _person(100, 100)[None], None)
    assert _color_at(out, _person(100, 100)[0]) == (200, 200, 200)
