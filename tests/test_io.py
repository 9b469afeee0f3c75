import logging
import os
import threading
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from posetrack.errors import PosetrackError
from posetrack.io import VideoWriter, open_source
from posetrack.io.sources import ReadAhead


def _frame(i: int, size=(64, 48)) -> np.ndarray:
    """A frame whose brightness encodes its index modulo 12 (survives lossy coding) on a noisy background."""
    rng = np.random.default_rng(i)
    image = rng.integers(0, 40, (size[1], size[0], 3), dtype=np.uint8)
    image[8:-8, 8:-8] = 20 * (i % 12) + 10
    return image


def _index_of(image: np.ndarray) -> int:
    return int(round((float(image[12:-12, 12:-12].mean()) - 10) / 20))


def _write_mp4(path, n, fps=25, size=(64, 48)):
    """An MP4 as PyAV writes it by default: ``moov`` after the data, so a truncated copy is unreadable."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(n):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(_frame(i, size), format="bgr24")))
        container.mux(stream.encode())


def _write_avi(path, n, fps=10, size=(64, 48)):
    """Motion-JPEG AVI: every frame is its own packet, so damage stays local to one frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(n):
        writer.write(_frame(i, size))
    writer.release()


def _decoded(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
        return stream.codec_context.name, stream.codec_context.pix_fmt, stream.average_rate, frames


def _reader_threads():
    return [t for t in threading.enumerate() if t.name.startswith("posetrack-read")]


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("kind", ["mp4", "avi"])
def test_video_files_stream_every_frame_with_index_and_rate(tmp_path, kind):
    path = tmp_path / f"clip.{kind}"
    (_write_mp4 if kind == "mp4" else _write_avi)(path, 9)
    with open_source(path, read_ahead=2) as source:
        assert (source.info.kind, source.info.width, source.info.height) == ("video", 64, 48)
        assert source.info.num_frames == 9
        assert source.info.fps == (25 if kind == "mp4" else 10)
        frames = list(source)
    assert [f.index for f in frames] == list(range(9))
    assert [_index_of(f.image) for f in frames] == list(range(9))
    assert all(f.image.dtype == np.uint8 and f.image.shape == (48, 64, 3) for f in frames)
    assert frames[1].time == pytest.approx(1 / float(source.info.fps))


def test_frames_from_a_start_index_and_synchronous_mode(tmp_path):
    _write_avi(tmp_path / "clip.avi", 6)
    with open_source(tmp_path / "clip.avi", read_ahead=0) as source:
        assert [f.index for f in source.frames(start=4)] == [4, 5]
        assert [_index_of(f.image) for f in source.frames(start=4)] == [4, 5]


def test_corrupt_frame_is_skipped_and_numbering_stays_right(tmp_path, caplog):
    _write_avi(tmp_path / "good.avi", 10)
    data = bytearray((tmp_path / "good.avi").read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]  # JPEG SOI markers
    assert len(starts) == 10
    data[starts[4]:starts[4] + 300] = np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes()
    (tmp_path / "bad.avi").write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, "posetrack.io"), open_source(tmp_path / "bad.avi") as source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert [_index_of(f.image) for f in frames] == [f.index for f in frames]
    assert "undecodable frame" in caplog.text


def test_truncated_avi_gives_the_frames_before_the_cut_and_warns(tmp_path, caplog):
    _write_avi(tmp_path / "full.avi", 20, size=(128, 96))
    data = (tmp_path / "full.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) * 2 // 3])
    with caplog.at_level(logging.WARNING, "posetrack.io"), open_source(tmp_path / "cut.avi") as source:
        frames = list(source)
    assert 3 <= len(frames) < 20
    assert [f.index for f in frames] == list(range(len(frames)))
    assert "ended after" in caplog.text


def test_unreadable_inputs_raise_one_line_errors(tmp_path):
    _write_mp4(tmp_path / "full.mp4", 10)
    data = (tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    (tmp_path / "notes.mp4").write_text("these are not the frames you are looking for\n" * 20)
    zero = cv2.VideoWriter(str(tmp_path / "zero.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    zero.release()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    cases = {"cut.mp4": "not a readable video", "notes.mp4": "not a readable video",
             "zero.avi": "no decodable frame", "missing.mp4": "no such file", "empty": "holds no images"}
    for name, message in cases.items():
        with pytest.raises(PosetrackError, match=message) as err:
            open_source(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)


def test_image_folder_sorted_by_name_with_a_corrupt_image(tmp_path, caplog):
    folder = tmp_path / "000342_mpii_test"
    folder.mkdir()
    for i in (2, 0, 3, 1):  # written out of order: the order comes from the names
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), _frame(i))
    (folder / "000001.jpg").write_bytes(b"\x00garbage" * 50)
    (folder / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.WARNING, "posetrack.io"), open_source(folder) as source:
        assert source.info.name == "000342_mpii_test" and source.info.fps == 25 and source.info.num_frames == 4
        frames = list(source)
    assert [(f.index, f.name) for f in frames] == [(0, "000000.jpg"), (2, "000002.jpg"), (3, "000003.jpg")]
    assert [_index_of(f.image) for f in frames] == [0, 2, 3]
    assert "000001.jpg" in caplog.text
    assert open_source(folder, fps=30000 / 1001).info.fps == Fraction(30000, 1001)


def test_display_rotation_is_applied(tmp_path):
    with av.open(str(tmp_path / "phone.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(90)
        image = np.zeros((48, 64, 3), np.uint8)
        image[:10, :10] = 255
        container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    with open_source(tmp_path / "phone.mp4") as source:
        assert (source.info.width, source.info.height) == (48, 64)
        (frame,) = list(source)
    # Rotated a quarter turn counter-clockwise, as players (and cv2.VideoCapture) show it.
    assert frame.image.shape == (64, 48, 3) and frame.image[-5, 5].mean() > 200 and frame.image[5, 5].max() < 50


# ---------------------------------------------------------------- read-ahead thread


def test_read_ahead_is_bounded_and_stops_on_close(tmp_path):
    produced, made = [], {i: threading.Event() for i in range(1000)}

    def items():
        for i in range(1000):
            produced.append(i)
            made[i].set()
            yield i

    ahead = ReadAhead(items(), maxsize=3, name="posetrack-read-test")
    assert next(ahead) == 0
    # One item handed out, three in the queue, the fifth made and waiting for room: the reader stops there.
    assert made[4].wait(10) and produced == [0, 1, 2, 3, 4]
    assert next(ahead) == 1  # one taken: room for exactly one more
    assert made[5].wait(10) and produced == [0, 1, 2, 3, 4, 5]
    ahead.close()
    assert not ahead.worker.thread.is_alive()


def test_reader_errors_reach_the_consumer():
    def items():
        yield 1
        raise PosetrackError("disk on fire")

    ahead = ReadAhead(items(), maxsize=2)
    assert next(ahead) == 1
    with pytest.raises(PosetrackError, match="disk on fire"):
        next(ahead)
    with pytest.raises(StopIteration):
        next(ahead)


def test_leaving_the_loop_early_stops_the_reader(tmp_path):
    _write_avi(tmp_path / "clip.avi", 30)
    source = open_source(tmp_path / "clip.avi", read_ahead=2)
    for frame in source:
        if frame.index == 1:
            break
    source.close()
    assert not _reader_threads()


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("size,stored", [((64, 48), (64, 48)), ((65, 49), (66, 50))])
def test_writer_makes_h264_mp4_with_rational_rate(tmp_path, size, stored):
    path = tmp_path / "out" / "overlay.mp4"
    with VideoWriter(path, Fraction(30000, 1001), size) as writer:
        for i in range(12):
            writer.write(_frame(i, size))
    codec, pix_fmt, rate, frames = _decoded(path)
    assert (codec, pix_fmt, rate, len(frames)) == ("h264", "yuv420p", Fraction(30000, 1001), 12)
    assert frames[0].shape == (stored[1], stored[0], 3)
    assert [_index_of(f) for f in frames] == list(range(12))
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while downloading
    assert os.listdir(path.parent) == ["overlay.mp4"]


def test_writer_leaves_no_file_on_error_and_none_before_close(tmp_path):
    path = tmp_path / "overlay.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(path, 25, (64, 48)) as writer:
            writer.write(_frame(0))
            assert not path.exists()  # only the temporary name exists while writing
            raise RuntimeError("crash mid-run")
    assert os.listdir(tmp_path) == []


def test_writer_resizes_mismatched_frames(tmp_path):
    with VideoWriter(tmp_path / "v.mp4", 25, (64, 48)) as writer:
        writer.write(_frame(0, (64, 48)))
        writer.write(_frame(1, (128, 96)))
    frames = _decoded(tmp_path / "v.mp4")[3]
    assert [f.shape for f in frames] == [(48, 64, 3)] * 2
