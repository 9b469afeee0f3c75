import json

import numpy as np
import pytest

from posetrack.errors import PosetrackError
from posetrack.formats import (coco, image_id_for, parse_file_name, posetrack17, posetrack18, prediction_template,
                               read_sequence_any, sequence_file_name)
from posetrack.types import Frame, Sequence

NAME = "000342_mpii_test"


def _sequence(n_frames=3, people=2, seed=0) -> Sequence:
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(n_frames):
        file_name = sequence_file_name(342, t)
        kpts = np.concatenate([rng.uniform(1, 500, (people, 17, 2)), rng.uniform(0.1, 1, (people, 17, 1))], -1)
        kpts[:, 3:5] = 0  # ears: never evaluated, absent
        kpts[0, 9] = 0    # a joint not predicted
        xy = rng.uniform(0, 400, (people, 2))
        frames.append(Frame(
            file_name=file_name, image_id=image_id_for(file_name), keypoints=kpts.astype(np.float32),
            boxes=np.concatenate([xy, xy + 80], 1).astype(np.float32), scores=np.full(people, 0.9, np.float32),
            track_ids=np.arange(people) + 10 * t, head_boxes=np.concatenate([xy, xy + 20], 1).astype(np.float32),
            ignore_regions=[np.array([[0, 0], [50, 0], [50, 40]], np.float32)] if t == 1 else [],
            width=1280, height=720))
    frames.append(Frame(file_name=sequence_file_name(342, n_frames), image_id=image_id_for(
        sequence_file_name(342, n_frames)), is_labeled=False))
    return Sequence(NAME, frames, vid_id=342)


def _assert_same(a: Sequence, b: Sequence, slots=slice(None)):
    assert [f.file_name for f in a.frames] == [f.file_name for f in b.frames]
    assert [f.image_id for f in a.frames] == [f.image_id for f in b.frames]
    for fa, fb in zip(a.frames, b.frames):
        np.testing.assert_allclose(fa.keypoints[:, slots], fb.keypoints[:, slots], rtol=1e-6, atol=1e-4)
        np.testing.assert_array_equal(fa.track_ids, fb.track_ids)
        np.testing.assert_allclose(fa.head_boxes, fb.head_boxes, atol=1e-4)
        assert len(fa.ignore_regions) == len(fb.ignore_regions)
        for ra, rb in zip(fa.ignore_regions, fb.ignore_regions):
            np.testing.assert_allclose(ra, rb)
        assert fa.is_labeled == fb.is_labeled


def test_posetrack18_round_trip(tmp_path):
    seq = _sequence()
    path = tmp_path / f"{NAME}.json"
    posetrack18.write_sequence(path, seq)
    back = posetrack18.read_sequence(path)
    assert back.name == NAME and back.vid_id == 342
    _assert_same(seq, back)
    np.testing.assert_allclose(back.frames[0].boxes, seq.frames[0].boxes, atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the temporary file was renamed away


def test_posetrack18_file_is_what_poseval_reads(tmp_path):
    seq = _sequence()
    posetrack18.write_sequence(tmp_path / "s.json", seq)
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["categories"][0]["name"] == "person" and len(data["categories"][0]["keypoints"]) == 17
    assert [im["file_name"] for im in data["images"]] == [f.file_name for f in seq.frames]
    first = data["annotations"][0]
    assert first["keypoints"][9 * 3:9 * 3 + 3] == [0, 0, 0]  # not predicted -> 0, 0, 0
    assert first["keypoints"][5 * 3 + 2] == 1 and len(first["scores"]) == 17
    assert len(first["bbox_head"]) == 4 and all(isinstance(a["track_id"], int) for a in data["annotations"])
    assert data["images"][1]["ignore_regions_x"] == [[0, 50, 50]]


def test_posetrack17_round_trip_and_conversion(tmp_path):
    seq = _sequence()
    posetrack17.write_sequence(tmp_path / "a.json", seq)
    from_17 = read_sequence_any(tmp_path / "a.json")
    evaluated = [i for i in range(17) if i not in (3, 4)]  # 2017 has no ear slots
    _assert_same(seq, from_17, evaluated)
    posetrack18.write_sequence(tmp_path / "b.json", from_17)
    _assert_same(seq, read_sequence_any(tmp_path / "b.json"), evaluated)
    data = json.loads((tmp_path / "a.json").read_text())
    assert "annolist" in data and data["annolist"][0]["annorect"][0]["x1"] == [seq.frames[0].head_boxes[0, 0]]
    ids = sorted(p["id"][0] for p in data["annolist"][0]["annorect"][0]["annopoints"][0]["point"])
    assert ids == sorted(set(range(15)) - {11})  # slot 9 (left_wrist) = poseval id 11 was not predicted


def test_unknown_track_ids_become_unique_and_large_ids_are_refused(tmp_path):
    seq = _sequence(1)
    seq.frames[0].track_ids = np.array([-1, 0])
    posetrack18.write_sequence(tmp_path / "s.json", seq)
    assert sorted(posetrack18.read_sequence(tmp_path / "s.json").frames[0].track_ids) == [0, 1]
    seq.frames[0].track_ids = np.array([10000, 1])
    with pytest.raises(PosetrackError, match="10000"):
        posetrack18.write_sequence(tmp_path / "t.json", seq)
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize("edit, field", [
    (lambda d: d.pop("categories"), "categories"),
    (lambda d: d["categories"][0].update(keypoints=["nose", "left_eye"] + ["x"] * 15), "categories[0].keypoints"),
    (lambda d: d["annotations"][1].update(keypoints=[1, 2, 3]), "annotations[1].keypoints"),
    (lambda d: d["annotations"][0].update(image_id=123), "annotations[0].image_id"),
    (lambda d: d["annotations"][0].update(track_id="a"), "annotations[0].track_id"),
    (lambda d: d["images"][0].pop("file_name"), "images[0]"),
])
def test_reader_names_file_and_field(tmp_path, edit, field):
    posetrack18.write_sequence(tmp_path / "s.json", _sequence())
    data = json.loads((tmp_path / "s.json").read_text())
    edit(data)
    (tmp_path / "s.json").write_text(json.dumps(data))
    with pytest.raises(PosetrackError) as err:
        posetrack18.read_sequence(tmp_path / "s.json")
    assert "s.json" in str(err.value) and field in str(err.value) and "\n" not in str(err.value)


def test_reader_errors_for_bad_files(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(PosetrackError, match="x.json: not valid JSON"):
        read_sequence_any(tmp_path / "x.json")
    with pytest.raises(PosetrackError, match="not found"):
        read_sequence_any(tmp_path / "missing.json")
    (tmp_path / "y.json").write_text(json.dumps({"annolist": [{"image": [{"name": "a/b.jpg"}],
                                                               "annorect": [{"annopoints": [{"point": [
                                                                   {"id": [20], "x": [1], "y": [2]}]}]}]}]}))
    with pytest.raises(PosetrackError, match=r"annolist\[0\].annorect\[0\].annopoints\[0\].point\[0\].id"):
        read_sequence_any(tmp_path / "y.json")


def test_prediction_template_and_file_names():
    gt = _sequence()
    pred = prediction_template(gt)
    assert [(f.file_name, f.image_id) for f in pred.frames] == [(f.file_name, f.image_id) for f in gt.frames]
    assert all(len(f) == 0 for f in pred.frames) and pred.name == gt.name
    assert sequence_file_name(342, 7) == "images/val/000342_mpii_test/000007.jpg"
    assert parse_file_name("images/val/000342_mpii_test/000007.jpg") == ("000342_mpii_test", 1000342, 7)
    assert image_id_for("images/val/000342_mpii_test/000007.jpg") == 10003420007
    assert parse_file_name("images/val/video/000007.jpg") is None


def test_coco_results_and_annotations(tmp_path):
    kpts = np.arange(51, dtype=np.float32).reshape(17, 3)
    coco.write_results(tmp_path / "r.json", [coco.result_entry(5, kpts, 0.7, bbox_xyxy=[1, 2, 11, 22])])
    (entry,) = coco.read_results(tmp_path / "r.json")
    assert entry["image_id"] == 5 and entry["bbox"] == [1, 2, 10, 20]
    np.testing.assert_array_equal(entry["keypoints"], kpts)
    with pytest.raises(PosetrackError, match="51 numbers"):
        coco.write_results(tmp_path / "bad.json", [{"image_id": 1, "keypoints": [1, 2, 3], "score": 1}])
    gt = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}, {"id": 2, "file_name": "b.jpg"}],
          "annotations": [{"image_id": 1, "keypoints": kpts.reshape(-1).tolist(), "bbox": [0, 0, 4, 4],
                           "iscrowd": 0},
                          {"image_id": 1, "keypoints": [0] * 51, "bbox": [0, 0, 9, 9], "iscrowd": 1}],
          "categories": [{"id": 1, "name": "person"}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    seq = coco.read_annotations(tmp_path / "gt.json")
    assert seq.layout == "coco17" and [len(f) for f in seq.frames] == [1, 0]
    np.testing.assert_array_equal(seq.frames[0].boxes, [[0, 0, 4, 4]])
    assert [len(f) for f in coco.read_annotations(tmp_path / "gt.json", include_crowd=True).frames] == [2, 0]
