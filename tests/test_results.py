"""posetrack.results: gap filling, smoothing (One-Euro, Savitzky-Golay), their config, and the CSV export."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from scipy.signal import savgol_filter

import results_data
from posetrack.cli import main
from posetrack.config import load_config
from posetrack.errors import PosetrackError
from posetrack.eval import evaluate
from posetrack.formats import posetrack17, posetrack18, read_sequence_any
from posetrack.layouts import POSETRACK18
from posetrack.results import OneEuroSmoother, PostConfig, fill_gaps, postprocess, savgol, write_csv
from posetrack.results.stats import mean_acceleration
from posetrack.types import Frame, Sequence


def _seq(people_per_frame: list[list[tuple[int, np.ndarray]]]) -> Sequence:
    """A sequence from ``[[(track id, (17, 3) keypoints), ...] per frame]``."""
    frames = []
    for t, people in enumerate(people_per_frame):
        n = len(people)
        kpts = np.array([k for _, k in people], np.float32).reshape(n, 17, 3)
        frames.append(Frame(file_name=f"images/val/000001_mpii_val/{t:06d}.jpg", image_id=10001000000 + t,
                            keypoints=kpts, boxes=np.tile([0, 0, 10, 10], (n, 1)).astype(np.float32),
                            scores=np.full(n, 0.9, np.float32), track_ids=np.array([i for i, _ in people]),
                            head_boxes=np.full((n, 4), np.nan, np.float32)))
    return Sequence("000001_mpii_val", frames)


def _pose(x: float, y: float, score: float = 0.8) -> np.ndarray:
    k = np.zeros((17, 3), np.float32)
    k[:, 0], k[:, 1], k[:, 2] = x + np.arange(17), y, score
    return k


def test_fill_gaps_interpolates_a_missing_person_and_a_missing_joint_and_marks_them(tmp_path):
    dropped = _pose(30, 60)
    dropped[5] = 0  # joint 5 not seen in frame 3 either: a gap of 2 frames for it, 1 for the others
    seq = _seq([[(7, _pose(10, 20))], [(7, _pose(20, 40, 0.6))], [], [(7, dropped)], [(7, _pose(40, 80))]])
    filled = fill_gaps(seq, 1)
    person = filled.frames[2]
    assert person.track_ids.tolist() == [7]
    others = np.arange(17) != 5
    np.testing.assert_allclose(person.keypoints[0, others, :2], _pose(25, 50)[others, :2])
    np.testing.assert_allclose(person.keypoints[0, others, 2], 0.6)  # the lower score of the two ends
    assert person.keypoints[0, 5].tolist() == [0, 0, 0]
    assert person.interpolated.tolist() == [others.tolist()]
    assert filled.frames[3].interpolated.size == 0 and filled.frames[3].keypoints[0, 5].tolist() == [0, 0, 0]
    assert filled.frames[1].interpolated.size == 0
    assert fill_gaps(seq, 0) is seq

    filled = fill_gaps(seq, 2)  # joint 5 now too: a third and two thirds of the way from frame 1 to frame 4
    np.testing.assert_allclose(filled.frames[2].keypoints[0, 5, :2], [25 + 20 / 3, 40 + 40 / 3], rtol=1e-6)
    np.testing.assert_allclose(filled.frames[3].keypoints[0, 5], [25 + 40 / 3, 40 + 80 / 3, 0.6], rtol=1e-6)
    assert filled.frames[3].interpolated[0].tolist() == [j == 5 for j in range(17)]
    assert filled.frames[2].interpolated.tolist() == [[True] * 17]
    for module in (posetrack18, posetrack17):
        path = tmp_path / f"{module.__name__}.json"
        module.write_sequence(path, filled)
        back = read_sequence_any(path)
        # PoseTrack 2017 has no slots for the ears (3, 4): their marks do not survive.
        keep = np.arange(17) if module is posetrack18 else np.array([j for j in range(17) if j not in (3, 4)])
        assert [f.interpolated[:, keep].tolist() if f.interpolated.size else [] for f in back.frames] == \
            [f.interpolated[:, keep].tolist() if f.interpolated.size else [] for f in filled.frames]


def test_interpolated_marks_are_written_only_where_a_joint_was_filled(tmp_path):
    seq = _seq([[(1, _pose(10, 20))], [], [(1, _pose(30, 40))]])
    posetrack18.write_sequence(tmp_path / "plain.json", seq)
    assert "interpolated" not in (tmp_path / "plain.json").read_text()
    posetrack18.write_sequence(tmp_path / "filled.json", fill_gaps(seq, 1))
    anns = json.loads((tmp_path / "filled.json").read_text())["annotations"]
    assert [a.get("interpolated") for a in anns] == [None, [1] * 17, None]


def test_savgol_smooths_each_run_of_a_track_on_its_own():
    rng = np.random.default_rng(0)
    xs = rng.normal(0, 3, (23, 2))
    frames = [[(4, _pose(100 + x, 50 + y))] for x, y in xs]
    frames[11] = []  # a gap: frames 0-10 and 12-22 are two runs
    seq = _seq(frames)
    out = savgol(seq, PostConfig(smooth="savgol", savgol_window=9, savgol_order=2))
    for run in (range(0, 11), range(12, 23)):
        want = savgol_filter(np.array([seq.frames[t].keypoints[0, 0, :2] for t in run], np.float64), 9, 2,
                             axis=0, mode="interp")
        got = np.array([out.frames[t].keypoints[0, 0, :2] for t in run])
        np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_array_equal(out.frames[3].keypoints[0, :, 2], seq.frames[3].keypoints[0, :, 2])


def _one_euro_reference(points: list, fps: float, min_cutoff: float, beta: float, d_cutoff: float) -> list:
    """The One-Euro filter of Casiez et al. written out for one 2D point (None: not seen, the filter restarts)."""
    def alpha(cutoff):
        tau = 1 / (2 * math.pi * cutoff)
        return 1 / (1 + tau * fps)
    out, prev = [], None
    for p in points:
        if p is None:
            prev = None
            out.append(None)
            continue
        p = np.asarray(p, np.float64)
        if prev is None:
            x_hat, dx_hat = p, np.zeros(2)
        else:
            dx = (p - prev[0]) * fps
            dx_hat = alpha(d_cutoff) * dx + (1 - alpha(d_cutoff)) * prev[1]
            a = alpha(min_cutoff + beta * np.linalg.norm(dx_hat))
            x_hat = a * p + (1 - a) * prev[0]
        prev = (x_hat, dx_hat)
        out.append(x_hat)
    return out


def test_one_euro_equals_the_textbook_filter_and_restarts_after_a_gap():
    config = PostConfig(smooth="one-euro", one_euro_min_cutoff=1.5, one_euro_beta=0.05, one_euro_d_cutoff=1.0)
    rng = np.random.default_rng(1)
    points = [(10 + 4 * t + rng.normal(0, 2), 20 + rng.normal(0, 2)) for t in range(12)]
    points[6] = None
    smoother = OneEuroSmoother(config, fps=30)
    want = _one_euro_reference([None if p is None else _pose(*p)[0, :2] for p in points], 30, 1.5, 0.05, 1.0)
    for p, w in zip(points, want):
        if p is None:
            assert len(smoother([], np.zeros((0, 17, 3)))) == 0
            continue
        got = smoother([3], _pose(p[0], p[1])[None])
        np.testing.assert_allclose(got[0, 0, :2], w, rtol=1e-9)
    np.testing.assert_allclose(want[7], points[7], rtol=1e-6)  # the first frame after the gap is taken as it is


def test_smoothing_noisy_poses_lowers_jitter_by_half_without_lowering_map(tmp_path):
    run = results_data.make_run(tmp_path, frames=40, people=3)
    tracked, truth = run["tracked"], run["truth"]
    smoothed = postprocess(tracked, PostConfig(smooth="savgol"), fps=25)
    assert mean_acceleration(smoothed) <= 0.5 * mean_acceleration(tracked)
    before = evaluate([truth], [tracked])["ap"]["total"]
    assert evaluate([truth], [smoothed])["ap"]["total"] >= before


def test_postprocess_is_off_by_default_and_config_values_are_checked():
    seq = _seq([[(1, _pose(10, 20))]])
    assert postprocess(seq, PostConfig(), fps=25) is seq
    with pytest.raises(PosetrackError, match=r"smooth must be one of none, one-euro, savgol, got 'kalman'"):
        load_config(PostConfig, None, ["smooth=kalman"])
    with pytest.raises(PosetrackError, match=r"post.fill_gaps must be an integer >= 0, got -2"):
        load_config(PostConfig, None, ["fill_gaps=-2"])
    with pytest.raises(PosetrackError, match=r"post.savgol_window must be an odd integer >= 3, got 8"):
        load_config(PostConfig, None, ["savgol_window=8"])


def _json_joints(path) -> list[tuple[int, int, str]]:
    """(frame, track id, joint name) of every joint a PoseTrack 2018 file holds, read without posetrack."""
    data = json.loads(path.read_text())
    frame_of = {image["id"]: i for i, image in enumerate(data["images"])}
    names = data["categories"][0]["keypoints"]
    out = []
    for ann in data["annotations"]:
        k = ann["keypoints"]
        for j, name in enumerate(names):
            if (k[3 * j], k[3 * j + 1], k[3 * j + 2]) != (0, 0, 0):
                out.append((frame_of[ann["image_id"]], ann["track_id"], name))
    return out


def test_export_has_one_row_per_frame_track_and_joint_and_contiguous_ids(tmp_path):
    run = results_data.make_run(tmp_path)
    out = tmp_path / "run.csv"
    assert main(["export", str(run["run"]), "--csv", str(out), "--fps", "10"]) == 0
    rows = list(csv.DictReader(out.open()))
    want = _json_joints(run["run"])
    assert sorted((int(r["frame"]), int(r["original_track_id"]), r["joint"]) for r in rows) == sorted(want)
    assert len(rows) == len(want)
    first_seen = list(dict.fromkeys(t for _, t, _ in sorted(want, key=lambda w: w[0])))
    assert {int(r["original_track_id"]): int(r["track_id"]) for r in rows} == \
        {t: i for i, t in enumerate(first_seen)}
    assert all(float(r["time_s"]) == pytest.approx(int(r["frame"]) / 10, abs=1e-6) for r in rows)
    assert {r["interpolated"] for r in rows} == {"0"}
    assert set(rows[0]) == {"frame", "time_s", "track_id", "original_track_id", "joint", "x", "y", "score",
                            "interpolated"}
    assert {r["joint"] for r in rows} <= set(POSETRACK18.joints)


def test_export_of_the_json_equals_the_csv_of_the_run_in_memory(tmp_path, capsys):
    run = results_data.make_run(tmp_path)
    write_csv(tmp_path / "in_memory.csv", run["tracked"], 25)
    # The run's overlay beside the JSON gives the frame rate (25 fps); without it the time column stays empty.
    assert main(["export", str(run["run"]), "--csv", str(tmp_path / "bare.csv")]) == 0
    assert "time_s left empty" in capsys.readouterr().err
    assert {line.split(",")[1] for line in (tmp_path / "bare.csv").read_text().splitlines()[1:]} == {""}
    run["video"].rename(run["run"].with_suffix(".mp4"))
    assert main(["export", str(run["run"]), "--csv", str(tmp_path / "exported.csv")]) == 0
    assert (tmp_path / "exported.csv").read_bytes() == (tmp_path / "in_memory.csv").read_bytes()


def test_export_refuses_what_is_not_a_posetrack_result(tmp_path, capsys):
    (tmp_path / "coco.json").write_text("[]")
    (tmp_path / "other.json").write_text('{"ap": 1}')
    for name in ("coco.json", "other.json", "missing.json"):
        assert main(["export", str(tmp_path / name), "--csv", str(tmp_path / "x.csv")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("posetrack: error: ")
    assert not (tmp_path / "x.csv").exists()
