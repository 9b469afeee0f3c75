"""``posetrack batch``: PoseTrack roots, folders and lists; resume after SIGKILL; a broken file does not stop the
rest; torchrun with 2 gloo processes writes the same files as one process."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from posetrack.cli import main
from posetrack.formats import posetrack18, read_sequence_any
from test_pipeline import FRAMES, data, video_facts  # noqa: F401 - data is a fixture


def tiny(data) -> list[str]:
    return ["--detections", str(data["dets"]), "--pose-weights", str(data["ckpt"]), "--set",
            "pose.flip_test=false", "--device", "cpu"]


def batch(capsys, *args) -> tuple[int, str, str]:
    code = main(["batch", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_posetrack_root_same_files_as_ground_truth_and_eval(data, tmp_path, capsys):
    code, out, err = batch(capsys, data["root"], "-o", tmp_path, *tiny(data), "--eval")
    assert code == 0, err
    assert f"{len(data['names'])} done, 0 skipped, 0 failed" in out
    assert "Average Precision" in out and "MOTA" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.json" for n in data["names"]]  # no videos
    for name in data["names"]:
        gt = read_sequence_any(data["root"] / "annotations" / "val" / f"{name}.json")
        pred = posetrack18.read_sequence(tmp_path / f"{name}.json")
        assert [(f.file_name, f.image_id) for f in pred.frames] == [(f.file_name, f.image_id) for f in gt.frames]
    code, out, _ = batch(capsys, data["root"], "-o", tmp_path, *tiny(data))  # everything is already there
    assert code == 0 and f"0 done, {len(data['names'])} skipped" in out


def test_broken_video_is_reported_and_the_rest_finish(data, tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in data["names"][:2]:
        shutil.copy(data["videos"] / f"{name}.mp4", videos)
    (videos / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    code, out, err = batch(capsys, videos, "-o", tmp_path / "out", *tiny(data))
    assert code == 1
    assert "FAILED broken" in err and "2 done, 0 skipped, 1 failed" in out
    for name in data["names"][:2]:  # videos get overlays by default in folder batches
        assert video_facts(tmp_path / "out" / f"{name}.mp4")[4] == FRAMES
        assert len(posetrack18.read_sequence(tmp_path / "out" / f"{name}.json").frames) == FRAMES
    assert not list((tmp_path / "out").glob("broken*"))


def test_list_file_with_relative_paths(data, tmp_path, capsys):
    for name in data["names"][:2]:
        shutil.copy(data["videos"] / f"{name}.mp4", tmp_path)
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two videos\n{data['names'][0]}.mp4\n\n{tmp_path / data['names'][1]}.mp4\n")
    code, out, err = batch(capsys, listing, "-o", tmp_path / "out", "--poses", data["poses"], "--no-video")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{n}.json" for n in data["names"][:2]]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    return env


@pytest.mark.slow
def test_killed_batch_resumes_each_sequence_once(data, tmp_path, capsys):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "posetrack", "batch", str(data["root"]), "-o", str(out), *tiny(data),
            "--set", "pose.flip_test=true", "--video"]  # flip test and overlays: slow enough to be caught mid-way
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    first = out / f"{data['names'][0]}.json"
    deadline = time.time() + 120
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.stem: p.stat().st_mtime_ns for p in out.glob("*.json")}
    assert data["names"][0] in finished and len(finished) < len(data["names"])
    for name in finished:  # what looks finished is complete
        assert len(posetrack18.read_sequence(out / f"{name}.json").frames) == FRAMES
    for partial in out.glob("*.partial.jsonl"):  # the sequence in progress left valid lines
        lines = partial.read_text().splitlines(keepends=True)
        assert all(json.loads(line) for line in lines if line.endswith("\n"))

    code, stdout, err = batch(capsys, data["root"], "-o", out, *tiny(data), "--set", "pose.flip_test=true",
                              "--video")
    assert code == 0, err
    skipped = {line.split()[1].rstrip(":") for line in stdout.splitlines() if line.startswith("skipped")}
    done = {line.split()[1].rstrip(":") for line in stdout.splitlines() if line.startswith("done")}
    assert skipped == set(finished) and done == set(data["names"]) - set(finished)
    assert {n: (out / f"{n}.json").stat().st_mtime_ns for n in finished} == finished  # not redone
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{n}.json" for n in data["names"]] + [f"{n}.mp4" for n in data["names"]])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes_write_the_same_files(data, tmp_path, capsys):
    code, _, err = batch(capsys, data["root"], "-o", tmp_path / "single", *tiny(data), "-q")
    assert code == 0, err
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                str(_free_port()), "-m", "posetrack", "batch", str(data["root"]), "-o", str(tmp_path / "multi"),
                *tiny(data)]
    proc = subprocess.run(torchrun, capture_output=True, text=True, env=_env(), timeout=300)
    # The ranks' own lines come first, torchrun's summary of a failure last: keep both for a diagnosis.
    assert proc.returncode == 0, proc.stderr[:3000] + "\n...\n" + proc.stderr[-1500:]
    assert f"{len(data['names'])} done" in proc.stdout and "on 2 processes" in proc.stdout
    assert "[rank 1] done" in proc.stdout
    for name in data["names"]:
        assert (tmp_path / "multi" / f"{name}.json").read_bytes() == (tmp_path / "single" / f"{name}.json").read_bytes()


def test_missing_image_keeps_the_ground_truth_image_list(data, tmp_path, capsys):
    """A PoseTrack root with one listed image gone: a warning, no people on that image, every image listed."""
    name = data["names"][0]
    root = tmp_path / "root"
    (root / "annotations" / "val").mkdir(parents=True)
    shutil.copy(data["root"] / "annotations" / "val" / f"{name}.json", root / "annotations" / "val")
    shutil.copytree(data["root"] / "images" / "val" / name, root / "images" / "val" / name)
    (root / "images" / "val" / name / "000005.jpg").unlink()
    code, _, err = batch(capsys, root, "-o", tmp_path / "out", "--poses", data["poses"])
    assert code == 0 and "000005.jpg" in err
    pred = posetrack18.read_sequence(tmp_path / "out" / f"{name}.json")
    assert len(pred.frames) == FRAMES and len(pred.frames[5]) == 0 and len(pred.frames[6]) > 0
