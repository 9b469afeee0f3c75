"""``posetrack run``: options, outputs, and one clear line with the right exit code for every bad input."""
from __future__ import annotations

import json
import os

import av
import pytest

from posetrack.cli import main
from posetrack.formats import posetrack18
from test_pipeline import FRAMES, HEIGHT, WIDTH, data, video_facts  # noqa: F401 - data is a fixture


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def tiny(data) -> list[str]:
    return ["--pose-weights", data["ckpt"], "--set", "pose.flip_test=false", "--device", "cpu"]


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("posetrack: error: "), err
    return lines[0]


def test_run_writes_json_video_and_timing(data, tmp_path, capsys):
    name = data["names"][0]
    code, out, err = run(capsys, data["videos"] / f"{name}.mp4", "-o", tmp_path, "--detections",
                         data["dets"] / f"{name}.json", *tiny(data), "--trails", 5, "--no-boxes", "--kpt-threshold",
                         0.3, "--set", "tracker.flow_preset=ultrafast")
    assert code == 0, err
    assert f"{FRAMES} frames" in out
    for stage in ("decode", "detect", "flow", "pose", "track", "write"):  # the per-stage timing summary
        assert any(line.startswith(stage) and "%" in line for line in err.splitlines())
    assert len(posetrack18.read_sequence(tmp_path / f"{name}.json").frames) == FRAMES
    assert video_facts(tmp_path / f"{name}.mp4") == ("h264", WIDTH, HEIGHT, 25.0, FRAMES)


def test_run_no_video_format_and_quiet(data, tmp_path, capsys):
    name = data["names"][1]
    code, out, err = run(capsys, data["videos"] / f"{name}.mp4", "-o", tmp_path, "--poses",
                         data["poses"] / f"{name}.json", "--no-video", "--format", "2017", "--quiet")
    assert code == 0 and out == "" and err == ""
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.json"]
    assert "annolist" in json.loads((tmp_path / f"{name}.json").read_text())


def test_image_folder_input_and_gt_boxes(data, tmp_path, capsys):
    name = data["names"][2]
    folder = data["root"] / "images" / "val" / name
    code, _, err = run(capsys, folder, "-o", tmp_path, "--gt-boxes", data["root"] / "annotations" / "val" /
                       f"{name}.json", *tiny(data), "--no-video", "-q")
    assert code == 0, err
    seq = posetrack18.read_sequence(tmp_path / f"{name}.json")
    assert seq.frames[0].file_name == f"{name}/000000.jpg" and sum(len(f) for f in seq.frames) > 0


@pytest.fixture
def bad_files(data, tmp_path):
    video = (data["videos"] / f"{data['names'][0]}.mp4").read_bytes()
    files = {"not_video": b"hello, I am text\n", "corrupt": bytes(range(256)) * 200,
             "truncated": video[: len(video) * 2 // 3]}
    paths = {}
    for key, content in files.items():
        paths[key] = tmp_path / f"{key}.mp4"
        paths[key].write_bytes(content)
    with av.open(str(tmp_path / "zero.mp4"), "w", format="mp4") as container:  # a container, no frames
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    paths["zero"] = tmp_path / "zero.mp4"
    paths["empty_folder"] = tmp_path / "frames"  # an image folder without a single frame
    paths["empty_folder"].mkdir()
    (tmp_path / "no_people.json").write_text("[]")
    paths["no_people"] = tmp_path / "no_people.json"
    return paths


@pytest.mark.parametrize("case, words", [("missing", "no such file"), ("not_video", "not a readable video"),
                                         ("corrupt", "not a readable video"), ("zero", "video"),
                                         ("empty_folder", "holds no images")])
def test_bad_sources_give_one_line(data, bad_files, tmp_path, capsys, case, words):
    source = tmp_path / "missing.mp4" if case == "missing" else bad_files[case]
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, source, "-o", out_dir, "--detections", bad_files["no_people"], *tiny(data))
    assert code == 2 and words in one_error_line(err)
    assert not out_dir.exists()


def test_truncated_video_warns_and_keeps_what_decodes(data, bad_files, tmp_path, capsys):
    name = data["names"][0]
    code, out, err = run(capsys, bad_files["truncated"], "-o", tmp_path / "out", "--detections",
                         data["dets"] / f"{name}.json", *tiny(data))
    assert code == 0
    assert "warning" in err and "truncated" in err
    frames = len(posetrack18.read_sequence(tmp_path / "out" / "truncated.json").frames)
    assert 0 < frames < FRAMES
    assert video_facts(tmp_path / "out" / "truncated.mp4")[4] == frames


def test_frames_without_people(data, bad_files, tmp_path, capsys):
    name = data["names"][0]
    code, _, err = run(capsys, data["videos"] / f"{name}.mp4", "-o", tmp_path, "--detections",
                       bad_files["no_people"], *tiny(data))
    assert code == 0 and "no person" in err
    seq = posetrack18.read_sequence(tmp_path / f"{name}.json")
    assert len(seq.frames) == FRAMES and all(len(f) == 0 for f in seq.frames)


def test_unwritable_output_folder(data, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    name = data["names"][0]
    code, _, err = run(capsys, data["videos"] / f"{name}.mp4", "-o", blocker / "out", "--detections",
                       data["dets"] / f"{name}.json", *tiny(data))
    assert code == 2 and "cannot write output files" in one_error_line(err)


def test_bad_config_key(data, tmp_path, capsys):
    name = data["names"][0]
    code, _, err = run(capsys, data["videos"] / f"{name}.mp4", "-o", tmp_path / "out", "--poses",
                       data["poses"] / f"{name}.json", "--set", "video.trials=3")
    assert code == 2 and "did you mean video.trails" in one_error_line(err)


@pytest.mark.parametrize("own_pose_weights", [False, True])
def test_offline_weights_error_before_any_output(data, tmp_path, capsys, monkeypatch, own_pose_weights):
    """No internet: one line naming the file to download and where to put it, and no output folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no cached detector weights
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # a closed port: the download fails at once
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    out_dir = tmp_path / "out"
    args = tiny(data) if own_pose_weights else ["--device", "cpu"]
    code, _, err = run(capsys, data["videos"] / f"{data['names'][0]}.mp4", "-o", out_dir, *args)
    err = "\n".join(line for line in err.splitlines() if not line.startswith("Downloading: "))  # torch.hub's
    line = one_error_line(err)
    assert code == 2 and "download https://" in line
    # Where to put it: torch hub's folder for the detector, posetrack's weights folder for the pose network.
    home = str(tmp_path / "torch_home") if own_pose_weights else os.environ["POSETRACK_HOME"]
    assert f"place it at {home}" in line
    assert not out_dir.exists()
