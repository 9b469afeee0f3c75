"""Hand-computed PoseTrack evaluation cases (poseval's numbers, quirks included).

People are a 15-joint skeleton; every head box is 30 x 40 px, so the PCKh unit is 0.6 x 50 = 30 px and a joint
is correct within 15 px. People stand 400 px apart so that no joint can pair with another person.
"""
import json

import numpy as np
import pytest

from posetrack.cli import main
from posetrack.eval import evaluate
from posetrack.formats import image_id_for, posetrack17, posetrack18, sequence_file_name
from posetrack.types import Frame, Sequence

EAR = [3, 4]
WRISTS = [9, 10]  # posetrack18 slots of left/right wrist
RNG = np.random.default_rng(0)
TEMPLATE = RNG.uniform(-60, 60, (17, 2))


def person(x: float, y: float = 300.0) -> np.ndarray:
    k = np.zeros((17, 3), np.float32)
    k[:, :2] = TEMPLATE + [x, y]
    k[:, 2] = 1
    k[EAR] = 0
    return k


def frame(t: int, xs, ids=None, vid=342, scores=None, regions=()) -> Frame:
    name = sequence_file_name(vid, t)
    kpts = np.array([person(x) for x in xs], np.float32).reshape(len(xs), 17, 3)
    if scores is not None:
        kpts[..., 2] = np.where(kpts[..., 2] > 0, np.asarray(scores, np.float32)[:, None], 0)
    heads = np.array([[x - 15, 200, x + 15, 240] for x in xs], np.float32).reshape(len(xs), 4)
    return Frame(file_name=name, image_id=image_id_for(name), keypoints=kpts,
                 track_ids=np.array(ids if ids is not None else range(len(xs)), np.int64), head_boxes=heads,
                 scores=np.ones(len(xs), np.float32), ignore_regions=list(regions))


def seq(frames, vid=342) -> Sequence:
    return Sequence(f"{vid:06d}_mpii_test", frames)


def two_people(n: int, **kw) -> Sequence:
    return seq([frame(t, [100, 500], **kw) for t in range(n)])


def totals(r):
    return r["ap"]["total"], r["mota"]["total"], r["precision"]["total"], r["recall"]["total"]


def test_perfect_predictions_score_100():
    gt = two_people(6)
    r = evaluate([gt], [gt])
    assert totals(r) == (100, 100, 100, 100) and r["motp"]["total"] == 100
    assert all(v == 100 for v in r["ap"].values()) and all(v == 100 for v in r["mota"].values())


def test_known_pixel_noise():
    gt = two_people(5)
    pred = two_people(5)
    for f in pred.frames:
        f.keypoints[..., 0] += 5            # 5 px = 1/6 head size: correct
        f.keypoints[:, WRISTS, 0] += 15     # wrists 20 px off: beyond 0.5 head size
    r = evaluate([gt], [pred])
    assert r["ap"]["wrist"] == 0 and r["ap"]["elbow"] == 100
    assert r["ap"]["total"] == pytest.approx(13 / 15 * 100)
    # Each wrist object is missed and each wrist hypothesis is a false positive: MOTA 1 - 2 = -100.
    assert r["mota"]["wrist"] == pytest.approx(-100) and r["mota"]["knee"] == 100
    assert r["mota"]["total"] == pytest.approx((13 * 100 - 2 * 100) / 15)
    # MOTP over the 13 matched joints: 1 - (5/30); the wrists have no match (NaN, skipped).
    assert r["motp"]["total"] == pytest.approx(100 * (1 - 5 / 30))
    assert r["precision"]["total"] == pytest.approx(13 / 15 * 100)


def test_ids_swapped_mid_sequence_lower_mota_only():
    gt = two_people(10)
    pred = seq([frame(t, [100, 500], ids=[0, 1] if t < 5 else [1, 0]) for t in range(10)])
    r = evaluate([gt], [pred])
    assert r["ap"]["total"] == 100 and r["precision"]["total"] == 100 and r["recall"]["total"] == 100
    # 9 frames scored (the last is skipped), 18 objects per joint, 2 switches at frame 5.
    assert r["mota"]["total"] == pytest.approx(100 * (1 - 2 / 18))


def test_missing_person():
    gt = two_people(10)
    pred = seq([frame(t, [100]) for t in range(10)])
    r = evaluate([gt], [pred])
    assert r["ap"]["total"] == pytest.approx(50)
    assert r["mota"]["total"] == pytest.approx(50) and r["recall"]["total"] == pytest.approx(50)
    assert r["precision"]["total"] == 100


def test_extra_person_inside_and_outside_ignore_region():
    region = np.array([[700, 100], [1100, 100], [1100, 500], [700, 500]], np.float32)
    gt = seq([frame(t, [100, 900], regions=[region]) for t in range(6)])  # the GT person at 900 is ignored too
    inside = seq([frame(t, [100, 900], scores=[0.5, 0.9]) for t in range(6)])
    r = evaluate([gt], [inside])
    assert totals(r) == (100, 100, 100, 100)
    outside = seq([frame(t, [100, 500], scores=[0.5, 0.9]) for t in range(6)])
    r = evaluate([gt], [outside])
    # The extra person outscores the true one: precision k / (6 + k) at recall k / 6, envelope 1/2 -> AP 50.
    assert r["ap"]["total"] == pytest.approx(50)
    assert r["mota"]["total"] == pytest.approx(0) and r["precision"]["total"] == pytest.approx(50)


def test_frame_without_predictions_uses_the_fake_pair():
    gt = two_people(18)
    pred = two_people(18)
    empty = pred.frames[7]
    empty.keypoints, empty.track_ids = empty.keypoints[:0], empty.track_ids[:0]
    r = evaluate([gt], [pred])
    # poseval feeds 1 fake object and 1 fake hypothesis for that frame: 16*2 + 1 objects, 1 miss + 1 FP.
    assert r["mota"]["total"] == pytest.approx(100 * (1 - 2 / 33))
    assert r["ap"]["total"] == pytest.approx(100 * 17 / 18)


def test_partially_labelled_sequence_costs_nothing_on_unlabelled_frames():
    gt = seq([frame(t, [100, 500]) if t % 4 == 0 else frame(t, []) for t in range(13)])
    for f in gt.frames:
        f.is_labeled = len(f) > 0
    pred = seq([frame(t, [100, 500, 900] if t % 4 else [100, 500]) for t in range(13)])  # junk when unlabelled
    r = evaluate([gt], [pred])
    assert totals(r) == (100, 100, 100, 100)


def test_last_labelled_frame_is_skipped_for_mot():
    gt = two_people(5)
    pred = seq([frame(t, [100, 500] if t < 4 else [100]) for t in range(5)])
    r = evaluate([gt], [pred])
    assert r["ap"]["total"] == pytest.approx(90)  # 9 of 10 people found
    assert r["mota"]["total"] == 100              # ... but poseval never scores the last frame's tracking


def test_min_joint_score_affects_mota_only():
    gt = two_people(6)
    pred = seq([frame(t, [100, 500, 900], scores=[0.9, 0.9, 0.1]) for t in range(6)])
    plain = evaluate([gt], [pred])
    thresholded = evaluate([gt], [pred], min_joint_score=0.5)
    assert plain["ap"] == thresholded["ap"] and plain["ap"]["total"] == 100
    assert plain["mota"]["total"] == pytest.approx(50) and thresholded["mota"]["total"] == 100


def test_fast_mot_engine_equals_motmetrics():
    rng = np.random.default_rng(3)
    gts, preds = [], []
    for vid in (1, 2):
        g, p = [], []
        for t in range(15):
            xs = [100, 400, 700, 1000][: rng.integers(1, 5)]
            g.append(frame(t, xs, vid=vid))
            jitter = [x + rng.normal(0, 10) for x in xs if rng.random() > 0.2] + [x + 30 for x in xs[:1]]
            ids = rng.permutation(6)[: len(jitter)] if rng.random() < 0.3 else np.arange(len(jitter))
            f = frame(t, jitter, ids=ids, vid=vid, scores=rng.uniform(0.1, 1, len(jitter)))
            f.keypoints[..., :2] += rng.normal(0, 6, f.keypoints[..., :2].shape).astype(np.float32)
            p.append(f)
        gts.append(seq(g, vid))
        preds.append(seq(p, vid))
    fast = evaluate(gts, preds, mot_engine="fast")
    slow = evaluate(gts, preds, mot_engine="motmetrics")
    for key in ("mota", "motp", "precision", "recall"):
        np.testing.assert_allclose(fast["per_joint"][key], slow["per_joint"][key], rtol=0, atol=1e-9)
    assert fast["motp_poseval"]["total"] == pytest.approx(slow["motp_poseval"]["total"], abs=1e-9)
    assert -100 < fast["mota"]["total"] < 100


def test_2017_and_2018_files_score_alike(tmp_path):
    gt, pred = two_people(6), seq([frame(t, [100 + 4 * t, 500]) for t in range(6)])
    for year, module in (("17", posetrack17), ("18", posetrack18)):
        module.write_sequence(tmp_path / year / "gt" / f"{gt.name}.json", gt)
        module.write_sequence(tmp_path / year / "pred" / f"{gt.name}.json", pred)
    out = []
    for year in ("17", "18"):
        assert main(["eval", str(tmp_path / year / "gt"), str(tmp_path / year / "pred"),
                     "--json", str(tmp_path / f"{year}.json")]) == 0
        out.append(json.loads((tmp_path / f"{year}.json").read_text()))
    assert out[0] == out[1]
    assert set(out[0]) >= {"ap", "mota", "motp", "precision", "recall"}
    assert set(out[0]["ap"]) == {"head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "total"}


def test_cli_tables_and_gt_against_itself(tmp_path, capsys):
    posetrack18.write_sequence(tmp_path / "gt" / "000342_mpii_test.json", two_people(4))
    posetrack18.write_sequence(tmp_path / "gt" / "000343_mpii_test.json", seq([frame(t, [50]) for t in range(4)],
                                                                               vid=343))
    assert main(["eval", str(tmp_path / "gt"), str(tmp_path / "gt"), "--per-sequence"]) == 0
    out = capsys.readouterr().out
    assert "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total\\\\" in out
    assert "&100.0 &100.0 &100.0 &100.0 &100.0 &100.0 &100.0 &100.0 \\\\" in out
    assert "Sequence 000343_mpii_test" in out and "MOTP" in out


def _refusal(tmp_path, capsys, pred_edit, *extra):
    gt = two_people(4)
    posetrack18.write_sequence(tmp_path / "gt" / f"{gt.name}.json", gt)
    (tmp_path / "pred").mkdir()
    pred = two_people(4)
    if pred_edit(pred) is not False:
        posetrack18.write_sequence(tmp_path / "pred" / f"{gt.name}.json", pred)
    code = main(["eval", str(tmp_path / "gt"), str(tmp_path / "pred"), *extra])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.frames.reverse(), "image 0 is"),
    (lambda p: p.frames.pop(), "lists 3 images, the ground truth 4"),
    (lambda p: False, "prediction file missing"),
])
def test_cli_refusals_are_one_line(tmp_path, capsys, edit, message):
    code, err = _refusal(tmp_path, capsys, edit)
    assert code != 0 and message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("ids, message", [((12000, 1), "track id 12000 >= 10000"),
                                         ((4, 4), "track id 4 is used twice")])
def test_cli_refuses_bad_track_ids(tmp_path, capsys, ids, message):
    gt = two_people(3)
    posetrack18.write_sequence(tmp_path / "gt" / f"{gt.name}.json", gt)
    data = json.loads((tmp_path / "gt" / f"{gt.name}.json").read_text())
    # Our writer refuses such ids; someone else's may not.
    data["annotations"][0]["track_id"], data["annotations"][1]["track_id"] = ids
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / f"{gt.name}.json").write_text(json.dumps(data))
    assert main(["eval", str(tmp_path / "gt"), str(tmp_path / "pred")]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_as_empty(tmp_path, capsys):
    code, _ = _refusal(tmp_path, capsys, lambda p: False, "--missing-as-empty", "--json", str(tmp_path / "r.json"))
    r = json.loads((tmp_path / "r.json").read_text())
    # Nothing predicted: AP 0; every frame is a fake pair: 1 miss + 1 FP per object -> MOTA -100.
    assert code == 0 and r["ap"]["total"] == 0 and r["mota"]["total"] == pytest.approx(-100)


def test_coco_ap(tmp_path, capsys):
    from posetrack.eval import coco_ap
    from posetrack.formats import coco

    k = np.zeros((17, 3))
    k[:, :2] = TEMPLATE + 200
    k[:, 2] = 2
    gt = {"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": k.reshape(-1).tolist(),
                           "num_keypoints": 17, "bbox": [130, 130, 140, 140], "area": 140 * 140, "iscrowd": 0}],
          "categories": [{"id": 1, "name": "person"}]}
    assert coco_ap(gt, [coco.result_entry(1, k, 0.9)])["AP"] == pytest.approx(100)
    far = k.copy()
    far[:, :2] += 100
    assert coco_ap(gt, [coco.result_entry(1, far, 0.9)])["AP"] == pytest.approx(0)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    coco.write_results(tmp_path / "res.json", [coco.result_entry(1, k, 0.9)])
    assert main(["eval-coco", str(tmp_path / "gt.json"), str(tmp_path / "res.json"),
                 "--json", str(tmp_path / "out.json")]) == 0
    assert "AP50" in capsys.readouterr().out
    assert json.loads((tmp_path / "out.json").read_text())["AP"] == pytest.approx(100)


def test_coco_ap_stays_callable_after_use():
    import posetrack.eval

    posetrack.eval.coco_ap({"images": [], "annotations": [], "categories": [{"id": 1, "name": "person"}]}, [])
    assert callable(posetrack.eval.coco_ap)  # a submodule of the same name once replaced it after the first call
