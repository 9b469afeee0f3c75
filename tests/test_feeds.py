"""What each frame brings to the tracker: ``detector.max_boxes`` (the guard against a detector gone wild) and
``detector.every`` (the detector on every N-th frame, joint propagation in between), through the real pipeline
with a detections file and a small pose network."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_pipeline import FRAMES, data, tiny_config  # noqa: F401 - data is a fixture

from posetrack.config import PipelineConfig, load_config
from posetrack.errors import PosetrackError
from posetrack.formats import posetrack18
from posetrack.pipeline import Pipeline, SequenceJob


def grid_detections(path, frames: int, seed: int = 0):
    """COCO results with 50 boxes per frame on a 10 x 5 grid (no two overlap), random distinct scores."""
    rng = np.random.default_rng(seed)
    entries, scores = [], []
    for i in range(frames):
        s = rng.permutation(50) / 100 + 0.5  # 0.50 ... 0.99, all above the 0.5 threshold
        scores.append(s)
        entries += [{"image_id": i, "category_id": 1, "bbox": [32 * (k % 10), 48 * (k // 10), 30, 46],
                     "score": float(s[k])} for k in range(50)]
    path.write_text(json.dumps(entries))
    return path, scores


def test_max_boxes_keeps_the_highest_scoring_boxes_of_a_file(data, tmp_path):
    name = data["names"][0]
    dets, scores = grid_detections(tmp_path / "dets.json", FRAMES)
    # Without propagation the pose network sees exactly the capped detector boxes (none overlap).
    config = tiny_config(data, **{"detector.file": str(dets), "detector.max_boxes": 7, "tracker.propagate": False,
                                  "tracker.det_threshold": 0.0, "tracker.pose_nms": 1.0, "video.write": False})
    result = Pipeline(config).run_sequence(SequenceJob(name, str(data["videos"] / f"{name}.mp4")), tmp_path / "o")

    assert result.times.counts == {"detected": FRAMES, "boxes": 7 * FRAMES}
    assert result.times.boxes_per_frame() == 7.0
    assert result.times.table().splitlines()[-1] == ("boxes          7.0   per frame to the pose network; "
                                                     "detector on 20 of 20 frames")
    seq = posetrack18.read_sequence(result.json_path)
    for frame, s in zip(seq.frames, scores):
        # the box each person was estimated in: its grid cell tells which detection it was
        cells = [int(x1 // 32) + 10 * int(y1 // 48) for x1, y1 in frame.boxes[:, :2] + 1]
        assert sorted(cells) == sorted(np.argsort(-s)[:7].tolist())


@pytest.mark.parametrize("override,message", [
    ("detector.max_boxes=0", "detector.max_boxes must be an integer >= 1, got 0"),
    ("detector.max_boxes=2.5", "detector.max_boxes must be an integer, got float 2.5"),
    ("detector.every=0", "detector.every must be an integer >= 1 (1: every frame), got 0"),
    ("detector.every=two", "detector.every must be an integer, got str 'two'"),
])
def test_bad_values_are_one_line(override, message):
    assert PipelineConfig().detector.max_boxes == 30 and PipelineConfig().detector.every == 1
    with pytest.raises(PosetrackError) as err:
        load_config(PipelineConfig, None, [override])
    assert str(err.value) == f"--set {override}: {message}"


def test_every_n_frames_the_detector_sees_frames_0_n_2n(data):
    """The real detections file behind ``detected_frames``: with every=3 only frames 0, 3, 6, ... get boxes (the
    file has boxes on every frame) and only those are counted as detected; with every=1 all of them."""
    from posetrack.detect import make_box_source
    from posetrack.pipeline import StageTimes
    from posetrack.pipeline.feeds import detected_frames
    from posetrack.pipeline.inputs import open_frames

    name = data["names"][0]
    for every in (1, 3):
        config = tiny_config(data, **{"detector.every": every})
        source = make_box_source(config.detector, sequence=name)
        opened = open_frames(SequenceJob(name, str(data["videos"] / f"{name}.mp4")), 25.0, 0)
        times = StageTimes()
        try:
            items = list(detected_frames(opened.source, source, times, detector=config.detector))
        finally:
            opened.close()
        assert [w.frame.index for w in items] == list(range(FRAMES))
        assert [len(w.boxes) > 0 for w in items] == [i % every == 0 for i in range(FRAMES)]
        assert times.counts["detected"] == len(range(0, FRAMES, every))


def test_every_3_with_the_demo_models_tracks_people_between_detections(tmp_path):
    """Demo detector and pose network on a demo clip: the detector runs on frames 0, 3, 6, 9 only, and the people
    of frame 0 keep their ids on frames 1 and 2 (found on propagated boxes, §3.1)."""
    from posetrack.demo.runner import SPLIT, demo_config
    from posetrack.demo.world import write_clips

    gt = write_clips(tmp_path / "data", SPLIT, 5, 1, 10, 4)[0]
    people = {}
    for every in (1, 3):
        config = demo_config("cpu", False, [f"detector.every={every}"])
        result = Pipeline(config).run_sequence(SequenceJob(gt.stem, str(tmp_path / "data"), str(gt)),
                                               tmp_path / f"every{every}")
        assert result.times.counts["detected"] == len(range(0, 10, every))
        frames = posetrack18.read_sequence(result.json_path).frames
        people[every] = [sorted(f.track_ids.tolist()) for f in frames]
    assert len(people[1][0]) >= 3 and people[3][0] == people[1][0]  # frame 0 is detected either way
    assert people[3][1] == people[3][0] and people[3][2] == people[3][0]
    assert all(people[3])  # nobody is lost between detections
