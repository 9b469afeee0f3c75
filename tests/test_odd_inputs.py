"""Odd input files found by a robustness sweep of ``posetrack run`` / ``posetrack batch``, one test per bug fixed.

Each test builds its odd file with PyAV / OpenCV / numpy. Runs use ``--poses`` (given poses, no network) so only
reading, tracking and writing are exercised.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest

from posetrack.cli import main
from posetrack.errors import PosetrackError
from posetrack.formats import posetrack18
from posetrack.io import open_source
from posetrack.pipeline import discover_jobs, ensure_writable
from posetrack.types import Frame, Sequence
from test_io import _frame, _index_of  # frames that carry their index through lossy coding


def _encode(path, codec: str, n: int, options=None, container_options=None, size=(64, 48)) -> None:
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = options or {}
        for i in range(n):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(_frame(i, size), format="bgr24")))
        container.mux(stream.encode())


def _empty_poses(path, name: str, n: int):
    """A PoseTrack 2018 file listing ``n`` frames without people: ``--poses`` input that needs no network."""
    frames = [Frame(file_name=f"{name}/{i:06d}.jpg", image_id=i) for i in range(n)]
    posetrack18.write_sequence(path, Sequence(name=name, frames=frames))
    return path


def _run(capsys, *args) -> tuple[int, str]:
    code = main(["run", *map(str, args), "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("posetrack: error: "), err
    return lines[0]


# ---------------------------------------------------------------- videos


def test_lost_first_frames_of_an_avi_keep_their_numbers(tmp_path, caplog):
    # Damaged data makes FFmpeg's parser guess presentation times a frame ahead in AVI (which stores none):
    # numbering by them shifted every frame after the loss by one, past the end of the video.
    _encode(tmp_path / "clean.avi", "mpeg4", 12, options={"g": "4"})
    data = bytearray((tmp_path / "clean.avi").read_bytes())
    rng = np.random.default_rng(0)
    chunk, scrambled = 0, 0
    while scrambled < 3:
        chunk = data.index(b"00dc", chunk + 1)
        size = int.from_bytes(data[chunk + 4:chunk + 8], "little")
        if size > 16:
            data[chunk + 8:chunk + 8 + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
            scrambled += 1
    (tmp_path / "bad.avi").write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, "posetrack.io"), open_source(tmp_path / "bad.avi") as source:
        frames = list(source)
    assert [f.index for f in frames] == list(range(3, 12))
    # Frames before the next keyframe decode from lost references: only their numbers can be right.
    with av.open(str(tmp_path / "clean.avi")) as container:
        keyframes = [p.is_keyframe for p in container.demux(container.streams.video[0]) if p.size]
    key = keyframes.index(True, 3)
    assert [_index_of(f.image) for f in frames if f.index >= key] == list(range(key, 12))
    assert "undecodable frame" in caplog.text


@pytest.mark.parametrize("movflags", ["+faststart", "frag_keyframe+empty_moov"])
def test_truncated_mp4_keeps_every_frame_before_the_cut(tmp_path, caplog, movflags):
    # The cut leaves a partial last packet; fed to the frame-threaded decoder it made it drop the good frames
    # it still held (thread count - 1 of them).
    _encode(tmp_path / "full.mp4", "libx264", 40, options={"g": "8"}, container_options={"movflags": movflags})
    data = (tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    with av.open(str(tmp_path / "cut.mp4")) as container:  # the reference: one thread, corrupt packets skipped
        stream = container.streams.video[0]
        whole = sum(len(p.decode()) for p in container.demux(stream) if not p.is_corrupt)
    assert 4 < whole < 40
    with caplog.at_level(logging.WARNING, "posetrack.io"), open_source(tmp_path / "cut.mp4") as source:
        frames = list(source)
    assert [f.index for f in frames] == list(range(whole))
    assert [_index_of(f.image) for f in frames] == [i % 12 for i in range(whole)]
    assert "cut short" in caplog.text


def test_picture_size_change_mid_stream_is_scaled_to_the_first_size(tmp_path, caplog):
    # Two H.264 streams joined (as recorders and adaptive streams do): the second half's 48x32 frames stopped
    # the tracker's optical flow with an error naming no file.
    for part, size in (("a", (64, 48)), ("b", (48, 32))):
        with av.open(str(tmp_path / f"{part}.h264"), "w", format="h264") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            for i in range(6):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(_frame(i, size), format="bgr24")))
            container.mux(stream.encode())
    (tmp_path / "joined.h264").write_bytes((tmp_path / "a.h264").read_bytes() + (tmp_path / "b.h264").read_bytes())
    with caplog.at_level(logging.WARNING, "posetrack.io"), open_source(tmp_path / "joined.h264") as source:
        frames = list(source)
    assert [f.index for f in frames] == list(range(12))
    assert {f.image.shape for f in frames} == {(48, 64, 3)}
    assert caplog.text.count("picture size changes to 48x32 at frame 6") == 1


# ---------------------------------------------------------------- image folders


def test_image_folder_in_numeric_order_named_like_the_folder(tmp_path, monkeypatch, capsys):
    # Names without zero padding (ffmpeg's %d.jpg) went 0, 1, 10, 11, 2, ...; and "posetrack run ." was
    # named "." (writing the hidden file "..json" with file names "/0.jpg").
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"{i}.png"), _frame(i))
    with open_source(folder) as source:
        assert [_index_of(f.image) for f in source] == [i % 12 for i in range(12)]
    monkeypatch.chdir(folder)
    poses = _empty_poses(tmp_path / "poses.json", "clip", 12)
    code, _ = _run(capsys, ".", "-o", tmp_path / "out", "--poses", poses, "--no-video")
    assert code == 0 and os.listdir(tmp_path / "out") == ["clip.json"]
    names = [f.file_name for f in posetrack18.read_sequence(tmp_path / "out" / "clip.json").frames]
    assert names == [f"clip/{i}.png" for i in range(12)]


def test_image_folder_of_mixed_sizes_is_one_line_naming_the_image(tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), _frame(i, (64, 48) if i != 3 else (48, 64)))
    poses = _empty_poses(tmp_path / "poses.json", "mixed", 6)
    code, err = _run(capsys, folder, "-o", tmp_path / "out", "--poses", poses, "--no-video")
    line = _one_error_line(err)
    assert code == 2 and "000003.jpg" in line and "48x64" in line and "64x48" in line
    assert not (tmp_path / "out" / "mixed.json").exists()


def test_unreadable_first_image_is_reported_once(tmp_path, capsys):
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), _frame(i))
    (folder / "000000.jpg").write_bytes(b"not an image")
    poses = _empty_poses(tmp_path / "poses.json", "seq", 4)
    code = main(["run", str(folder), "-o", str(tmp_path / "out"), "--poses", str(poses), "--no-video"])
    err = capsys.readouterr().err
    assert code == 0 and err.count("000000.jpg") == 1 and "(frame 0)" in err
    assert len(posetrack18.read_sequence(tmp_path / "out" / "seq.json").frames) == 4


# ---------------------------------------------------------------- batch lists and output folders


def test_list_file_written_with_a_byte_order_mark(tmp_path):
    _encode(tmp_path / "a.mp4", "libx264", 2)
    (tmp_path / "list.txt").write_bytes("\ufeffa.mp4\r\n".encode())
    jobs, _ = discover_jobs(str(tmp_path / "list.txt"))
    assert [(j.name, j.source) for j in jobs] == [("a", str(tmp_path / "a.mp4"))]


def test_output_folder_that_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(PosetrackError, match="is a file, not a folder"):
        ensure_writable(tmp_path / "taken")


_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG instead of killing us
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from posetrack.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("limit, video, what", [(4000, True, "the video"), (1000, False, "clip.partial.jsonl")])
def test_full_disk_is_one_line_and_leaves_no_final_file(tmp_path, limit, video, what):
    # A file size limit fails writes the way a full disk does (EFBIG instead of ENOSPC), in a child process.
    _encode(tmp_path / "clip.mp4", "libx264", 12, size=(160, 120))  # overlay ~6 KB, partial file ~2 KB
    poses = _empty_poses(tmp_path / "poses.json", "clip", 12)
    out = tmp_path / "out"
    args = ["run", tmp_path / "clip.mp4", "-o", out, "--poses", poses, "-q"] + ([] if video else ["--no-video"])
    proc = subprocess.run([sys.executable, "-c", _LIMITED, str(limit), *map(str, args)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    line = _one_error_line(proc.stderr)
    assert proc.returncode == 2 and what in line and "cannot write" in line
    assert sorted(os.listdir(out)) == ["clip.partial.jsonl"]  # no final JSON, no video, no temporary file


def test_overlay_never_replaces_the_input_video(tmp_path, monkeypatch, capsys):
    # "posetrack run clip.mp4" in the video's folder (-o defaults to ".") wrote the overlay over clip.mp4.
    _encode(tmp_path / "clip.mp4", "libx264", 6)
    original = (tmp_path / "clip.mp4").read_bytes()
    poses = _empty_poses(tmp_path / "poses.json", "clip", 6)
    monkeypatch.chdir(tmp_path)
    code, err = _run(capsys, "clip.mp4", "--poses", poses)
    assert code == 2 and "would replace" in _one_error_line(err)
    assert (tmp_path / "clip.mp4").read_bytes() == original and not (tmp_path / "clip.json").exists()
    code = main(["batch", str(tmp_path), "-o", str(tmp_path), "--poses", str(poses), "-q"])
    assert code == 1 and "would replace" in capsys.readouterr().err
    assert (tmp_path / "clip.mp4").read_bytes() == original
    code, _ = _run(capsys, "clip.mp4", "--poses", poses, "--no-video")  # without an overlay there is no clash
    assert code == 0 and (tmp_path / "clip.json").exists()
