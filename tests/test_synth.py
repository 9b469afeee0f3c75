import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from posetrack.cli import main
from posetrack.errors import PosetrackError
from posetrack.formats import coco, posetrack18
from posetrack.formats.common import parse_file_name
from posetrack.synth import make_sequence, noisy_observations
from posetrack.synth import skeleton
from posetrack.synth.render import Backdrop, draw_people
from posetrack.synth import file_ground_truth
from posetrack.synth.writer import write_dataset

PT18_SCORED = [j for j in range(17) if j not in (3, 4)]  # the 15 joints PoseTrack annotates


@pytest.fixture(scope="module")
def crowd():
    return make_sequence(seed=0, frames=24, people=6, noise=0, labels=True, pan=1.5)


@pytest.fixture(scope="module")
def crossing():
    return make_sequence(seed=1, frames=41, people=2, scenario="crossing", labels=True)


def _pixel(points, w, h):
    xy = np.round(points).astype(int)
    inside = (xy[..., 0] >= 0) & (xy[..., 1] >= 0) & (xy[..., 0] < w) & (xy[..., 1] < h)
    return np.clip(xy[..., 0], 0, w - 1), np.clip(xy[..., 1], 0, h - 1), inside


def test_every_joint_lies_on_its_own_drawn_body(crowd):
    scene = crowd.scene
    joints = PT18_SCORED + [skeleton.P["left_eye"], skeleton.P["right_eye"]]
    checked = 0
    for t in range(scene.num_frames):
        for p in range(scene.num_people):
            alone = np.zeros((scene.height, scene.width), np.uint8)
            draw_people(None, alone, scene, t, people=[p])
            x, y, inside = _pixel(scene.points[t, p, joints], scene.width, scene.height)
            assert (alone[y, x] == p + 1)[inside].all(), (t, p)
            checked += inside.sum()
    assert checked > 500


def test_visible_joints_show_their_person_in_the_image(crowd):
    scene = crowd.scene
    for t in range(scene.num_frames):
        x, y, inside = _pixel(scene.points[t], scene.width, scene.height)
        owner = crowd.labels[t][y, x]
        seen = crowd.visible[t]
        # Visible means: in the image and the pixel belongs to that person (nobody nearer drawn over it).
        assert not (seen & ~inside).any()
        assert (owner[seen] == np.nonzero(seen)[0] + 1).all()
        # With noise 0 the image pixel under a visible joint is exactly one of that person's colours.
        colours = crowd.frames[t][y, x]
        for p, j in zip(*np.nonzero(seen)):
            assert (scene.palette[p] == colours[p, j]).all(-1).any(), (t, p, j)


def test_crossing_hides_the_farther_person(crossing):
    scene, mid = crossing.scene, 20
    assert scene.depth[mid, 0] < scene.depth[mid, 1]
    x, y, inside = _pixel(scene.points[mid, 1, PT18_SCORED], scene.width, scene.height)
    hidden = inside & ~crossing.visible[mid, 1, PT18_SCORED]
    assert hidden.sum() >= 8
    assert (crossing.labels[mid][y, x][hidden] == 1).all()  # covered by person 0
    # The nearer person is seen whole while passing in front.
    _, _, near_inside = _pixel(scene.points[mid, 0, PT18_SCORED], scene.width, scene.height)
    assert crossing.visible[mid, 0, PT18_SCORED][near_inside].all()
    # Ground truth: hidden joints keep their position with score 0; before the crossing both are fully seen.
    frame = crossing.gt.frames[mid]
    far = frame.keypoints[list(frame.track_ids).index(1)] if 1 in frame.track_ids else None
    if far is not None:
        assert (far[PT18_SCORED, 2] == 0).sum() >= 8
    first = crossing.gt.frames[0]
    assert sorted(first.track_ids.tolist()) == [0, 1]
    assert (first.keypoints[:, PT18_SCORED, 2] == 1).all()


def test_track_ids_follow_the_same_person():
    seq = make_sequence(seed=4, frames=40, people=5, pan=2.0, zoom=1.3)
    for a, b in zip(seq.gt.frames[:-1], seq.gt.frames[1:]):
        common, ia, ib = np.intersect1d(a.track_ids, b.track_ids, return_indices=True)
        ka, kb = a.keypoints[ia][:, PT18_SCORED, :2], b.keypoints[ib][:, PT18_SCORED, :2]
        # Matching whole poses frame to frame recovers the ids (joints move a few pixels per frame).
        cost = np.linalg.norm(ka[:, None] - kb[None], axis=-1).mean(-1)
        rows, cols = linear_sum_assignment(cost)
        assert (rows == cols).all()
        heights = a.boxes[ia, 3] - a.boxes[ia, 1]
        assert (np.diag(cost) < 0.15 * np.maximum(heights, 40)).all()
    sizes = seq.scene.size
    assert np.median(sizes[-1] / sizes[0]) > 1.1  # the zoom makes everyone bigger


def test_people_enter_and_leave_and_the_camera_pans():
    seq = make_sequence(seed=2, frames=150, people=6, pan=3.0, lazy=True)
    present = np.zeros((150, 6), bool)
    for t, f in enumerate(seq.truth.frames):
        present[t, f.track_ids] = True
    assert (present.any(0) & ~present.all(0)).any()  # someone is missing for part of the sequence
    backdrop = Backdrop(np.random.default_rng(0), seq.scene)
    a, b = backdrop.view(10), backdrop.view(11)
    assert np.array_equal(a[:, 3:], b[:, :-3])  # the backdrop moved 3 px left


def test_lazy_frames_match_eager_frames():
    eager = make_sequence(seed=5, frames=6, people=3, zoom=1.2)
    lazy = make_sequence(seed=5, frames=6, people=3, zoom=1.2, lazy=True)
    assert all(np.array_equal(a, b) for a, b in zip(eager.frames, lazy.frames))
    assert np.array_equal(eager.visible, lazy.visible)


def test_noisy_observations_stand_in_for_a_detector():
    seq = make_sequence(seed=3, frames=60, people=4, enter_leave=False, lazy=True)
    obs, sources = noisy_observations(seq.gt, seed=1, jitter_px=2.0, miss_rate=0.0, false_positives=0.5,
                                      force_miss={2: [10, 11, 12]}, return_sources=True)
    for t, (f, o, src) in enumerate(zip(seq.gt.frames, obs.frames, sources)):
        assert (o.track_ids == -1).all() and np.all(np.diff(o.scores) <= 0)
        expected = set(f.track_ids.tolist()) - ({2} if t in (10, 11, 12) else set())
        assert set(src[src >= 0].tolist()) == expected
        for i in np.flatnonzero(src >= 0):
            truth = f.keypoints[list(f.track_ids).index(src[i])]
            seen = truth[:, 2] > 0
            assert np.abs(o.keypoints[i, seen, :2] - truth[seen, :2]).max() < 12  # 6 sigma of 2 px
            assert (o.keypoints[i, seen, 2] > 0.5).all()
    assert sum((s < 0).sum() for s in sources) > 10  # false positives, each flagged -1
    # Runs of misses: with miss_runs=4 a miss is usually followed by another.
    _, src = noisy_observations(seq.gt, seed=2, miss_rate=0.2, miss_runs=4, occluded_miss=0,
                                return_sources=True)
    missed = np.array([[i not in s for i in range(4)] for s in src]) & np.array(
        [[i in f.track_ids for i in range(4)] for f in seq.gt.frames])
    assert 0.08 < missed.mean() < 0.4
    assert (missed[1:] & missed[:-1]).sum() > 0.5 * missed[1:].sum()
    # Same seed, same observations.
    again = noisy_observations(seq.gt, seed=1, false_positives=0.5, force_miss={2: [10, 11, 12]})
    first = noisy_observations(seq.gt, seed=1, false_positives=0.5, force_miss={2: [10, 11, 12]})
    assert all(np.array_equal(a.keypoints, b.keypoints) for a, b in zip(again.frames, first.frames))


def _hashes(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    write_dataset(out, split="val", sequences=2, frames=24, people=5, seed=7, labeled_every=2)
    return out


def test_written_files_follow_the_posetrack_and_coco_layouts(dataset):
    names = ["000001_mpii_val", "000002_mpii_val"]
    assert sorted(p.stem for p in (dataset / "annotations" / "val").glob("*.json")) == names
    for i, name in enumerate(names):
        path = dataset / "annotations" / "val" / f"{name}.json"
        raw = json.loads(path.read_text())
        assert [im["file_name"] for im in raw["images"]] == [f"images/val/{name}/{t:06d}.jpg" for t in range(24)]
        assert all(parse_file_name(im["file_name"]) is not None for im in raw["images"])
        assert all((dataset / im["file_name"]).is_file() for im in raw["images"])
        labelled = {im["id"] for im in raw["images"] if im["is_labeled"]}
        assert len(labelled) == 12 and {a["image_id"] for a in raw["annotations"]} <= labelled
        for ann in raw["annotations"]:
            assert 0 <= ann["track_id"] < 10000 and len(ann["bbox_head"]) == 4
            kp = np.array(ann["keypoints"]).reshape(17, 3)
            assert (kp[3:5] == 0).all() and set(kp[:, 2].tolist()) <= {0.0, 1.0}
        # The reader gives back what make_sequence says (hidden joints as 0, 0, 0).
        read = posetrack18.read_sequence(path)
        expected = file_ground_truth(make_sequence(seed=[7, i], frames=24, people=5, labeled_every=2, name=name,
                                                   lazy=True).gt)
        for r, e in zip(read.frames, expected.frames):
            assert r.is_labeled == e.is_labeled and r.image_id == e.image_id
            assert np.array_equal(r.track_ids, e.track_ids)
            np.testing.assert_allclose(r.keypoints, e.keypoints, atol=1e-3)
            np.testing.assert_allclose(r.head_boxes, e.head_boxes, atol=1e-3)
        with av.open(str(dataset / "videos" / "val" / f"{name}.mp4")) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
            assert sum(1 for _ in container.decode(stream)) == 24

    coco_path = dataset / "annotations" / "person_keypoints_val.json"
    gt = coco.read_annotations(coco_path)
    assert len(gt.frames) == 24 and gt.layout == "coco17"
    raw = json.loads(coco_path.read_text())
    kp = np.array([a["keypoints"] for a in raw["annotations"]]).reshape(-1, 17, 3)
    assert [a["num_keypoints"] for a in raw["annotations"]] == (kp[..., 2] > 0).sum(-1).tolist()
    assert (kp[..., 2] == 1).any() and (kp[..., 2] == 2).any()  # occluded-but-labelled and visible joints
    assert raw["categories"][0]["keypoints"][1] == "left_eye"
    from pycocotools.coco import COCO
    assert len(COCO(str(coco_path)).getAnnIds()) == len(raw["annotations"])


def test_ground_truth_scores_100_against_itself(dataset, tmp_path):
    gt = str(dataset / "annotations" / "val")
    assert main(["eval", gt, gt, "--json", str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["ap"]["total"] == pytest.approx(100.0) and metrics["mota"]["total"] == pytest.approx(100.0)


def test_same_seed_same_bytes(tmp_path):
    def synth(folder, seed):
        assert main(["synth", str(tmp_path / folder), "--frames", "8", "--people", "3", "--seed", str(seed),
                     "--pan", "1", "--zoom", "1.1"]) == 0
        return _hashes(tmp_path / folder)

    a = synth("a", 11)
    assert len(a) == 8 + 3 and a == synth("b", 11)  # 8 frames, 2 JSON files, 1 video
    assert synth("c", 12) != a


def test_user_mistakes_give_one_line_errors(tmp_path, capsys):
    assert main(["synth", str(tmp_path), "--width", "641"]) == 2
    assert "even sides" in capsys.readouterr().err
    assert main(["synth", str(tmp_path), "--frames", "2", "--no-video"]) == 0
    assert main(["synth", str(tmp_path), "--frames", "2", "--no-video"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["synth", str(tmp_path), "--frames", "2", "--no-video", "--force"]) == 0
    with pytest.raises(PosetrackError, match="at least 2 people"):
        make_sequence(people=1, scenario="crossing")
