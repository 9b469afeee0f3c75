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
])
def test_bad_values_are_one_line(override, message):
    assert PipelineConfig().detector.max_boxes == 30
    with pytest.raises(PosetrackError) as err:
        load_config(PipelineConfig, None, [override])
    assert str(err.value) == f"--set {override}: {message}"
