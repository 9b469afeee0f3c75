"""PoseTrack21: format round trip, keypoint HOTA / mAP and box HOTA / MOTA / IDF1 on cases computed by hand, the
kit's quirks, and the refusals (one line, exit code 2, nothing written)."""
import copy
import json

import numpy as np
import pytest

from posetrack.cli import main
from posetrack.eval.box_mot import evaluate_box_mot, load_mot
from posetrack.eval.pt21 import read_file
from posetrack.eval.pt21_eval import detect_benchmark, evaluate_pt21
from posetrack.formats import mot, posetrack21, read_sequence_any
from posetrack.types import Frame, Sequence

# A standing person in posetrack18 slots (slots 3/4 unused), head box 20 x 20 px: head size 0.6 * hypot(20, 20).
_POSE = np.array([[50, 20], [50, 28], [50, 10], [0, 0], [0, 0], [40, 30], [60, 30], [35, 45], [65, 45],
                  [33, 60], [67, 60], [45, 62], [55, 62], [45, 80], [55, 80], [45, 98], [55, 98]], float)
HEAD = 0.6 * np.hypot(20, 20)


def _person(dx=0.0, present=None):
    k = np.zeros((17, 3))
    k[:, :2] = _POSE + [dx, 0]
    k[:, 2] = 1
    k[[3, 4]] = 0
    if present is not None:
        k[~present] = 0
    return k


def _image(t, labeled=True, regions=()):
    return {"id": 1000 + t, "file_name": f"images/val/000001_mpii_test/{t:06d}.jpg", "is_labeled": labeled,
            "ignore_regions_x": [[p[0] for p in r] for r in regions],
            "ignore_regions_y": [[p[1] for p in r] for r in regions]}


def _ann(t, tid, kpts, gt=True):
    a = {"image_id": 1000 + t, "track_id": tid, "keypoints": np.asarray(kpts, float).reshape(-1).tolist()}
    if gt:
        a["bbox_head"] = [40.0, 8.0, 20.0, 20.0]
        a["person_id"] = tid
    else:
        a["scores"] = [0.9] * 17
    return a


def _files(gt_people, pr_people, labeled=None, regions=None):
    """Ground truth and prediction dicts: ``*_people[t]`` lists ``(track id, keypoints)`` of frame t."""
    n = len(gt_people)
    images = [_image(t, True if labeled is None else labeled[t], (regions or {}).get(t, ())) for t in range(n)]
    gt = {"images": images, "annotations": [_ann(t, i, k) for t in range(n) for i, k in gt_people[t]],
          "categories": posetrack21.categories()}
    pr = {"images": copy.deepcopy(images),
          "annotations": [_ann(t, i, k, gt=False) for t in range(n) for i, k in pr_people[t]]}
    return gt, pr


def _score(gt, pr, **kw):
    return evaluate_pt21([("000001_mpii_test", read_file(gt, "gt", True), read_file(pr, "pr", False))], **kw)


def test_perfect_prediction_scores_100_everywhere():
    people = [[(0, _person()), (1, _person(100))] for _ in range(3)]
    r = _score(*_files(people, people))
    for key in ("hota", "deta", "assa", "loca", "detre", "detpr", "assre", "asspr", "ap"):
        assert r[key]["total"] == pytest.approx(100.0)


def test_id_switch_halves_association_by_the_jaccard_definition():
    # GT track 0 on 4 frames; the prediction calls it 7 on frames 0-1 and 8 on frames 2-3, exact joints.
    gt_people = [[(0, _person())] for _ in range(4)]
    pr_people = [[(7 if t < 2 else 8, _person())] for t in range(4)]
    r = _score(*_files(gt_people, pr_people))
    # Each TP's pair has M = 2 matches, gt_count 4, pr_count 2: Jaccard 2 / (4 + 2 - 2) = 0.5 at every alpha.
    assert r["assa"]["total"] == pytest.approx(50.0)
    assert r["deta"]["total"] == pytest.approx(100.0)
    assert r["hota"]["total"] == pytest.approx(100 * np.sqrt(0.5))
    assert r["assre"]["total"] == pytest.approx(50.0)   # M / gt_count
    assert r["asspr"]["total"] == pytest.approx(100.0)  # M / pr_count


def test_similarity_is_clipped_at_pckh_half_and_locA_follows():
    # Every predicted joint 0.3 head sizes off: PCKh says correct (mAP 100) but the kit's similarity is
    # 1 - 0.3 / 0.5001, a TP only for alphas <= that value.
    d = 0.3
    shifted = _person()
    shifted[:, 0] += np.where(shifted[:, 2] > 0, d * HEAD, 0)
    r = _score(*_files([[(0, _person())]] * 2, [[(3, shifted)]] * 2))
    sim = 1 - d / 0.5001
    alphas = np.arange(0.05, 0.99, 0.05)
    tp_share = np.mean(alphas <= sim + 1e-12)  # fraction of alphas at which each joint is a TP
    deta = np.where(alphas <= sim, 1.0, 0.0)
    assert r["ap"]["total"] == pytest.approx(100.0)
    assert r["deta"]["total"] == pytest.approx(100 * tp_share)
    # LocA is the mean similarity of TPs where there are any, and 1 (quirk 4) where there are none.
    assert r["loca"]["total"] == pytest.approx(100 * np.mean(np.where(deta > 0, sim, 1.0)))


def test_frame_without_predictions_adds_the_whole_sequence_to_fn_unless_fixed():
    # 3 labeled frames of one person with 15 joints; no prediction on frame 1, exact ones elsewhere.
    gt_people = [[(0, _person())]] * 3
    pr_people = [[(0, _person())], [], [(0, _person())]]
    kit = _score(*_files(gt_people, pr_people))
    fixed = _score(*_files(gt_people, pr_people), fix_known_bugs=True)
    # Per joint: TP 2; FN = 3 (the sequence's count of that joint) with the kit, 1 (the frame's) fixed.
    assert kit["deta"]["total"] == pytest.approx(100 * 2 / 5)
    assert fixed["deta"]["total"] == pytest.approx(100 * 2 / 3)
    assert fixed["fix_known_bugs"] and not kit["fix_known_bugs"]


def test_unlabeled_frames_and_box_only_people_cost_nothing():
    gt_people = [[(0, _person())], [(0, np.zeros((17, 3))), (5, np.zeros((17, 3)))], [(0, _person())]]
    pr_people = [[(0, _person())], [(0, _person(200)), (9, _person(300))], [(0, _person())]]
    r = _score(*_files(gt_people, pr_people, labeled=[True, False, True]))
    assert r["hota"]["total"] == pytest.approx(100.0)
    assert r["ap"]["total"] == pytest.approx(100.0)


def test_ignore_region_removes_joints_and_people_on_both_sides():
    # A false positive far right, entirely inside an ignore region, costs nothing; so would a missed GT person.
    region = [(150, 0), (400, 0), (400, 200), (150, 200)]
    gt_people = [[(0, _person()), (1, _person(200))]] * 2
    pr_people = [[(0, _person()), (4, _person(220))]] * 2
    r = _score(*_files(gt_people, pr_people, regions={0: [region], 1: [region]}))
    assert r["hota"]["total"] == pytest.approx(100.0)
    assert r["ap"]["total"] == pytest.approx(100.0)


def test_map_assignment_and_false_positive_by_hand():
    # One GT person, two predictions: an exact one (score 0.9) and a copy 5 head sizes away (score 0.9): per
    # joint 2 predictions, 1 TP of 1 GT joint. Ranked by (equal) score, the kit's argsort puts the FP first.
    far = _person()
    far[:, 0] += np.where(far[:, 2] > 0, 5 * HEAD, 0)
    r = _score(*_files([[(0, _person())]], [[(0, _person()), (1, far)]]))
    assert r["ap"]["total"] == pytest.approx(50.0)
    assert r["deta"]["total"] == pytest.approx(50.0)  # TP 1, FP 1 per joint and alpha


def test_integer_keypoints_truncate_scores_as_the_kit_does():
    gt, pr = _files([[(0, _person())]], [[(0, _person()), (1, _person(300))]])
    for a, s in zip(pr["annotations"], (0.9, 0.4)):
        a["scores"] = [s] * 17
    # Float keypoints: the exact prediction (0.9) ranks above the false positive (0.4): AP 100.
    assert _score(gt, pr)["ap"]["total"] == pytest.approx(100.0)
    # Integer keypoints: numpy's int array truncates both scores to 0; in the tie the reversed argsort puts the
    # false positive first: AP 50, as the kit computes it.
    for a in pr["annotations"]:
        a["keypoints"] = [int(v) for v in a["keypoints"]]
    assert _score(gt, pr)["ap"]["total"] == pytest.approx(50.0)


def _write(tmp_path, gt, pr):
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / "000001_mpii_test.json").write_text(json.dumps(gt))
    (tmp_path / "pred" / "000001_mpii_test.json").write_text(json.dumps(pr))
    return tmp_path / "gt", tmp_path / "pred"


def test_cli_detects_posetrack21_and_writes_the_json_keys(tmp_path, capsys):
    people = [[(0, _person())]] * 2
    g, p = _write(tmp_path, *_files(people, people))
    assert detect_benchmark(g) == "posetrack21"
    assert main(["eval", str(g), str(p), "--json", str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    for key in ("hota", "deta", "assa", "loca", "ap"):
        assert set(out[key]) == {"head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "total"}
        assert out[key]["total"] == pytest.approx(100.0)
    assert "Keypoint HOTA (PoseTrack21 kit)" in capsys.readouterr().out
    assert main(["eval", str(g), str(p), "--fix-known-bugs"]) == 0
    assert "--fix-known-bugs" in capsys.readouterr().out


def _refusal_cases():
    def reorder(gt, pr):
        pr["images"] = pr["images"][::-1]

    def fewer(gt, pr):
        pr["images"] = pr["images"][:1]
        pr["annotations"] = [a for a in pr["annotations"] if a["image_id"] == 1000]

    def duplicate(gt, pr):
        pr["annotations"][1]["track_id"] = pr["annotations"][0]["track_id"]
        pr["annotations"][1]["image_id"] = pr["annotations"][0]["image_id"]

    def negative(gt, pr):
        pr["annotations"][0]["track_id"] = -1

    def floating(gt, pr):
        pr["annotations"][0]["track_id"] = 1.0

    def huge(gt, pr):
        pr["annotations"][0]["track_id"] = 10 ** 12

    def coco(gt, pr):
        pr["categories"] = [{"name": "person", "keypoints": ["nose", "left_eye", "right_eye"] + ["x"] * 14}]

    def no_head(gt, pr):
        del gt["annotations"][0]["bbox_head"]

    def empty_labeled(gt, pr):
        gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] != 1000]

    return {"reordered": (reorder, "list the images in the ground truth's order"),
            "fewer images": (fewer, "the prediction lists 1 images, the ground truth 2"),
            "duplicate id": (duplicate, "is used twice in one frame"),
            "negative id": (negative, "track id -1 is not an integer"),
            "float id": (floating, "track id 1.0 is not an integer"),
            "huge id": (huge, "track id 1000000000000 is not an integer"),
            "coco order": (coco, "not the PoseTrack slot order"),
            "no bbox_head": (no_head, "needs 'bbox_head'"),
            "labeled frame without people": (empty_labeled, "is labeled but has no people")}


@pytest.mark.parametrize("case", sorted(_refusal_cases()))
def test_refusals_are_one_line_exit_2_nothing_written(tmp_path, capsys, case):
    edit, message = _refusal_cases()[case]
    gt, pr = _files([[(0, _person())], [(0, _person())]], [[(0, _person()), (1, _person(100))], [(0, _person())]])
    edit(gt, pr)
    g, p = _write(tmp_path, gt, pr)
    out = tmp_path / "out.json"
    assert main(["eval", str(g), str(p), "--benchmark", "posetrack21", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("posetrack: error: ") and err.count("\n") == 1 and message in err
    assert not out.exists()


def test_missing_prediction_and_other_split_files(tmp_path, capsys):
    people = [[(0, _person())]]
    g, p = _write(tmp_path, *_files(people, people))
    (p / "000001_mpii_test.json").rename(p / "000009_mpii_train.json")
    assert main(["eval", str(g), str(p), "--benchmark", "posetrack21"]) == 2
    assert "not sequences of" in capsys.readouterr().err
    (p / "000009_mpii_train.json").unlink()
    assert main(["eval", str(g), str(p), "--benchmark", "posetrack21"]) == 2
    assert "prediction file missing" in capsys.readouterr().err
    assert main(["eval", str(g), str(p), "--benchmark", "posetrack21", "--missing-as-empty"]) == 0
    assert "HOTA  &  0.0" in capsys.readouterr().out


def _seq(boxes_per_frame, ids_per_frame, regions=None):
    frames = []
    for t, (b, i) in enumerate(zip(boxes_per_frame, ids_per_frame)):
        b = np.asarray(b, np.float32).reshape(-1, 4)
        frames.append(Frame(file_name=f"images/val/000001_mpii_test/{t:06d}.jpg", image_id=1000 + t,
                            keypoints=np.zeros((len(b), 17, 3), np.float32), boxes=b,
                            track_ids=np.asarray(i, np.int64), scores=np.ones(len(b), np.float32),
                            head_boxes=b.copy(), ignore_regions=(regions or {}).get(t, [])))
    return Sequence("000001_mpii_test", frames, vid_id=1)


def test_box_mot_by_hand(tmp_path):
    # Two GT boxes over 4 frames; the prediction swaps the ids of track 1 from frame 2 on (one switch) and adds
    # a false positive on frame 3. MOTA = 1 - (0 FN + 1 FP + 1 IDSW) / 8 = 75; IDF1 = 2 * 6 / (8 + 9).
    a, b = [10, 10, 110, 210], [300, 10, 400, 210]
    gt = _seq([[a, b]] * 4, [[0, 1]] * 4)
    pr = _seq([[a, b], [a, b], [a, b], [a, b, [500, 300, 560, 400]]], [[0, 1], [0, 1], [0, 5], [0, 5, 9]])
    mot.write_mot_ground_truth(tmp_path / "mot", gt)
    mot.write_mot(tmp_path / "res" / "000001_mpii_test.txt", pr)
    r = evaluate_box_mot(load_mot(tmp_path / "mot", tmp_path / "res"))
    assert r["mota"]["total"] == pytest.approx(100 * (1 - 2 / 8))
    assert r["idf1"]["total"] == pytest.approx(100 * 2 * 6 / 17)
    assert r["deta"]["total"] == pytest.approx(100 * 8 / 9)  # IoU 1: TP 8, FP 1 at every alpha
    assert r["loca"]["total"] == pytest.approx(100.0)
    # AssA: GT 1 has 4 dets, matched twice to 1 (2 dets) and twice to 5 (2 dets): Jaccard 2/4 each; GT 0: 1.
    assert r["assa"]["total"] == pytest.approx(100 * (4 * 1 + 4 * 0.5) / 8)
    assert detect_benchmark(tmp_path / "mot") == "posetrack21-mot"


def test_box_false_positive_in_ignore_region(tmp_path):
    a = [10, 10, 110, 210]
    region = [np.array([[400, 0], [700, 0], [700, 400], [400, 400]], np.float32)]
    gt = _seq([[a]] * 2, [[0]] * 2, regions={0: region, 1: region})
    pr = _seq([[a, [450, 50, 550, 250]]] * 2, [[0, 3]] * 2)
    mot.write_mot_ground_truth(tmp_path / "mot", gt)
    mot.write_mot(tmp_path / "res" / "000001_mpii_test.txt", pr)
    seqs = load_mot(tmp_path / "mot", tmp_path / "res")
    assert evaluate_box_mot(seqs)["hota"]["total"] == pytest.approx(100.0)  # run_mot.py drops it
    assert evaluate_box_mot(seqs)["mota"]["total"] == pytest.approx(0.0)  # evaluate_mot.py counts 2 FP / 2 GT
    assert evaluate_box_mot(seqs, use_ignore_regions=True)["mota"]["total"] == pytest.approx(100.0)


def test_box_refusals(tmp_path, capsys):
    gt = _seq([[[10, 10, 110, 210]]] * 2, [[0]] * 2)
    mot.write_mot_ground_truth(tmp_path / "mot", gt)
    (tmp_path / "res").mkdir()
    res = tmp_path / "res" / "000001_mpii_test.txt"
    for text, message in (("1.0,1,10,10,100,200,1,-1,-1,-1\n", "frame '1.0' must be an integer"),
                          ("3,1,10,10,100,200,1,-1,-1,-1\n", "frame '3' must be an integer in [1, 3)"),
                          ("1,1,10,10,100,200,1,-1\n1,1,20,10,100,200,1,-1\n", "lists a track id twice")):
        res.write_text(text)
        assert main(["eval", str(tmp_path / "mot"), str(tmp_path / "res")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


def test_round_trip_keeps_person_ids_and_ignore_keys(tmp_path):
    seq = _seq([[[10, 10, 110, 210]], []], [[4], []], regions={1: [np.array([[0, 0], [9, 0], [9, 9]], np.float32)]})
    seq.frames[0].person_ids = np.array([77])
    path = tmp_path / "000001_mpii_test.json"
    posetrack21.write_sequence(path, seq)
    data = json.loads(path.read_text())
    assert all("ignore_regions_x" in i and "ignore_regions_y" in i for i in data["images"])
    assert data["annotations"][0]["person_id"] == 77
    back = read_sequence_any(path)
    assert back.frames[0].person_ids.tolist() == [77]
    np.testing.assert_allclose(back.frames[1].ignore_regions[0], seq.frames[1].ignore_regions[0])
    image, anns = posetrack21.frame_entries(seq, 0)
    assert image == data["images"][0] and anns == data["annotations"]
