"""One video split across processes (``posetrack run`` under torchrun or with ``--shards K``): the same results as
one process, the stitching of ids on real tracks, the joined overlay, and bad input as one line."""
from __future__ import annotations

import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from test_batch import _env, _free_port
from test_pipeline import video_facts, write_poses

from posetrack.cli import main
from posetrack.eval.agreement import id_agreement
from posetrack.formats import posetrack18
from posetrack.io import VideoWriter
from posetrack.io.join import join_videos
from posetrack.pipeline import Pipeline, SequenceJob, read_partial
from posetrack.pipeline.sequence import SequenceOptions, SequenceRun
from posetrack.pipeline.sharded import plan_for
from posetrack.pipeline.shards import (
    Chunk,
    ShardPlan,
    ShardStopped,
    chunk_records,
    match_tracks,
    merge_chunks,
)
from posetrack.synth.writer import write_dataset

FRAMES = 48


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 48-frame synthetic clip of 4 people crossing, its video, its image folder and noisy poses of it."""
    base = tmp_path_factory.mktemp("shards")
    root = base / "synth"
    write_dataset(str(root), split="val", sequences=1, frames=FRAMES, people=4, seed=5, width=320, height=240,
                  fps=25.0, video=True, scenario="crossing")
    name = next((root / "annotations" / "val").glob("*.json")).stem
    poses = write_poses(root, base / "poses") / f"{name}.json"
    return {"name": name, "video": root / "videos" / "val" / f"{name}.mp4", "images": root / "images" / "val" / name,
            "poses": poses, "gt": root / "annotations" / "val" / f"{name}.json"}


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def single(clip, tmp_path, capsys, video: bool = True):
    out = tmp_path / "single"
    code, _, err = run(capsys, clip["video"], "-o", out, "--poses", clip["poses"], "-q",
                       *([] if video else ["--no-video"]))
    assert code == 0, err
    return out


def first_appearance(seq) -> list[list[int]]:
    """Each frame's ids renumbered 0, 1, 2, ... in order of first appearance."""
    first: dict[int, int] = {}
    return [[first.setdefault(t, len(first)) for t in f.track_ids.tolist()] for f in seq.frames]


def assert_same_up_to_ids(a_file, b_file):
    """Two runs' files hold the same frames, people and poses, and the same ids up to a relabelling."""
    a, b = posetrack18.read_sequence(a_file), posetrack18.read_sequence(b_file)
    assert [(f.file_name, f.image_id) for f in a.frames] == [(f.file_name, f.image_id) for f in b.frames]
    for fa, fb in zip(a.frames, b.frames):
        assert np.array_equal(fa.keypoints, fb.keypoints) and np.array_equal(fa.scores, fb.scores)
    assert first_appearance(a) == first_appearance(b)
    assert id_agreement(a, b)["agreement"] == 1.0


def test_plan_chunks_cuts_and_bad_overlap():
    plan = ShardPlan(100, 3, 10)
    assert [plan.tracked(k) for k in range(3)] == [range(40), range(30, 70), range(60, 100)]  # 40 frames each
    assert [plan.kept(k) for k in range(3)] == [range(35), range(35, 65), range(65, 100)]
    assert plan.matched(0) == range(30, 40)
    assert ShardPlan(100, 1, 2).tracked(0) == ShardPlan(100, 1, 2).kept(0) == range(100)
    aligned = ShardPlan(1000, 2, 75, align=5)  # 462 -> 460: re-linking samples colours on the same frames
    assert [aligned.tracked(k) for k in range(2)] == [range(535), range(460, 1000)]
    with pytest.raises(Exception, match="longer than a chunk"):
        ShardPlan(100, 3, 34)
    with pytest.raises(Exception, match="at least 1"):
        ShardPlan(100, 0, 10)


def test_default_overlap_is_three_seconds_at_most_half_a_chunk(clip, tmp_path):
    job = SequenceJob(clip["name"], str(clip["video"]))
    assert plan_for(job, _config(), 2, None) == ShardPlan(FRAMES, 2, 12, 5)  # 3 s = 75 frames > half of 24
    assert plan_for(job, _config(), 2, 5) == ShardPlan(FRAMES, 2, 5, 5)
    long = tmp_path / "long.mp4"
    with VideoWriter(long, 10, (32, 32)) as writer:
        for _ in range(200):
            writer.write(np.zeros((32, 32, 3), np.uint8))
    assert plan_for(SequenceJob("long", str(long)), _config(), 2, None).overlap == 30  # 3 s at 10 fps


def _chunks(clip, tmp_path, plan):
    """The chunks' partial files of ``plan``, tracked one after another in this process."""
    pipeline = Pipeline(_config(), poses=str(clip["poses"]))
    partials = []
    for k in range(plan.shards):
        chunk = Chunk(plan.tracked(k), tmp_path / "stop")
        result = SequenceRun(pipeline, SequenceJob(f"chunk{k}", str(clip["video"])), tmp_path,
                             SequenceOptions(False, "posetrack18", chunk=chunk)).run()
        partials.append(result.json_path)
    return partials


def _config():
    from posetrack.config import PipelineConfig, load_config

    return load_config(PipelineConfig, None, ["run.quiet=true", "video.write=false"])


def test_stitching_real_tracks_gives_the_single_run(clip, tmp_path, capsys):
    """Chunks tracked from a standing start, stitched: the ids of one continuous run (after renumbering)."""
    plan = ShardPlan(FRAMES, 3, 8)
    partials = _chunks(clip, tmp_path, plan)
    later = list(chunk_records(partials[1], plan.matched(0)))
    earlier = list(chunk_records(partials[0], plan.matched(0)))
    same = match_tracks(earlier, later)
    assert len(same) == len({t for r in later for t in r["track_ids"]}) > 0  # everyone there is someone before
    # Each later track is paired with the earlier track holding the same pose in the same frame.
    for ra, rb in zip(earlier, later):
        for tb, kb in zip(rb["track_ids"], rb["keypoints"]):
            ta = ra["track_ids"][ra["keypoints"].index(kb)]
            assert same[tb] == ta
    # Shuffled ids in the later chunk are undone; a person the earlier chunk never saw is new.
    shuffled = [dict(r, track_ids=[t + 100 for t in r["track_ids"]]) for r in later]
    assert match_tracks(earlier, shuffled) == {t + 100: a for t, a in same.items()}
    assert match_tracks([dict(r, track_ids=[], keypoints=[], boxes=[]) for r in earlier], later) == {}

    merged = tmp_path / "merged.partial.jsonl"
    stats = merge_chunks(plan, partials, merged, clip["name"])
    records = list(read_partial(merged)[1])
    assert [r["i"] for r in records] == list(range(FRAMES))
    single_dir = single(clip, tmp_path, capsys, video=False)
    truth = posetrack18.read_sequence(single_dir / f"{clip['name']}.json")
    assert stats["matched"] > 0
    for frame, record in zip(truth.frames, records):  # same people, same poses, same ids up to renumbering
        assert record["image_id"] == frame.image_id
        np.testing.assert_allclose(np.reshape(record["keypoints"], (-1, 17, 3))[..., :2], frame.keypoints[..., :2],
                                   atol=0.01)
    # compact, in order of first appearance, as one continuous run
    assert [r["track_ids"] for r in records] == first_appearance(truth)


@pytest.mark.slow
def test_two_local_shards_write_what_one_process_writes(clip, tmp_path, capsys):
    """``--shards 2``: the same JSON as one process, one overlay with every frame, no file left behind."""
    single_dir = single(clip, tmp_path, capsys)
    out = tmp_path / "shards"
    code, stdout, err = run(capsys, clip["video"], "-o", out, "--poses", clip["poses"], "--shards", 2,
                            "--shard-overlap", 10)
    assert code == 0, err
    name = clip["name"]
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.json", f"{name}.mp4"]
    assert_same_up_to_ids(single_dir / f"{name}.json", out / f"{name}.json")
    assert video_facts(out / f"{name}.mp4")[4] == FRAMES
    assert f"{FRAMES} frames" in stdout


@pytest.mark.slow
def test_torchrun_two_ranks_agree_with_one_process(clip, tmp_path, capsys):
    single_dir = single(clip, tmp_path, capsys)
    out = tmp_path / "torchrun"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                str(_free_port()), "-m", "posetrack", "run", str(clip["video"]), "-o", str(out), "--poses",
                str(clip["poses"]), "--shard-overlap", "12"]
    proc = subprocess.run(torchrun, check=False, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    name = clip["name"]
    assert_same_up_to_ids(single_dir / f"{name}.json", out / f"{name}.json")
    assert video_facts(out / f"{name}.mp4")[4] == FRAMES
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.json", f"{name}.mp4"]


def test_bad_shards_and_overlap_are_one_line(clip, tmp_path, capsys):
    code, _, err = run(capsys, clip["video"], "-o", tmp_path, "--poses", clip["poses"], "--shards", 0)
    assert code != 0 and err.strip().count("\n") == 0 and "--shards 0: give at least 1" in err
    code, _, err = run(capsys, clip["video"], "-o", tmp_path, "--poses", clip["poses"], "--shards", 2,
                       "--shard-overlap", 30)
    assert code != 0 and err.strip().count("\n") == 0
    assert "--shard-overlap 30 frames is longer than a chunk (24 frames" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_failed_shard_is_named_and_nothing_is_written(clip, tmp_path, capsys):
    """An image folder whose last frame has another size: the second shard fails, the run writes nothing."""
    frames = tmp_path / clip["name"]
    shutil.copytree(clip["images"], frames)
    last = max(frames.iterdir())
    cv2.imwrite(str(last), np.zeros((100, 100, 3), np.uint8))
    out = tmp_path / "out"
    code, _, err = run(capsys, frames, "-o", out, "--poses", clip["poses"], "--shards", 2, "--shard-overlap", 4)
    assert code != 0 and err.strip().count("\n") == 0, err
    second = ShardPlan(FRAMES, 2, 4, align=5).tracked(1)
    assert f"shard 2 of 2 (frames {second.start}-{FRAMES - 1}) failed: " in err and "100x100" in err
    assert "nothing was written" in err
    assert not list(out.iterdir())


def test_join_videos_remuxes_parts_of_one_encoder_setting(tmp_path):
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(12)]
    parts = []
    for k, (a, b) in enumerate([(0, 5), (5, 12)]):
        with VideoWriter(tmp_path / f"p{k}.mp4", 25, (64, 48)) as writer:
            for f in frames[a:b]:
                writer.write(f)
        parts.append(tmp_path / f"p{k}.mp4")
    assert join_videos(parts, tmp_path / "joined.mp4") == "remux"
    assert video_facts(tmp_path / "joined.mp4")[1:] == (64, 48, 25.0, 12)
    with VideoWriter(tmp_path / "other.mp4", 25, (32, 24)) as writer:  # another size: packets cannot be copied
        for f in frames[5:]:
            writer.write(cv2.resize(f, (32, 24)))
    assert join_videos([parts[0], tmp_path / "other.mp4"], tmp_path / "mixed.mp4") == "re-encode"
    assert video_facts(tmp_path / "mixed.mp4")[1:] == (64, 48, 25.0, 12)


def test_a_chunk_stops_once_another_shard_failed(clip, tmp_path):
    """The stop file a failed shard writes ends the other chunks within STOP_CHECK_FRAMES frames."""
    stop = tmp_path / "stop"
    stop.touch()
    chunk = Chunk(range(8, 40), stop)
    run_ = SequenceRun(Pipeline(_config(), poses=str(clip["poses"])), SequenceJob("chunk", str(clip["video"])),
                       tmp_path, SequenceOptions(False, "posetrack18", chunk=chunk))
    with pytest.raises(ShardStopped, match="stopped at frame 8: another shard failed"):
        run_.run()
    assert run_.frames == 0
