"""The pipeline end to end on synthetic videos: detections file -> tiny pose network -> flow tracker -> files.

The pose network is a PoseResNet-18 with random weights (final bias 1, so every joint clears the thresholds):
the point is the plumbing, not the accuracy. The helpers here are shared by test_batch.py and test_run_cli.py.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from posetrack.config import PipelineConfig, load_config
from posetrack.errors import PosetrackError
from posetrack.formats import coco, posetrack18, read_sequence_any
from posetrack.formats.common import MAX_TRACK_ID
from posetrack.geometry import xyxy_to_xywh
from posetrack.layouts import POSETRACK18
from posetrack.pipeline import Pipeline, tracker_config
from posetrack.pose.checkpoint import PoseModelInfo, save_checkpoint
from posetrack.pose.network import PoseNetConfig, PoseResNet
from posetrack.pipeline import SequenceJob, read_partial
from posetrack.synth import noisy_observations
from posetrack.synth.writer import write_dataset

FRAMES, WIDTH, HEIGHT = 20, 320, 240


# ---------------------------------------------------------------- helpers shared by the run/batch tests

def make_dataset(root: Path, sequences: int = 3) -> Path:
    write_dataset(str(root), split="val", sequences=sequences, frames=FRAMES, people=3, seed=3, width=WIDTH,
                  height=HEIGHT, fps=25.0, video=True)
    return root


def make_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    arch = PoseNetConfig(depth=18, num_joints=17, deconv_filters=(32, 32, 32))
    model = PoseResNet(arch)
    with torch.no_grad():
        model.final_layer.bias.fill_(1.0)
    save_checkpoint(path, model, PoseModelInfo(arch=arch, input_size=(64, 96), layout="coco17"))
    return path


def write_detections(root: Path, out: Path) -> Path:
    """COCO results (frame index as image_id) from each sequence's ground-truth boxes with 2 px noise."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for gt_file in sorted((root / "annotations" / "val").glob("*.json")):
        seq = read_sequence_any(gt_file)
        results = []
        for i, frame in enumerate(seq.frames):
            boxes = xyxy_to_xywh(frame.boxes + rng.normal(0, 2, frame.boxes.shape).astype(np.float32))
            results += [{"image_id": i, "category_id": 1, "bbox": b.tolist(), "score": float(s)}
                        for b, s in zip(boxes, rng.uniform(0.7, 1.0, len(boxes)))]
        (out / gt_file.name).write_text(json.dumps(results))
    return out


def write_poses(root: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for gt_file in sorted((root / "annotations" / "val").glob("*.json")):
        gt = read_sequence_any(gt_file)
        posetrack18.write_sequence(out / gt_file.name, noisy_observations(gt, seed=1))
    return out


def video_facts(path: Path) -> tuple[str, int, int, float, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.width, stream.height, float(stream.average_rate), count


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """A synthetic PoseTrack root with videos, a tiny pose checkpoint, detections and noisy poses."""
    base = tmp_path_factory.mktemp("pipeline_data")
    root = make_dataset(base / "synth")
    return {"root": root, "videos": root / "videos" / "val", "ckpt": make_checkpoint(base / "tiny.pth"),
            "dets": write_detections(root, base / "dets"), "poses": write_poses(root, base / "poses"),
            "names": sorted(p.stem for p in (root / "annotations" / "val").glob("*.json"))}


def tiny_config(data, **sections) -> PipelineConfig:
    overrides = ["detector.source=file", f"detector.file={data['dets']}", f"pose.weights={data['ckpt']}",
                 "pose.flip_test=false", "run.device=cpu", "run.quiet=true"]
    overrides += [f"{k}={json.dumps(v)}" for k, v in sections.items()]
    return load_config(PipelineConfig, None, overrides)


# ---------------------------------------------------------------- tests

def test_video_to_posetrack_json_and_h264_overlay(data, tmp_path):
    name = data["names"][0]
    pipeline = Pipeline(tiny_config(data))
    result = pipeline.run_sequence(SequenceJob(name, str(data["videos"] / f"{name}.mp4")), tmp_path)

    assert result.frames == FRAMES and result.people > 0 and result.tracks > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.json", f"{name}.mp4"]  # partial removed
    seq = posetrack18.read_sequence(tmp_path / f"{name}.json")
    posetrack18.check_file_names(seq, "prediction")  # names the official evaluation parses
    assert len(seq.frames) == FRAMES
    raw = json.loads((tmp_path / f"{name}.json").read_text())
    assert raw["categories"][0]["keypoints"] == list(POSETRACK18.joints)
    for ann in raw["annotations"]:
        assert 0 <= ann["track_id"] < MAX_TRACK_ID and len(ann["keypoints"]) == 51 and len(ann["scores"]) == 17
    ids = [np.asarray(f.track_ids) for f in seq.frames]
    assert all(len(np.unique(i)) == len(i) for i in ids)
    # The COCO network's output went through convert_keypoints: head_bottom/head_top are estimated.
    people = np.concatenate([f.keypoints for f in seq.frames])
    assert (people[:, POSETRACK18.index("head_top"), 2] > 0).any()
    assert video_facts(tmp_path / f"{name}.mp4") == ("h264", WIDTH, HEIGHT, 25.0, FRAMES)
    assert result.times.frames == FRAMES and result.times.seconds["pose"] > 0


@pytest.mark.parametrize("mode", ["detections", "poses"])
def test_overlap_gives_the_serial_results(data, tmp_path, mode, monkeypatch):
    """Flow ahead of time, the detector's thread and the encoder's thread change nothing in the outputs: the
    same JSON bytes and the same overlay frames handed to the encoder (the encoded bytes are not compared: the
    H.264 encoder's colour conversion rounds a few pixels differently depending on buffer alignment)."""
    from posetrack.io import writer as writer_module

    drawn: list[bytes] = []
    real_write = writer_module.VideoWriter.write

    def spy(self, frame):
        drawn.append(hashlib.sha1(np.ascontiguousarray(frame).tobytes()).digest())
        real_write(self, frame)

    monkeypatch.setattr(writer_module.VideoWriter, "write", spy)
    name = data["names"][2]
    source = SequenceJob(name, str(data["videos"] / f"{name}.mp4"))
    outputs = {}
    for overlap in (False, True):
        out = tmp_path / str(overlap)
        drawn.clear()
        config = tiny_config(data, **{"run.overlap": overlap, "video.trails": 5})
        pipeline = Pipeline(config, poses=str(data["poses"]) if mode == "poses" else None)
        result = pipeline.run_sequence(source, out)
        assert result.times.wall > 0 and result.times.seconds["flow"] > 0
        assert video_facts(out / f"{name}.mp4") == ("h264", WIDTH, HEIGHT, 25.0, FRAMES)
        outputs[overlap] = ((out / f"{name}.json").read_bytes(), list(drawn))
    assert len(outputs[True][1]) == FRAMES
    assert outputs[True] == outputs[False]


def test_partial_jsonl_is_valid_while_running(data, tmp_path):
    """Mid-run the partial file holds one valid JSON object per finished frame, and no final JSON exists."""
    name = data["names"][1]
    pipeline = Pipeline(tiny_config(data, **{"video.write": False}))
    estimator, seen = pipeline.estimator, []

    class Spy:  # the real estimator, looking at the output folder before each frame's poses
        layout = estimator.layout

        def __call__(self, frame, boxes, scores):
            partial = tmp_path / f"{name}.partial.jsonl"
            header, records = read_partial(partial)
            lines = partial.read_text().splitlines()
            assert all(json.loads(line) for line in lines)
            records = list(records)
            assert header["name"] == name and [r["i"] for r in records] == list(range(len(records)))
            assert not (tmp_path / f"{name}.json").exists()
            seen.append(len(records))
            return estimator(frame, boxes, scores)

    pipeline.estimator = Spy()
    pipeline.run_sequence(SequenceJob(name, str(data["videos"] / f"{name}.mp4")), tmp_path)
    assert seen and max(seen) >= FRAMES - 2
    assert not (tmp_path / f"{name}.partial.jsonl").exists()


def test_poses_mode_and_the_track_command_are_one_code_path(data, tmp_path, capsys):
    """``run --poses`` and ``posetrack track`` give the same ids and joints; track keeps the poses' images."""
    from posetrack.cli import main

    name = data["names"][0]
    config = tiny_config(data)
    pipeline = Pipeline(config, poses=str(data["poses"]))
    assert pipeline.estimator is None and pipeline.detector is None
    video = str(data["videos"] / f"{name}.mp4")
    pipeline.run_sequence(SequenceJob(name, video), tmp_path, video=False)
    ours = posetrack18.read_sequence(tmp_path / f"{name}.json")
    poses = data["poses"] / f"{name}.json"
    assert main(["track", video, "--poses", str(poses), "-o", str(tmp_path / "tracked.json"), "-q"]) == 0
    theirs = posetrack18.read_sequence(tmp_path / "tracked.json")
    assert [f.file_name for f in theirs.frames] == [f.file_name for f in read_sequence_any(poses).frames]
    for a, b in zip(ours.frames, theirs.frames, strict=True):
        np.testing.assert_array_equal(a.track_ids, b.track_ids)
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


def test_coco_and_posetrack17_outputs(data, tmp_path):
    name = data["names"][2]
    job = SequenceJob(name, str(data["videos"] / f"{name}.mp4"))
    pipeline = Pipeline(tiny_config(data, **{"video.write": False}))
    pipeline.run_sequence(job, tmp_path / "coco", output_format="coco")
    results = coco.read_results(tmp_path / "coco" / f"{name}.json")
    raw = json.loads((tmp_path / "coco" / f"{name}.json").read_text())
    assert results and all("track_id" in r and len(r["keypoints"]) == 51 for r in raw)
    # COCO results keep the network's own face joints (eyes, ears), which PoseTrack slots cannot hold.
    eyes = np.array([r["keypoints"][3:15] for r in raw]).reshape(-1, 4, 3)
    assert (eyes[..., 2] > 0).any()
    pipeline.run_sequence(job, tmp_path / "pt17", output_format="posetrack17")
    seq = read_sequence_any(tmp_path / "pt17" / f"{name}.json")
    assert len(seq.frames) == FRAMES and sum(len(f) for f in seq.frames) == len(results)


def test_tracker_section_of_shipped_configs(data):
    for name in ("paper_r50_256x192", "paper_r152_384x288", "fast_cpu"):
        tracker = tracker_config(load_config(PipelineConfig, name))
        assert tracker.propagate and tracker.similarity == "multiflow" and tracker.layout == "posetrack18"
    with pytest.raises(PosetrackError, match="did you mean tracker.flow_preset"):
        load_config(PipelineConfig, None, ["tracker.flow_presett=fast"])
