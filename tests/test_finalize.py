"""The final files of a run (``posetrack.pipeline.finalize``): every format from one partial file, each equal to
what its own writer makes of the run's PoseTrack 2018 result, and the ``post`` section applied to all of them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from posetrack.cli import main
from posetrack.formats import mot, posetrack18, posetrack21, read_sequence_any
from posetrack.pipeline import Pipeline, SequenceJob
from posetrack.results import PostConfig, postprocess, write_csv
from posetrack.results.stats import mean_acceleration
from test_pipeline import FRAMES, data, tiny_config, video_facts  # noqa: F401 - data is a fixture


def rounded(value):
    """JSON data with floats to 1e-4: a file read back as float32 differs from its text in the last digits."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return round(value, 4) if isinstance(value, float) else value


def run(data, folder, name, **sections):
    job = SequenceJob(name, str(data["videos"] / f"{name}.mp4"))
    return Pipeline(tiny_config(data, **sections)).run_sequence(job, folder)


def test_every_format_equals_its_writer_on_the_run_result(data, tmp_path):
    name = data["names"][0]
    run(data, tmp_path / "ref", name, **{"video.write": False})
    result = run(data, tmp_path / "all", name, **{"video.write": False,
                                                 "run.output_format": "posetrack21,csv,mot"})
    ours = posetrack18.read_sequence(tmp_path / "ref" / f"{name}.json")
    files = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert files == [f"{name}.csv", f"{name}.json", f"{name}.txt"] and result.json_path.suffix == ".json"
    # PoseTrack21: the 2018 result with the keys the kit needs, the same people.
    written = json.loads((tmp_path / "all" / f"{name}.json").read_text())
    assert rounded(written) == rounded(posetrack21.to_dict(ours))
    # CSV: what `posetrack export` writes for the 2018 result (the source video's 25 fps).
    write_csv(tmp_path / "export.csv", ours, 25)
    assert (tmp_path / "all" / f"{name}.csv").read_bytes() == (tmp_path / "export.csv").read_bytes()
    # MOT text: the boxes and ids of the result, frames 1-based.
    assert (tmp_path / "all" / f"{name}.txt").read_text() == mot.format_rows(mot.mot_rows(ours))


def test_smooth_none_is_the_default_and_savgol_is_the_offline_postprocess(data, tmp_path):
    name = data["names"][1]
    run(data, tmp_path / "default", name)
    run(data, tmp_path / "none", name, **{"post.smooth": "none"})
    for suffix in (".json",):
        assert (tmp_path / "none" / f"{name}{suffix}").read_bytes() == \
               (tmp_path / "default" / f"{name}{suffix}").read_bytes()
    raw = posetrack18.read_sequence(tmp_path / "default" / f"{name}.json")
    run(data, tmp_path / "savgol", name, **{"post.smooth": "savgol", "post.fill_gaps": 2})
    smoothed = posetrack18.read_sequence(tmp_path / "savgol" / f"{name}.json")
    # The written file is the post-processing of the raw result, and the overlay (drawn at the end) is complete.
    expected = postprocess(raw, PostConfig(smooth="savgol", fill_gaps=2), 25.0)
    for a, b in zip(smoothed.frames, expected.frames, strict=True):
        np.testing.assert_array_equal(a.track_ids, b.track_ids)
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)
    assert mean_acceleration(smoothed) < 0.5 * mean_acceleration(raw)
    assert video_facts(tmp_path / "savgol" / f"{name}.mp4")[-1] == FRAMES


def test_one_euro_streams_the_same_numbers_as_the_whole_sequence_filter(data, tmp_path):
    name = data["names"][2]
    run(data, tmp_path / "raw", name, **{"video.write": False})
    run(data, tmp_path / "euro", name, **{"video.write": False, "post.smooth": "one-euro"})
    raw = posetrack18.read_sequence(tmp_path / "raw" / f"{name}.json")
    got = posetrack18.read_sequence(tmp_path / "euro" / f"{name}.json")
    expected = postprocess(raw, PostConfig(smooth="one-euro"), 25.0)
    for a, b in zip(got.frames, expected.frames, strict=True):
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)


@pytest.mark.parametrize("args, message", [
    (["--format", "2018,2017"], "at most one of posetrack18, posetrack17"),
    (["--format", "2018,xml"], "'xml' is not a format"),
    (["--smooth", "kalman"], "'kalman' is not one of"),
    (["--set", "post.fill_gaps=-1"], "post.fill_gaps must be an integer >= 0"),
])
def test_bad_output_settings_give_one_line(data, tmp_path, capsys, args, message):
    name = data["names"][0]
    code = main(["run", str(data["videos"] / f"{name}.mp4"), "-o", str(tmp_path), "--poses",
                 str(data["poses"] / f"{name}.json"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_track_writes_posetrack21(data, tmp_path):
    name = data["names"][0]
    video, poses = data["videos"] / f"{name}.mp4", data["poses"] / f"{name}.json"
    assert main(["track", str(video), "--poses", str(poses), "-o", str(tmp_path / "t.json"), "--format", "2021",
                 "-q"]) == 0
    assert main(["track", str(video), "--poses", str(poses), "-o", str(tmp_path / "t18.json"), "-q"]) == 0
    seq18 = posetrack18.read_sequence(tmp_path / "t18.json")
    assert rounded(json.loads((tmp_path / "t.json").read_text())) == rounded(posetrack21.to_dict(seq18))
    assert read_sequence_any(tmp_path / "t.json").frames[0].file_name == seq18.frames[0].file_name
