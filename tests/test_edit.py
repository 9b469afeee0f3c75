"""``posetrack edit``: merge, split, delete and swap on a synthetic run; recorded and replayable edits; the overlay
re-drawn from the source video without any network; bad input as one line with nothing half-written."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import results_data
from posetrack.cli import main
from posetrack.formats import read_sequence_any
from posetrack.io import open_source
from posetrack.viz import draw_poses


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return results_data.make_run(tmp_path_factory.mktemp("edit"))


def _ids(path) -> list[list[int]]:
    return [f.track_ids.tolist() for f in read_sequence_any(path).frames]


def _mota(gt, path) -> dict:
    """What ``posetrack eval GT PRED --json`` reports."""
    numbers = path.with_name(path.stem + ".metrics")
    assert main(["eval", str(gt), str(path), "--json", str(numbers)]) == 0
    r = json.loads(numbers.read_text())
    numbers.unlink()
    return {"mota": r["mota"]["total"], "ap": r["ap"]["total"], "switches": r["per_joint"]["mota"]}


def _longest(run) -> tuple[int, np.ndarray]:
    frames = [f.track_ids.tolist() for f in run["tracked"].frames]
    ids = [i for f in frames for i in f]
    track = max(set(ids), key=ids.count)
    return track, np.array([track in f for f in frames])


def test_split_then_merge_gives_back_the_run_and_its_scores(run, tmp_path):
    track, seen = _longest(run)
    at = int(np.flatnonzero(seen)[len(np.flatnonzero(seen)) // 2])
    split = tmp_path / "split.json"
    assert main(["edit", str(run["run"]), "-o", str(split), "--split", f"{track}@{at}"]) == 0
    new_id = max(i for f in _ids(run["run"]) for i in f) + 1
    before = _ids(run["run"])
    assert _ids(split) == [[new_id if (i == track and t >= at) else i for i in f] for t, f in enumerate(before)]
    # The split is an id switch on every joint of that person: MOTA drops, mAP does not move.
    original, after_split = _mota(run["gt"], run["run"]), _mota(run["gt"], split)
    assert after_split["mota"] < original["mota"] and after_split["ap"] == original["ap"]
    merged = tmp_path / "merged.json"
    assert main(["edit", str(split), "-o", str(merged), "--merge", str(track), str(new_id)]) == 0
    assert _ids(merged) == before
    assert _mota(run["gt"], merged) == original
    data = json.loads(merged.read_text())
    assert data["posetrack_edits"] == [{"split": [track, at], "new_id": new_id}, {"merge": [track, new_id]}]
    # Nothing but the ids and the record changed: the rest of the file is the run's, key for key.
    plain = json.loads(run["run"].read_text())
    del data["posetrack_edits"]
    assert data == plain


def test_delete_and_swap(run, tmp_path):
    frames = _ids(run["run"])
    a, b = frames[0][:2]
    out = tmp_path / "edited.json"
    assert main(["edit", str(run["run"]), "-o", str(out), "--swap", str(a), f"{b}@5", "--delete", str(b)]) == 0
    swapped = [[{a: b, b: a}.get(i, i) if t >= 5 else i for i in f] for t, f in enumerate(frames)]
    assert _ids(out) == [[i for i in f if i != b] for f in swapped]
    assert json.loads(out.read_text())["posetrack_edits"] == [{"swap": [a, b, 5]}, {"delete": b}]
    # Replaying the recorded edits on the run gives the same file, byte for byte.
    replay = tmp_path / "replay.json"
    assert main(["edit", str(run["run"]), "-o", str(replay), "--edits", str(out)]) == 0
    assert replay.read_bytes() == out.read_bytes()
    yaml_edits = tmp_path / "edits.yaml"
    yaml_edits.write_text(f"- swap: [{a}, {b}, 5]\n- delete: {b}\n")
    from_yaml = tmp_path / "from_yaml.json"
    assert main(["edit", str(run["run"]), "-o", str(from_yaml), "--edits", str(yaml_edits)]) == 0
    assert from_yaml.read_bytes() == out.read_bytes()


def test_in_place_rewrites_json_and_csv_and_redraws_the_overlay_without_any_network(run, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    result = folder / run["run"].name
    result.write_bytes(run["run"].read_bytes())
    assert main(["export", str(result), "--csv", str(result.with_suffix(".csv")), "--fps", "25"]) == 0
    a = _ids(result)[0][0]
    code = ("import sys\nfrom posetrack.cli import main\n"
            f"rc = main(['edit', {str(result)!r}, '--in-place', '--delete', '{a}', '--video', {str(run['video'])!r}])\n"
            "print(rc, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-2:] == ["0", "False"]  # no network: torch was never even imported
    edited = read_sequence_any(result)
    assert all(a not in f.track_ids for f in edited.frames)
    rows = result.with_suffix(".csv").read_text().splitlines()[1:]
    assert {int(r.split(",")[3]) for r in rows} == {i for f in edited.frames for i in f.track_ids.tolist()}
    # The overlay: every frame of the source with the edited people drawn as a run draws them.
    with open_source(run["video"]) as source, open_source(result.with_suffix(".mp4")) as overlay:
        assert overlay.info.num_frames == len(edited.frames)
        for src, drawn in zip(source, overlay):
            f = edited.frames[src.index]
            want = draw_poses(src.image, f.keypoints, f.track_ids, f.boxes, layout="posetrack18")
            # H.264 is lossy: the drawn frame is compared with the re-encoded one, not byte for byte.
            assert np.abs(want.astype(int) - drawn.image.astype(int)).mean() < 3.0
            if src.index == 0:
                no_edit = draw_poses(src.image, run["tracked"].frames[0].keypoints,
                                     run["tracked"].frames[0].track_ids, run["tracked"].frames[0].boxes,
                                     layout="posetrack18")
                assert np.abs(want.astype(int) - drawn.image.astype(int)).mean() < \
                    np.abs(no_edit.astype(int) - drawn.image.astype(int)).mean()


@pytest.mark.parametrize("args, message", [
    (["--delete", "99"], "--delete 99: no track 99"),
    (["--split", "0@500"], "--split 0@500: frame 500 is outside the video (frames 0 to 29)"),
    (["--split", "0"], "--split 0: expected --split A@FRAME"),
    (["--merge", "0", "0"], "--merge 0 0: cannot merge, the same track"),
])
def test_bad_edits_are_one_line_and_write_nothing(run, tmp_path, capsys, args, message):
    out = tmp_path / "edited.json"
    assert main(["edit", str(run["run"]), "-o", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_not_a_result_and_a_missing_video(run, tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"ap": {"total": 1}}')
    assert main(["edit", str(metrics), "--delete", "1"]) == 2
    assert "not a posetrack result" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
    out = tmp_path / "edited.json"
    a = _ids(run["run"])[0][0]
    assert main(["edit", str(run["run"]), "-o", str(out), "--delete", str(a), "--video",
                 str(tmp_path / "gone.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "source video not found, so no overlay was drawn" in err
    assert all(a not in f for f in _ids(out))  # the JSON is edited all the same
    assert not out.with_suffix(".mp4").exists()
