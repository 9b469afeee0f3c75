"""Identity measures in ``posetrack eval``: hand-computed cases, and the fast engine equal to motmetrics' own
``idf1``/``idp``/``idr`` computed on the very accumulators poseval's MOTA uses."""
import json

import motmetrics as mm
import numpy as np
import pytest
from test_eval import frame, seq, two_people

from posetrack.cli import main
from posetrack.eval import evaluate
from posetrack.eval.ap import match_frame
from posetrack.eval.mot import joint_problems, motmetrics_accumulator
from posetrack.eval.prepare import NUM_JOINTS, prepare_sequence
from posetrack.formats import posetrack18


def test_a_swap_costs_every_frame_after_it():
    gt = two_people(10)
    pred = seq([frame(t, [100, 500], ids=[0, 1] if t < 5 else [1, 0]) for t in range(10)])
    r = evaluate([gt], [pred])
    # 9 scored frames (poseval skips the last); the best global assignment keeps frames 0-4 of both people:
    # idtp 10 of 18 objects and 18 predictions.
    assert r["idf1"]["total"] == pytest.approx(100 * 10 / 18)
    assert r["idp"]["total"] == pytest.approx(100 * 10 / 18) and r["idr"]["total"] == pytest.approx(100 * 10 / 18)
    assert r["num_switches"]["total"] == 2 and r["per_joint"]["num_switches"] == [2.0] * NUM_JOINTS
    assert r["mota"]["total"] == pytest.approx(100 * (1 - 2 / 18))  # MOTA charges the swap once


def test_a_person_back_with_a_new_id_and_a_spurious_track():
    gt = two_people(13)
    # Person 1 is missed on frames 4-6 and comes back as id 7; a false positive with id 9 on frames 0-2.
    frames = []
    for t in range(13):
        xs, ids = ([100], [0]) if 4 <= t <= 6 else ([100, 500], [0, 1 if t < 4 else 7])
        if t < 3:
            xs, ids = xs + [900], ids + [9]
        frames.append(frame(t, xs, ids=ids))
    r = evaluate([gt], [seq(frames)])
    # 12 scored frames: 24 objects; predictions 12 + 9 + 3 = 24. Id 0 <-> person 0 for 12 frames, id 7 <->
    # person 1 for 5 frames (7-11) beats id 1 (4 frames): idtp 17, idfn 7, idfp 7.
    assert r["idf1"]["total"] == pytest.approx(100 * 34 / 48)
    assert r["idp"]["total"] == pytest.approx(100 * 17 / 24) and r["idr"]["total"] == pytest.approx(100 * 17 / 24)
    assert r["num_switches"]["total"] == 1
    assert r["mota"]["total"] == pytest.approx(100 * (1 - (3 + 1 + 3) / 24))


def test_perfect_tracks_score_100_and_no_prediction_scores_0():
    gt = two_people(6)
    r = evaluate([gt], [gt])
    assert r["idf1"] == {k: 100.0 for k in r["idf1"]} and r["num_switches"]["total"] == 0
    empty = seq([frame(t, []) for t in range(6)])
    r = evaluate([gt], [empty])
    # Every scored frame is poseval's fake pair (id 0 object, id 0 hypothesis, never pairable).
    assert r["idf1"]["total"] == 0 and r["idp"]["total"] == 0 and r["idr"]["total"] == 0


def _case(seed: int, vid: int, frames: int = 16):
    """A ground-truth / prediction pair with jitter, misses, false positives, id switches and fragments, empty
    prediction frames (poseval's fake pair) and an ignore region on some frames."""
    rng = np.random.default_rng([seed, vid])
    region = np.array([[850, 0], [1200, 0], [1200, 600], [850, 600]], np.float32)
    ids = np.arange(4)
    g, p = [], []
    for t in range(frames):
        present = [x for x in (100, 400, 700, 1000) if rng.random() > 0.15] or [100]
        regions = [region] if rng.random() < 0.3 else []
        g.append(frame(t, present, ids=[x // 300 for x in present], vid=vid, regions=regions))
        if rng.random() < 0.15:
            ids = rng.permutation(ids)  # a swap among the tracks from here on
        if rng.random() < 0.1:
            ids = ids.copy()
            ids[rng.integers(4)] = 10 + t  # a track fragment: someone gets a fresh id
        found = [x for x in present if rng.random() > 0.2] if rng.random() > 0.1 else []
        xs = [x + rng.normal(0, 8) for x in found] + [x + 25 for x in found[:1] if rng.random() < 0.5]
        track = [int(ids[int(round(x)) // 300]) for x in found] + [50 + t] * (len(xs) - len(found))
        f = frame(t, xs, ids=track, vid=vid, scores=rng.uniform(0.1, 1, len(xs)))
        f.keypoints[..., :2] += rng.normal(0, 5, f.keypoints[..., :2].shape).astype(np.float32)
        f.keypoints[rng.random(f.keypoints.shape[:2]) < 0.1] = 0  # joints not predicted
        p.append(f)
    return seq(g, vid), seq(p, vid)


def _motmetrics_identity(gts, preds) -> dict:
    """motmetrics' own idf1/idp/idr/num_switches (x100 where a ratio) per joint, over the accumulators poseval
    builds (one per joint and sequence, the last frame left out), merged over sequences by motmetrics."""
    per_joint = [[] for _ in range(NUM_JOINTS)]
    for gt, pred in zip(gts, preds):
        problems = [joint_problems(fr, match_frame(fr)) for fr in prepare_sequence(gt, pred, gt.name).frames]
        for j in range(NUM_JOINTS):
            per_joint[j].append(motmetrics_accumulator([frame_[j] for frame_ in problems[:-1]]))
    host = mm.metrics.create()
    out = {k: [] for k in ("idf1", "idp", "idr", "num_switches")}
    for accs in per_joint:
        table = host.compute_many(accs, metrics=list(out), names=[str(i) for i in range(len(accs))],
                                  generate_overall=True)
        for k in out:
            out[k].append(float(table.loc["OVERALL", k]) * (1 if k == "num_switches" else 100))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fast_engine_equals_motmetrics_idf1(seed):
    gts, preds = zip(*(_case(seed, vid) for vid in (1, 2, 3)))
    fast = evaluate(gts, preds, mot_engine="fast")
    slow = evaluate(gts, preds, mot_engine="motmetrics")
    reference = _motmetrics_identity(gts, preds)
    for key in ("idf1", "idp", "idr", "num_switches"):
        np.testing.assert_allclose(fast["per_joint"][key], reference[key], rtol=0, atol=1e-9, err_msg=key)
        np.testing.assert_allclose(slow["per_joint"][key], reference[key], rtol=0, atol=1e-9, err_msg=key)
    for key in ("mota", "precision", "recall"):
        np.testing.assert_allclose(fast["per_joint"][key], slow["per_joint"][key], rtol=0, atol=1e-9)
    # The cases exercise what they are meant to: switches, and frames scored through poseval's fake pair.
    assert fast["num_switches"]["total"] > 0 and fast["idf1"]["total"] < fast["recall"]["total"]
    fake = sum(fr.mot_fake for gt, pred in zip(gts, preds) for fr in prepare_sequence(gt, pred, gt.name).frames)
    assert fake > 0


def test_cli_prints_the_identity_table_and_writes_the_keys(tmp_path, capsys):
    gt = two_people(10)
    pred = seq([frame(t, [100, 500], ids=[0, 1] if t < 5 else [1, 0]) for t in range(10)])
    posetrack18.write_sequence(tmp_path / "gt" / f"{gt.name}.json", gt)
    posetrack18.write_sequence(tmp_path / "pred" / f"{gt.name}.json", pred)
    assert main(["eval", str(tmp_path / "gt"), str(tmp_path / "pred"), "--json", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert ("Identity (ID) metrics:\n"
            "& IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDP  & IDR  & IDSW \\\\\n"
            "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total& Total& Total& Total\\\\\n"
            "& 55.6 & 55.6 & 55.6 & 55.6 & 55.6 & 55.6 & 55.6 & 55.6 & 55.6 & 55.6 &  2.0 \\\\") in out
    metrics = json.loads((tmp_path / "m.json").read_text())
    groups = {"head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "total"}
    assert all(set(metrics[k]) == groups for k in ("idf1", "idp", "idr", "num_switches"))
    assert metrics["num_switches"]["total"] == 2 and metrics["idf1"]["total"] == pytest.approx(100 * 10 / 18)
