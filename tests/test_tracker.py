"""FlowTracker on rendered scenes with known joints.

Two kinds of scenes: ``posetrack.synth`` sequences (articulated people, clutter, camera motion), and small scenes
built here (textured rectangles with joints) for the cases that need a precise geometry: a crossing where box
overlap alone prefers the wrong pairs, and a person entering where another just left.

The detector stand-in returns the people's true boxes (minus the misses a test asks for); the pose estimator
stand-in returns the true joints of the person best overlapping each box, with the official rescoring (box score
times the mean confident joint score), joints hidden behind a nearer person or off the frame scored low.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from posetrack.errors import PosetrackError
from posetrack.geometry import box_iou
from posetrack.synth import make_sequence, noisy_observations
from posetrack.track import TABLE5, FlowTracker, TrackerConfig

# Joint positions inside a person's rectangle (fractions of width, height): head, shoulders, arms, hips, legs.
_REL = np.array([[.5, .06], [.5, .16], [.5, .01], [.4, .05], [.6, .05], [.2, .22], [.8, .22], [.1, .38],
                 [.9, .38], [.08, .52], [.92, .52], [.3, .55], [.7, .55], [.3, .76], [.7, .76], [.3, .97],
                 [.7, .97]], np.float32)


@dataclass
class Person:
    x: float            # top-left at frame ``start``
    y: float
    vx: float           # pixels per frame
    w: int = 40
    h: int = 100
    z: int = 0          # drawing order: higher is nearer
    start: int = 0
    end: int = 10 ** 6  # exclusive


def _texture(rng, h, w):
    """Noise at several scales: coarse blobs let coarse-to-fine flow find large motions, fine grain pins it down."""
    img = sum(cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), s) * s ** 0.5
              for s in (1.5, 4, 10))
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


class Scene:
    """Frames and truth for ``people`` over ``frames`` frames; ``pan`` moves the camera right by px/frame."""

    def __init__(self, people, frames, width=320, height=240, pan=0, seed=0):
        rng = np.random.default_rng(seed)
        self.people, self.width, self.height = people, width, height
        backdrop = _texture(rng, height, width + abs(pan) * frames + 1)
        skins = [_texture(rng, p.h, p.w) for p in people]
        self.frames, self.truth = [], []
        for t in range(frames):
            off = pan * t if pan >= 0 else abs(pan) * (frames - t)
            img = backdrop[:, off:off + width].copy()
            here = [i for i, p in enumerate(people) if p.start <= t < p.end]
            corners = {i: (round(people[i].x + people[i].vx * (t - people[i].start)) - pan * t,
                           round(people[i].y)) for i in here}
            cover = np.full((height, width), -1)
            for i in sorted(here, key=lambda i: people[i].z):
                x, y = corners[i]
                p = people[i]
                x1, x2, y1, y2 = max(x, 0), min(x + p.w, width), max(y, 0), min(y + p.h, height)
                if x1 < x2 and y1 < y2:
                    img[y1:y2, x1:x2] = skins[i][y1 - y:y2 - y, x1 - x:x2 - x]
                    cover[y1:y2, x1:x2] = i
            ids, kpts, boxes = [], [], []
            for i in here:
                x, y = corners[i]
                p = people[i]
                xy = _REL * [p.w - 1, p.h - 1] + [x, y]
                inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
                seen = np.zeros(17, bool)
                seen[inside] = cover[xy[inside, 1].astype(int), xy[inside, 0].astype(int)] == i
                if not seen.any():
                    continue
                ids.append(i)
                kpts.append(np.concatenate([xy, np.where(seen, 0.9, 0.1)[:, None]], 1))
                boxes.append([max(x, 0), max(y, 0), min(x + p.w, width - 1), min(y + p.h, height - 1)])
            self.frames.append(img)
            self.truth.append((np.array(ids, int), np.array(kpts, np.float32).reshape(-1, 17, 3),
                               np.array(boxes, np.float32).reshape(-1, 4)))

    def detections(self, t, missed=()):
        ids, kpts, boxes = self.truth[t]
        keep = ~np.isin(ids, list(missed)) & ((kpts[..., 2] > 0.5).sum(1) >= 3)
        return boxes[keep], np.full(int(keep.sum()), 0.95, np.float32)

    def pose_fn(self, t):
        ids, kpts, boxes = self.truth[t]

        def estimate(frame, query, scores):
            out = np.zeros((len(query), 17, 3), np.float32)
            iou = box_iou(query, boxes)
            best = iou.argmax(1) if len(boxes) else np.zeros(len(query), int)
            hit = iou.max(1) >= 0.5 if len(boxes) else np.zeros(len(query), bool)
            out[hit] = kpts[best[hit]]
            out[~hit, :, :2] = ((query[~hit, :2] + query[~hit, 2:]) / 2)[:, None]
            out[~hit, :, 2] = 0.05
            conf = out[..., 2] > 0.2
            joint_mean = np.where(conf.any(1), (out[..., 2] * conf).sum(1) / np.maximum(conf.sum(1), 1), 0)
            return out, scores * joint_mean
        return estimate


def run(scene, config, missed=lambda t: ()):
    """Track the whole scene; for every frame, the output's id of every true person it found (-1: not found)."""
    tracker = FlowTracker(config, pose_fn=None)
    ids_per_frame, outputs = [], []
    for t, frame in enumerate(scene.frames):
        tracker.pose_fn = scene.pose_fn(t)
        out = tracker.update(frame, *scene.detections(t, missed(t)))
        assert len(set(out.track_ids.tolist())) == len(out)
        true_ids, _, true_boxes = scene.truth[t]
        found = {}
        if len(out) and len(true_ids):
            iou = box_iou(true_boxes, out.boxes)
            for j, person in enumerate(true_ids):
                if iou[j].max() >= 0.5:
                    found[int(person)] = int(out.track_ids[iou[j].argmax()])
        ids_per_frame.append(found)
        outputs.append(out)
    return ids_per_frame, outputs


def identity_switches(ids_per_frame):
    last, switches = {}, 0
    for found in ids_per_frame:
        for person, tid in found.items():
            switches += person in last and last[person] != tid
            last[person] = tid
    return switches


def crossing_scene():
    # A (near, drawn on top) walks right; B (farther: smaller and higher up) walks left behind A. Their boxes
    # swap places within one frame step, so box overlap alone prefers the wrong pairs.
    people = [Person(x=40, y=100, vx=10, z=1), Person(x=190, y=80, vx=-10, z=0)]
    return Scene(people, frames=14)


@pytest.mark.parametrize("similarity, keeps", [("bbox", False), ("flow", True), ("multiflow", True)])
def test_crossing_people_keep_their_ids_with_flow_similarity(similarity, keeps):
    # The paper's Algorithm 1 (no re-linking, no colours). Full-resolution flow: in a 320 x 240 frame the hidden
    # person's visible head is only ~20 px across.
    config = TrackerConfig(similarity=similarity, flow_scale=1.0, relink_seconds=0)
    ids, _ = run(crossing_scene(), config)
    assert sum(len(f) for f in ids) >= 20  # both people are tracked almost all the time
    assert (identity_switches(ids) == 0) == keeps


def test_colours_decide_a_contested_crossing():
    # Box overlap alone swaps the two (above); with re-linking on, the contested matches are weighed by the
    # people's colours and the ids hold. Switching the weighing off (ratio 1) brings the swap back.
    for ratio, switches in ((0.5, 0), (1.0, 2)):
        config = TrackerConfig(similarity="bbox", flow_scale=1.0, relink_contest_ratio=ratio)
        ids, _ = run(crossing_scene(), config)
        assert identity_switches(ids) == switches, ratio


class SynthPoseNetwork:
    """Pose network stand-in on a synthetic frame: the true joints of the person best overlapping each box
    (IoU >= 0.5), visible joints scored 0.9 and hidden ones 0.1, rescored like the official code. It remembers
    which person each box showed, so that the test can tell who an output pose is."""

    def __init__(self, truth):
        self.truth = truth
        self.boxes, self.people = np.zeros((0, 4), np.float32), np.zeros(0, int)

    def __call__(self, frame, boxes, scores):
        truth = self.truth
        out = np.zeros((len(boxes), 17, 3), np.float32)
        iou = box_iou(boxes, truth.boxes)
        hit = iou.max(1) >= 0.5 if iou.shape[1] else np.zeros(len(boxes), bool)
        best = iou.argmax(1) if iou.shape[1] else np.zeros(len(boxes), int)
        out[hit] = truth.keypoints[best[hit]]
        placed = (out[..., :2] != 0).any(-1)
        out[..., 2] = np.where(out[..., 2] > 0, 0.9, np.where(placed, 0.1, 0.0))
        self.boxes, self.people = boxes.copy(), np.where(hit, np.r_[truth.track_ids, -1][best], -1)
        conf = out[..., 2] > 0.2
        mean = np.where(conf.any(1), (out[..., 2] * conf).sum(1) / np.maximum(conf.sum(1), 1), 0)
        return out, scores * mean


def run_synth(seq, observations, config):
    """Track a synthetic sequence; per frame, the track id the output gave each true person it shows."""
    tracker = FlowTracker(config)
    ids_per_frame, outputs = [], []
    for image, truth, obs in zip(seq.frames, seq.truth.frames, observations.frames):
        tracker.pose_fn = net = SynthPoseNetwork(truth)
        out = tracker.update(image, obs.boxes, obs.scores)
        assert len(set(out.track_ids.tolist())) == len(out)
        same = box_iou(out.boxes, net.boxes) > 0.999  # output boxes are the boxes the network was given
        people = net.people[same.argmax(1)] if len(out) else np.zeros(0, int)
        ids_per_frame.append({int(p): int(t) for p, t in zip(people, out.track_ids) if p >= 0})
        outputs.append(out)
    return ids_per_frame, outputs


def _observations(seq, **options):
    return noisy_observations(seq.truth, 0, jitter_px=1.0, miss_rate=0.0, score_noise=0.02, occluded_miss=0.0,
                              **options)


@pytest.mark.parametrize("propagate", [True, False])
def test_a_missed_person_keeps_a_box_and_its_id_through_propagation(propagate):
    seq = make_sequence(1, frames=20, people=2, width=480, height=270, enter_leave=False)
    ids, outputs = run_synth(seq, _observations(seq, force_miss={0: range(10, 13)}),
                             TrackerConfig(propagate=propagate))
    before = ids[9][0]
    gap = [f.get(0) for f in ids[10:13]]
    if propagate:
        assert gap == [before] * 3
        assert all(out.from_flow.any() for out in outputs[10:13])
        assert identity_switches(ids) == 0
    else:
        assert gap == [None] * 3
        assert ids[13][0] == before  # the queue (L_Q frames) re-links the person after the gap


def test_a_camera_pan_does_not_break_ids():
    # The camera pans 20 backdrop pixels per frame: boxes of one person barely overlap from frame to frame, so
    # box IoU and unpropagated OKS lose everyone, while the flow-propagated poses land on the people.
    seq = make_sequence(2, frames=20, people=3, width=480, height=270, enter_leave=False, pan=20)
    observations = _observations(seq)
    flow_ids, _ = run_synth(seq, observations, TrackerConfig())
    bbox_ids, _ = run_synth(seq, observations, TrackerConfig.from_table5("a3"))
    assert sum(len(f) for f in flow_ids) >= 0.9 * sum(len(f) for f in seq.truth.frames)
    assert identity_switches(flow_ids) <= 1
    assert identity_switches(bbox_ids) >= 10


def test_a_busy_noisy_synthetic_scene_keeps_most_ids():
    # Five people walking in and out, a slow pan, missed detections and false positives: a smoke test of the
    # whole loop (ids unique per frame is checked on every frame by run_synth).
    seq = make_sequence(0, frames=60, people=5, width=480, height=270, enter_leave=True, pan=3)
    ids, _ = run_synth(seq, noisy_observations(seq.truth, 0, jitter_px=2.0, miss_rate=0.1, false_positives=0.5),
                       TrackerConfig())
    assert sum(len(f) for f in ids) >= 0.85 * sum(len(f) for f in seq.truth.frames)
    assert identity_switches(ids) <= 12  # an id that changes on every frame would give ~170


def test_a_person_entering_after_another_left_gets_a_new_id():
    people = [Person(x=230, y=70, vx=14, end=8), Person(x=-30, y=70, vx=10, start=9)]
    ids, outputs = run(Scene(people, frames=16), TrackerConfig())
    first = {f[0] for f in ids if 0 in f}
    second = {f[1] for f in ids if 1 in f}
    assert len(first) == 1 and len(second) == 1 and first != second
    every_id = [i for out in outputs for i in out.track_ids.tolist()]
    assert sorted(set(every_id)) == sorted(first | second)  # no phantom track outlived the person who left


def test_thresholds_at_the_output():
    scene = Scene([Person(x=60, y=60, vx=3), Person(x=200, y=60, vx=0)], frames=3)
    tracker = FlowTracker(TrackerConfig(), pose_fn=scene.pose_fn(0))
    boxes = scene.truth[0][2]
    out = tracker.update(scene.frames[0], boxes, np.array([0.95, 0.45], np.float32))
    assert len(out) == 1  # 0.45 x 0.9 is below the 0.5 detection threshold
    given = scene.truth[0][1].copy()
    given[0, :5, 2] = 0.3
    out = tracker.update_poses(scene.frames[1], given, np.array([0.9, 0.9]))
    assert len(out) == 2
    np.testing.assert_array_equal(out.keypoints[0, :5], 0)  # joints below 0.4 are zeroed in the output
    assert (out.keypoints[0, 5:, 2] == 0.9).all()


def test_update_poses_tracks_given_poses_without_a_pose_network():
    scene = crossing_scene()
    tracker = FlowTracker(TrackerConfig(flow_scale=1.0))
    with pytest.raises(PosetrackError, match="pose estimator"):
        tracker.update(scene.frames[0], np.zeros((0, 4)), np.zeros(0))
    seen = {}
    for t, frame in enumerate(scene.frames):
        true_ids, kpts, _ = scene.truth[t]
        out = tracker.update_poses(frame, kpts, np.full(len(kpts), 0.9))
        for person, tid in zip(true_ids, out.track_ids):
            seen.setdefault(int(person), set()).add(int(tid))
    assert seen == {0: {0}, 1: {1}}


def test_a_similarity_of_ones_own_plugs_in_and_sees_propagated_poses():
    scene = Scene([Person(x=40, y=60, vx=6), Person(x=200, y=60, vx=-6)], frames=6)
    seen_shift = []

    def centre_distance(candidates, keypoints, boxes):
        seen_shift.append(np.abs(candidates.moved[..., 0] - candidates.keypoints[..., 0]).max())
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        last = (candidates.boxes[:, :2] + candidates.boxes[:, 2:]) / 2
        return 1 / (1 + np.linalg.norm(last[:, None] - centres[None], axis=-1))

    tracker = FlowTracker(TrackerConfig(match_threshold=0.01), similarity=centre_distance)
    ids = [tracker.update_poses(frame, kpts, np.full(len(kpts), 0.9)).track_ids.tolist()
           for frame, (_, kpts, _) in zip(scene.frames, scene.truth)]
    assert ids == [[0, 1]] * 6
    assert min(seen_shift) > 4  # the flow moved the last poses by ~6 px before the similarity saw them


def test_table5_rows_and_config_errors():
    assert TABLE5["a1"] == dict(propagate=False, similarity="bbox", relink_seconds=0.0)
    assert TABLE5["b6"] == dict(propagate=True, similarity="multiflow", relink_seconds=0.0)
    assert TrackerConfig.from_table5("c4", queue_length=3).similarity == "pose"
    with pytest.raises(PosetrackError, match="Table 5"):
        TrackerConfig.from_table5("d1")
    with pytest.raises(PosetrackError, match="similarity"):
        TrackerConfig(similarity="iou")


@pytest.mark.parametrize("missing, same_id", [(2, True), (3, False)])
def test_a_track_is_matchable_for_queue_length_frames(missing, same_id):
    """L_Q = 3: a person missed for 2 frames still has an appearance in the queue and keeps the id; missed for 3,
    every appearance has left the queue (the tracker keeps L_Q frames, no more) and the person gets a new id."""
    scene = Scene([Person(x=30, y=60, vx=2)], frames=12)
    tracker = FlowTracker(TrackerConfig(queue_length=3, relink_seconds=0.0))
    gone = range(5, 5 + missing)
    ids = []
    for t, frame in enumerate(scene.frames):
        kpts = scene.truth[t][1][:0] if t in gone else scene.truth[t][1]
        ids.append(tracker.update_poses(frame, kpts, np.ones(len(kpts))).track_ids.tolist())
    before, after = ids[4], ids[5 + missing]
    assert before == [0] and (after == before) == same_id
    assert after == ([0] if same_id else [1])


def _write_folder(tmp_path, seq):
    folder = tmp_path / seq.name
    folder.mkdir()
    for t, image in enumerate(seq.frames):
        cv2.imwrite(str(folder / f"{t:06d}.png"), image)
    return folder


def test_track_command_gives_ids_to_given_poses(tmp_path, capsys):
    from posetrack.cli import main
    from posetrack.formats.posetrack18 import read_sequence, write_sequence

    seq = make_sequence(3, frames=12, people=3, width=320, height=180, enter_leave=False)
    poses, sources = noisy_observations(seq.truth, 0, jitter_px=1.0, miss_rate=0.0, false_positives=0.5,
                                        return_sources=True)
    write_sequence(tmp_path / "poses.json", poses)
    folder = _write_folder(tmp_path, seq)
    out = tmp_path / "tracked.json"
    assert main(["track", str(folder), "--poses", str(tmp_path / "poses.json"), "-o", str(out)]) == 0
    assert "12 frames" in capsys.readouterr().out
    tracked = read_sequence(out)
    assert [f.file_name for f in tracked.frames] == [f.file_name for f in poses.frames]
    owner = {}
    for given, got, src in zip(poses.frames, tracked.frames, sources):
        assert len(set(got.track_ids.tolist())) == len(got)
        # Which given person each output person is: the one whose confident joints are where its joints are.
        shown = got.keypoints[..., 2] > 0
        dist = np.abs(got.keypoints[:, None, :, :2] - given.keypoints[None, :, :, :2]).sum(-1)
        who = np.where(shown[:, None], dist, 0).sum(-1).argmin(1)
        assert (src[who] >= 0).all()  # false positives score < 0.5 and are dropped
        for person, tid in zip(src[who], got.track_ids):
            owner.setdefault(int(person), set()).add(int(tid))
    assert all(len(ids) == 1 for ids in owner.values()) and len(owner) == 3


def test_track_command_refuses_mismatched_frames_and_bad_settings(tmp_path, capsys):
    from posetrack.cli import main
    from posetrack.formats.posetrack18 import write_sequence

    seq = make_sequence(0, frames=4, people=1, width=160, height=120)
    write_sequence(tmp_path / "poses.json", seq.truth)
    folder = _write_folder(tmp_path, seq)
    (folder / "000003.png").unlink()
    out = tmp_path / "out.json"
    assert main(["track", str(folder), "--poses", str(tmp_path / "poses.json"), "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "3 frames" in err and "4 images" in err and err.count("\n") == 1
    assert not out.exists()
    assert main(["track", str(folder), "--poses", str(tmp_path / "poses.json"), "-o", str(out),
                 "--set", "tracker.queue_length=many"]) != 0
    assert "tracker.queue_length must be an integer, got str 'many'" in capsys.readouterr().err
    assert main(["track", str(folder), "--poses", str(tmp_path / "poses.json"), "-o", str(out),
                 "--set", "queue_lenght=3"]) == 2
    assert "did you mean tracker.queue_length?" in capsys.readouterr().err
    assert not out.exists()


def test_track_command_reads_the_old_set_form_with_a_deprecation_line(tmp_path, capsys):
    from posetrack.cli import main
    from posetrack.formats.posetrack18 import read_sequence, write_sequence

    seq = make_sequence(0, frames=4, people=1, width=160, height=120)
    write_sequence(tmp_path / "poses.json", seq.truth)
    folder = _write_folder(tmp_path, seq)
    runs = {}
    for form in ("queue_length=1", "tracker.queue_length=1"):
        out = tmp_path / f"{form}.json"
        assert main(["track", str(folder), "--poses", str(tmp_path / "poses.json"), "-o", str(out),
                     "--set", form]) == 0
        runs[form] = (out.read_bytes(), capsys.readouterr().err)
    assert runs["queue_length=1"][0] == runs["tracker.queue_length=1"][0]
    assert runs["queue_length=1"][1] == ("posetrack: warning: --set queue_length=1 is deprecated; write --set "
                                         "tracker.queue_length=1\n")
    assert runs["tracker.queue_length=1"][1] == ""
    assert len(read_sequence(tmp_path / "queue_length=1.json").frames) == 4


def test_one_person_found_in_two_boxes_is_kept_once():
    # A full-body box and an upper-body box of the same person overlap by IoU < 0.5, so box NMS keeps both and
    # the network finds the same person twice (as with a propagated box of the upper body); the pose-level
    # duplicate check keeps one. A second, distinct person is untouched.
    pose = np.zeros((17, 3), np.float32)
    pose[:, 0] = np.linspace(100, 140, 17)
    pose[:, 1] = np.linspace(50, 250, 17)
    pose[:, 2] = 0.9
    other = pose.copy()
    other[:, 0] += 200

    def pose_fn(frame, boxes, scores):
        centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
        kpts = np.stack([pose if x < 200 else other for x in centre_x])
        return kpts, scores * 0.9

    boxes = np.array([[90, 40, 150, 260], [95, 40, 145, 120], [290, 40, 350, 260]], np.float32)
    frame = np.zeros((300, 400, 3), np.uint8)
    for threshold, people in ((0.5, 2), (1.0, 3)):
        tracker = FlowTracker(TrackerConfig(pose_nms=threshold), pose_fn=pose_fn)
        out = tracker.update(frame, boxes, np.array([0.9, 0.8, 0.9], np.float32))
        assert len(out) == people
        assert len(set(out.track_ids.tolist())) == people
