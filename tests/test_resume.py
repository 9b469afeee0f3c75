"""Long runs: one writer per output (a lock), SIGTERM handled like Ctrl-C, and a killed run resumed mid-video
with results byte-identical to a run never stopped (``posetrack.pipeline.lock``, ``posetrack.pipeline.resume``).

Real processes where the behaviour is about processes (a second ``python -m posetrack run``, SIGTERM, SIGKILL);
the given-poses path (``--poses``: tracker, re-linker, optical flow, overlay, no network) keeps them fast.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from test_pipeline import data, make_checkpoint, write_detections, write_poses  # noqa: F401 - data is a fixture

from posetrack.cli import main
from posetrack.formats import posetrack18
from posetrack.pipeline import outputs
from posetrack.pipeline.lock import OutputLock
from posetrack.pipeline.snapshot import load_snapshot, save_snapshot
from posetrack.synth.writer import write_dataset

ROOT = Path(__file__).resolve().parents[1]
FRAMES, NAME = 160, "000001_mpii_val"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """An occlusion clip (people hidden and coming back: re-linking renames ids) and noisy poses of it."""
    base = tmp_path_factory.mktemp("resume")
    write_dataset(str(base / "synth"), split="val", sequences=1, frames=FRAMES, people=5, seed=2, width=256,
                  height=192, fps=25.0, video=True, scenario="occlusion")
    poses = write_poses(base / "synth", base / "poses")
    return {"video": base / "synth" / "videos" / "val" / f"{NAME}.mp4", "poses": poses / f"{NAME}.json",
            "dets": write_detections(base / "synth", base / "dets") / f"{NAME}.json",
            "ckpt": make_checkpoint(base / "tiny.pth")}


def run_args(clip, out, *extra) -> list[str]:
    return ["run", str(clip["video"]), "--poses", str(clip["poses"]), "-o", str(out), "--trails", "8", "--quiet",
            *extra]


def cli(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def spawn(args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "posetrack", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 120.0) -> None:
    """Poll the output folder until ``predicate()`` holds (the process works while the test looks)."""
    end = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the run ended before {what}: {proc.communicate()}"
        assert time.monotonic() < end, f"no {what} after {timeout} s"
        time.sleep(0.02)


def partial_frames(out: Path) -> int:
    try:
        return sum(line.startswith('{"i":') for line in (out / f"{NAME}.partial.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def video_frames(path: Path) -> tuple[str, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, sum(1 for _ in container.decode(stream))


@pytest.fixture(scope="module")
def uninterrupted(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main(run_args(clip, out)) == 0
    return out


# ---------------------------------------------------------------- locks and signals

def test_second_run_on_the_same_output_exits_2_and_the_first_finishes(clip, uninterrupted, tmp_path):
    first = spawn(run_args(clip, tmp_path))
    lock = tmp_path / f".{NAME}.lock"
    wait_for(lambda: partial_frames(tmp_path) >= 2, first, "partial file")
    first.send_signal(signal.SIGSTOP)  # held mid-run while the second one starts
    try:
        second = subprocess.run([sys.executable, "-m", "posetrack", *run_args(clip, tmp_path)], capture_output=True,
                                check=False, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2
    line = one_line(second.stderr)
    assert line.startswith("posetrack: error: ") and f"process {first.pid} on {socket.gethostname()}" in line
    assert first.wait(timeout=300) == 0, first.communicate()
    # The first run's files are whole: the same bytes as a run alone.
    assert (tmp_path / f"{NAME}.json").read_bytes() == (uninterrupted / f"{NAME}.json").read_bytes()
    assert video_frames(tmp_path / f"{NAME}.mp4") == ("h264", FRAMES)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{NAME}.json", f"{NAME}.mp4"]
    assert not lock.exists()


def test_sigterm_removes_temporary_files_keeps_the_partial_and_exits_143(clip, tmp_path):
    proc = spawn(run_args(clip, tmp_path))
    wait_for(lambda: partial_frames(tmp_path) >= 40 and list(tmp_path.glob("*.tmp")), proc, "overlay in progress")
    proc.send_signal(signal.SIGSTOP)  # so the signal surely lands mid-run, however loaded the machine
    assert list(tmp_path.glob("*.tmp")) and not (tmp_path / f"{NAME}.json").exists()
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM == 143
    assert "terminated by signal 15" in one_line(err)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [f"{NAME}.partial.jsonl"]  # no temporary file, no lock; the partial result stays


def test_a_dead_runs_lock_is_taken_over_a_live_ones_is_not(clip, uninterrupted, tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    lock = tmp_path / f".{NAME}.lock"
    lock.write_text(f"{int(dead.stdout)} {socket.gethostname()}\n")
    code, err = cli(capsys, *run_args(clip, tmp_path))
    assert code == 0, err
    assert not lock.exists()
    assert (tmp_path / f"{NAME}.json").read_bytes() == (uninterrupted / f"{NAME}.json").read_bytes()
    with OutputLock(tmp_path, NAME):  # held by this (live) process
        code, err = cli(capsys, *run_args(clip, tmp_path))
        assert code == 2 and f"process {os.getpid()} on" in one_line(err)
    assert not lock.exists()


# ---------------------------------------------------------------- resume


def test_snapshot_files_keep_types_bit_for_bit(tmp_path):
    from collections import deque

    content = {"a": np.arange(5, dtype=np.int64), 3: [1.1, None, True, "x", (np.float32(0.1), deque([2], 4))],
            "z": np.zeros((0, 17, 3), np.float32)}
    save_snapshot(tmp_path / "s.npz", content)
    back = load_snapshot(tmp_path / "s.npz")
    assert back[3][0] == 1.1 and back[3][1:4] == [None, True, "x"] and back[3][4][1] == deque([2], 4)
    assert back[3][4][0].dtype == np.float32 and back[3][4][0] == np.float32(0.1)
    assert back["a"].dtype == np.int64 and back["z"].shape == (0, 17, 3)


def _stop_at(monkeypatch, index: int) -> None:
    """Ctrl-C as frame ``index`` is about to be written (the partial writer is where a run's frames leave it)."""
    original = outputs.PartialWriter.write_frame

    def write_frame(self, i, *args, **kwargs):
        if i == index:
            raise KeyboardInterrupt
        return original(self, i, *args, **kwargs)

    monkeypatch.setattr(outputs.PartialWriter, "write_frame", write_frame)


def test_stopped_twice_and_resumed_gives_the_uninterrupted_bytes(clip, uninterrupted, tmp_path, capsys,
                                                                 monkeypatch):
    args = run_args(clip, tmp_path, "--set", "run.snapshot_every=20")
    for stop in (47, 113):
        with monkeypatch.context() as m:
            _stop_at(m, stop)
            code, _ = cli(capsys, *args)
        assert code == 130
        assert (tmp_path / f"{NAME}.partial.jsonl").is_file() and not list(tmp_path.glob("*.tmp"))
    # Re-linking renamed ids backwards before the stops (the resumed run must know them).
    assert '{"renames":' in (tmp_path / f"{NAME}.partial.jsonl").read_text()
    snapshot = load_snapshot(tmp_path / f".{NAME}.resume.npz")
    assert snapshot["frame_index"] == 99 and len(snapshot["held"]) == 25  # the overlay lags a second behind
    code, err = cli(capsys, *args)
    assert code == 0, err
    assert (tmp_path / f"{NAME}.json").read_bytes() == (uninterrupted / f"{NAME}.json").read_bytes()
    assert video_frames(tmp_path / f"{NAME}.mp4") == ("h264", FRAMES)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{NAME}.json", f"{NAME}.mp4"]
    frames = posetrack18.read_sequence(tmp_path / f"{NAME}.json").frames
    assert len(frames) == FRAMES


def test_sigkill_then_resume_gives_the_uninterrupted_bytes(clip, uninterrupted, tmp_path, capsys):
    args = run_args(clip, tmp_path, "--set", "run.snapshot_every=30")
    proc = spawn(args)
    snapshot = tmp_path / f".{NAME}.resume.npz"
    wait_for(lambda: snapshot.is_file() and partial_frames(tmp_path) >= 70, proc, "a snapshot")
    proc.kill()
    proc.wait()
    assert (tmp_path / f".{NAME}.lock").is_file()  # a dead run's lock: taken over below
    code, err = cli(capsys, *args)
    assert code == 0, err
    assert (tmp_path / f"{NAME}.json").read_bytes() == (uninterrupted / f"{NAME}.json").read_bytes()
    assert video_frames(tmp_path / f"{NAME}.mp4") == ("h264", FRAMES)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{NAME}.json", f"{NAME}.mp4"]


def test_other_settings_are_refused_and_restart_discards(clip, uninterrupted, tmp_path, capsys, monkeypatch):
    args = run_args(clip, tmp_path, "--set", "run.snapshot_every=20")
    with monkeypatch.context() as m:
        _stop_at(m, 50)
        assert cli(capsys, *args)[0] == 130
    code, err = cli(capsys, *args, "--set", "tracker.match_threshold=0.2")
    line = one_line(err)
    assert code == 2 and "other settings (config differ)" in line and "--restart" in line
    assert partial_frames(tmp_path) >= 40  # refused, not touched
    code, err = cli(capsys, *args, "--set", "tracker.match_threshold=0.2", "--restart")
    assert code == 0, err
    assert (tmp_path / f"{NAME}.json").read_bytes() != (uninterrupted / f"{NAME}.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{NAME}.json", f"{NAME}.mp4"]


def test_snapshot_every_is_validated(clip, tmp_path, capsys):
    code, err = cli(capsys, *run_args(clip, tmp_path, "--set", "run.snapshot_every=-5"))
    assert code == 2 and "run.snapshot_every" in one_line(err)


def test_batch_resumes_a_sequence_stopped_midway(data, tmp_path, capsys, monkeypatch):  # noqa: F811
    """``posetrack batch`` skips finished sequences and resumes the one it was stopped in."""
    args = ["batch", str(data["videos"]), "--poses", str(data["poses"]), "--quiet", "--set", "run.snapshot_every=5"]
    assert cli(capsys, *args, "-o", str(tmp_path / "whole"))[0] == 0
    out = tmp_path / "stopped"
    calls = []
    original = outputs.PartialWriter.write_frame

    def write_frame(self, i, *a, **k):  # Ctrl-C in the second sequence's frame 13
        calls.append(i)
        if i == 13 and calls.count(0) == 2:
            raise KeyboardInterrupt
        return original(self, i, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(outputs.PartialWriter, "write_frame", write_frame)
        assert cli(capsys, *args, "-o", str(out))[0] == 130
    second = data["names"][1]
    assert load_snapshot(out / f".{second}.resume.npz")["frame_index"] == 9
    assert cli(capsys, *args, "-o", str(out))[0] == 0
    for name in data["names"]:
        assert (out / f"{name}.json").read_bytes() == (tmp_path / "whole" / f"{name}.json").read_bytes()
        assert video_frames(out / f"{name}.mp4")[1] == 20
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}{s}" for n in data["names"] for s in (".json", ".mp4"))


def test_locks_of_other_hosts_are_respected_empty_old_ones_taken_over(tmp_path):
    from posetrack.errors import PosetrackError

    lock = tmp_path / ".clip.lock"
    lock.write_text("123 some-other-host\n")
    with pytest.raises(PosetrackError, match=r"process 123 on some-other-host is writing this output .* delete"):
        OutputLock(tmp_path, "clip").acquire()
    lock.write_text("")  # a run killed between creating its lock and writing its pid
    with pytest.raises(PosetrackError, match="another process is writing"):
        OutputLock(tmp_path, "clip").acquire()
    os.utime(lock, (time.time() - 60, time.time() - 60))
    with OutputLock(tmp_path, "clip"):
        assert lock.read_text() == f"{os.getpid()} {socket.gethostname()}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_networks_and_detector_every_resume_after_a_whole_detector_batch(clip, tmp_path, capsys, monkeypatch):
    """Detector boxes (one frame in 3, ``detector.every``) + a pose network: a snapshot falls after the last frame
    of a detector batch, so the resumed run's batches and results are the uninterrupted run's."""
    args = ["run", str(clip["video"]), "--detections", str(clip["dets"]), "--pose-weights", str(clip["ckpt"]),
            "--device", "cpu", "--no-video", "--quiet", "--set", "pose.flip_test=false", "--set", "detector.every=3",
            "--set", "run.snapshot_every=20"]
    assert cli(capsys, *args, "-o", str(tmp_path / "whole"))[0] == 0
    out = tmp_path / "stopped"
    with monkeypatch.context() as m:
        _stop_at(m, 45)
        assert cli(capsys, *args, "-o", str(out))[0] == 130
    assert load_snapshot(out / f".{NAME}.resume.npz")["frame_index"] == 39  # every 21 frames: 18, 39
    assert cli(capsys, *args, "-o", str(out))[0] == 0
    assert (out / f"{NAME}.json").read_bytes() == (tmp_path / "whole" / f"{NAME}.json").read_bytes()


def test_a_finished_sequence_killed_before_its_cleanup_leaves_nothing_behind(tmp_path):
    """``posetrack batch`` skipping a sequence whose files were in place when the run was killed."""
    from posetrack.pipeline import OutputPaths, remove_finished_leftovers

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    for name in ("clip.json", "clip.mp4", "clip.partial.jsonl", ".clip.resume.npz", ".clip.mp4.seg0000",
                 ".clip.mp4.seg0001"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".clip.lock").write_text(f"{int(dead.stdout)} {socket.gethostname()}\n")
    (tmp_path / ".other.lock").write_text(f"{os.getpid()} {socket.gethostname()}\n")  # a live run's: kept
    remove_finished_leftovers(OutputPaths(tmp_path, "clip"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.lock", "clip.json", "clip.mp4"]
    remove_finished_leftovers(OutputPaths(tmp_path, "other"))
    assert (tmp_path / ".other.lock").exists()
