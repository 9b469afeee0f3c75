#!/usr/bin/env python
"""Time ``posetrack eval`` (and the official poseval, when importable) on a generated PoseTrack-like set.

The default set mirrors the issue's scale: 50 sequences x 100 frames, about 4.4 people per frame, PoseTrack 2018
files written with ``posetrack.formats.posetrack18.write_sequence``. Poses are a standing skeleton scaled to
150-400 px, walking and jittering; predictions add head-size-relative noise, dropped joints and people, false
positives, id switches and scores that fall with the error. With ``--poseval PATH`` (a folder holding the
``poseval`` package) the official evaluation runs on the same files in this process and both sets of numbers are
printed.

``--pt21`` times the PoseTrack21 evaluation instead (keypoint HOTA + mAP, ``posetrack.eval.pt21_eval``) on the same
kind of set written as PoseTrack21 files (box-only people on unlabeled frames, no labeled frame without people);
with ``--kit PATH`` (the folder holding the official kit's ``trackeval`` package, e.g.
``PoseTrack21/eval/posetrack21/posetrack21``) the kit runs on the same files in this process, as its ``Evaluator``
does (sorted sequences, ``eval_sequence``, ``combine_sequences``), and both sets of numbers and the speed-up are
printed. Without ``--kit`` the kit part is skipped with a note.

    python scripts/bench_eval.py [--sequences 50] [--frames 100] [--poseval /tmp/poseval] [--keep DIR]
    python scripts/bench_eval.py --pt21 [--kit PATH] [--label-every 4]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from posetrack.formats import image_id_for, posetrack18, sequence_file_name
from posetrack.types import Frame, Sequence

# A standing person in posetrack18 slots (x, y) in units of body height, feet at y = 1.
_TEMPLATE = np.array([
    [0.00, 0.08], [0.00, 0.16], [0.00, 0.00], [0, 0], [0, 0], [0.10, 0.20], [-0.10, 0.20], [0.14, 0.36],
    [-0.14, 0.36], [0.15, 0.50], [-0.15, 0.50], [0.07, 0.52], [-0.07, 0.52], [0.07, 0.76], [-0.07, 0.76],
    [0.07, 1.00], [-0.07, 1.00]], dtype=np.float64)
_EARS = [3, 4]


def _people(rng, n_frames: int, mean_people: float, width=1280, height=720):
    """Tracks as ``(frames, persons, 17, 2)`` positions with a per-frame 'visible' mask, and heights."""
    n = max(1, rng.poisson(mean_people * 1.15))
    heights = rng.uniform(150, 400, n)
    start = np.stack([rng.uniform(100, width - 100, n), rng.uniform(50, height - 50, n)], 1)
    velocity = rng.normal(0, 2.0, (n, 2))
    t = np.arange(n_frames)[:, None, None]
    centre = start[None] + velocity[None] * t + np.cumsum(rng.normal(0, 1.0, (n_frames, n, 2)), 0)
    pose = _TEMPLATE[None, None] * heights[None, :, None, None] - [0, 0.5] * heights[None, :, None, None]
    wobble = rng.normal(0, 0.02, (n_frames, n, 17, 2)) * heights[None, :, None, None]
    xy = centre[:, :, None, :] + pose + wobble
    # Each person is in view for one contiguous stretch of the sequence.
    enter = rng.integers(0, n_frames // 3 + 1, n)
    leave = n_frames - rng.integers(0, n_frames // 3 + 1, n)
    visible = (t[..., 0] >= enter[None]) & (t[..., 0] < leave[None])
    return xy, visible, heights


def _head_boxes(xy: np.ndarray) -> np.ndarray:
    top, bottom = xy[..., 2, :], xy[..., 1, :]
    half = np.abs(bottom[..., 1] - top[..., 1])[..., None] * 0.6
    mid = (top + bottom) / 2
    return np.concatenate([mid - half, mid + half], -1)


def make_pair(rng, vid: int, n_frames: int, mean_people: float, label_every: int = 1,
              ignore_prob: float = 0.05) -> tuple[Sequence, Sequence]:
    xy, visible, heights = _people(rng, n_frames, mean_people)
    n = xy.shape[1]
    head_size = 0.6 * np.hypot(*(lambda h: (h[..., 2] - h[..., 0], h[..., 3] - h[..., 1]))(_head_boxes(xy)))
    # Prediction errors in head-size units; about 80% of joints within the PCKh threshold.
    err = np.abs(rng.normal(0, 0.3, (n_frames, n, 17)))
    angle = rng.uniform(0, 2 * np.pi, (n_frames, n, 17))
    pred_xy = xy + (err * head_size[..., None])[..., None] * np.stack([np.cos(angle), np.sin(angle)], -1)
    pred_score = np.clip(1 - err + rng.normal(0, 0.15, err.shape), 0.01, 1)
    pred_ids = np.tile(np.arange(n), (n_frames, 1))
    for _ in range(rng.poisson(1.0) if n > 1 else 0):  # id switches: two tracks swap ids from a frame on
        a, b = rng.choice(n, 2, replace=False)
        t0 = rng.integers(n_frames)
        pred_ids[t0:, [a, b]] = pred_ids[t0:, [b, a]]
    name = sequence_file_name(vid, 0).split("/")[2]
    gt_frames, pr_frames = [], []
    for t in range(n_frames):
        file_name = sequence_file_name(vid, t)
        image_id = image_id_for(file_name)
        labeled = t % label_every == 0
        on = np.flatnonzero(visible[t])
        g_k = np.zeros((len(on), 17, 3), np.float32)
        g_k[..., :2], g_k[..., 2] = xy[t, on], 1
        g_k[rng.random((len(on), 17)) < 0.1] = 0  # unannotated joints
        g_k[:, _EARS] = 0
        regions = []
        if rng.random() < ignore_prob:
            x0, y0 = rng.uniform(0, 1100), rng.uniform(0, 600)
            regions = [np.array([[x0, y0], [x0 + 180, y0], [x0 + 180, y0 + 120], [x0, y0 + 120]], np.float32)]
        gt_frames.append(Frame(
            file_name=file_name, image_id=image_id, keypoints=g_k if labeled else g_k[:0],
            track_ids=on.astype(np.int64) if labeled else on[:0].astype(np.int64),
            head_boxes=_head_boxes(xy[t, on]).astype(np.float32) if labeled else np.zeros((0, 4), np.float32),
            boxes=np.zeros((len(on) if labeled else 0, 4), np.float32),
            scores=np.ones(len(on) if labeled else 0, np.float32), ignore_regions=regions if labeled else [],
            is_labeled=labeled))
        found = on[rng.random(len(on)) > 0.08]  # missed people
        p_k = np.zeros((len(found), 17, 3), np.float32)
        p_k[..., :2], p_k[..., 2] = pred_xy[t, found], pred_score[t, found]
        p_k[rng.random((len(found), 17)) < 0.05] = 0  # joints not predicted
        p_ids = pred_ids[t, found]
        n_fp = rng.poisson(0.3)  # false positives with fresh ids
        if n_fp:
            fp = np.zeros((n_fp, 17, 3), np.float32)
            fp[..., 0] = rng.uniform(0, 1280, (n_fp, 1)) + rng.normal(0, 30, (n_fp, 17))
            fp[..., 1] = rng.uniform(0, 720, (n_fp, 1)) + rng.normal(0, 60, (n_fp, 17))
            fp[..., 2] = rng.uniform(0, 0.5, (n_fp, 17))
            p_k = np.concatenate([p_k, fp])
            p_ids = np.concatenate([p_ids, 1000 + np.arange(n_fp) + 10 * t])
        p_k[:, _EARS] = 0
        pr_frames.append(Frame(file_name=file_name, image_id=image_id, keypoints=p_k,
                               track_ids=p_ids.astype(np.int64), scores=np.ones(len(p_k), np.float32),
                               boxes=np.zeros((len(p_k), 4), np.float32),
                               head_boxes=np.full((len(p_k), 4), np.nan, np.float32)))
    return Sequence(name, gt_frames, vid_id=vid), Sequence(name, pr_frames, vid_id=vid)


def make_dataset(root: Path, sequences: int = 50, frames: int = 100, people: float = 4.4, seed: int = 0,
                 label_every: int = 1) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    gt_dir, pred_dir = root / "gt", root / "pred"
    for s in range(sequences):
        gt, pred = make_pair(rng, 1000 + s, frames, people, label_every)
        posetrack18.write_sequence(gt_dir / f"{gt.name}.json", gt)
        posetrack18.write_sequence(pred_dir / f"{pred.name}.json", pred)
    return gt_dir, pred_dir


def run_ours(gt_dir: Path, pred_dir: Path, engine: str = "fast") -> tuple[dict, float]:
    from posetrack.eval.evaluation import evaluate
    from posetrack.eval.files import load_pairs

    start = time.perf_counter()
    gts, preds, scoreless = load_pairs(gt_dir, pred_dir)
    result = evaluate(gts, preds, scoreless=scoreless, mot_engine=engine)
    return result, time.perf_counter() - start


def run_poseval(gt_dir: Path, pred_dir: Path, out_dir: Path) -> tuple[dict, float]:
    import contextlib
    import io

    from poseval import eval_helpers
    from poseval.evaluateAP import evaluateAP
    from poseval.evaluateTracking import evaluateTracking

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        gt_frames, pr_frames = eval_helpers.load_data_dir(["", str(gt_dir) + "/", str(pred_dir) + "/"])
        ap, _, _ = evaluateAP(gt_frames, pr_frames, str(out_dir), True, False)
        mot = evaluateTracking(gt_frames, pr_frames, str(out_dir), True, False)
    elapsed = time.perf_counter() - start
    return {"ap": ap[:, 0], "mota": mot["mota"][0], "motp": mot["motp"][0], "pre": mot["pre"][0],
            "rec": mot["rec"][0]}, elapsed


def make_pt21_pair(rng, vid: int, n_frames: int, mean_people: float, label_every: int = 1):
    """``make_pair`` as PoseTrack21 ground truth: a labeled frame without people is written unlabeled (the kit
    crashes on it), ignore regions that would hide every person are dropped, unlabeled frames list their people
    box-only."""
    import shapely

    gt, pred = make_pair(rng, vid, n_frames, mean_people, label_every=1)
    for t, g in enumerate(gt.frames):
        g.is_labeled = t % label_every == 0 and len(g) > 0
        if g.ignore_regions:
            xy = g.keypoints[:, [0, 1, 2] + list(range(5, 17)), :2].reshape(-1, 2).astype(np.float64)
            has = (xy > 0).all(1)
            inside = np.zeros(len(xy), bool)
            for r in g.ignore_regions:
                inside |= shapely.contains(shapely.Polygon(r), shapely.points(xy))
            if not (has & ~inside).any():
                g.ignore_regions = []
        if not g.is_labeled:
            g.keypoints = np.zeros_like(g.keypoints)
            g.ignore_regions = []
    return gt, pred


def make_pt21_dataset(root: Path, sequences: int = 50, frames: int = 100, people: float = 4.4, seed: int = 0,
                      label_every: int = 1) -> tuple[Path, Path]:
    from posetrack.formats import posetrack21

    rng = np.random.default_rng(seed)
    gt_dir, pred_dir = root / "gt21", root / "pred21" / "sequences"  # 'sequences': a folder layout the kit reads
    for s in range(sequences):
        gt, pred = make_pt21_pair(rng, 1000 + s, frames, people, label_every)
        posetrack21.write_sequence(gt_dir / f"{gt.name}.json", gt)
        posetrack21.write_sequence(pred_dir / f"{pred.name}.json", pred)
    return gt_dir, pred_dir


def run_ours_pt21(gt_dir: Path, pred_dir: Path) -> tuple[dict, float]:
    from posetrack.eval.pt21_eval import evaluate_pt21, load_folder  # imports (scipy) before the clock starts

    start = time.perf_counter()
    result = evaluate_pt21(load_folder(gt_dir, pred_dir))
    return result, time.perf_counter() - start


def run_kit_pt21(kit: str, gt_dir: Path, pred_dir: Path) -> tuple[dict, float]:
    """The official kit on the same files, driven as its ``Evaluator.evaluate`` (without printing)."""
    import contextlib
    import io

    for alias, value in (("int", int), ("float", float), ("bool", bool)):  # numpy-2 fixes, no number changes
        if not hasattr(np, alias):
            setattr(np, alias, value)
    sys.path.insert(0, kit)
    from trackeval.datasets.posetrack import PoseTrack
    from trackeval.metrics.hota_pose import HOTAeypoints
    from trackeval.metrics.map import PosemAP

    start = time.perf_counter()  # the kit's imports are done; ours were done before our clock too
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = PoseTrack({"GT_FOLDER": str(gt_dir), "TRACKERS_FOLDER": str(pred_dir),
                             "ASSURE_SINGLE_TRACKER": False})
        tracker = dataset.get_eval_info()[0][0]
        metrics, per_seq = [HOTAeypoints(), PosemAP()], ({}, {})
        for seq in sorted(dataset.seq_list):
            data = dataset.get_preprocessed_seq_data(dataset.get_raw_seq_data(tracker, seq), "person")
            for m, res in zip(metrics, per_seq):
                res[seq] = m.eval_sequence(data)
        hota, ap = (m.combine_sequences(res) for m, res in zip(metrics, per_seq))
    elapsed = time.perf_counter() - start
    out = {k: 100 * float(np.mean(hota[name][:, -1])) for k, name in
           (("hota", "HOTA"), ("deta", "DetA"), ("assa", "AssA"), ("loca", "LocA"))}
    out["ap"] = float(ap["map"]["Total"])
    return out, elapsed


def main_pt21(args) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        gt_dir, pred_dir = make_pt21_dataset(root, args.sequences, args.frames, args.people, args.seed,
                                             args.label_every)
        ours, t_ours = run_ours_pt21(gt_dir, pred_dir)
        print(f"posetrack eval --benchmark posetrack21: {t_ours:.2f} s ({args.sequences} sequences x "
              f"{args.frames} frames)")
        keys = ("hota", "deta", "assa", "loca", "ap")
        print("  " + "  ".join(f"{k} {ours[k]['total']:.3f}" for k in keys))
        if not args.kit:
            print("official kit not timed: pass --kit PATH (the folder holding its trackeval package)")
            return 0
        theirs, t_theirs = run_kit_pt21(args.kit, gt_dir, pred_dir)
        print(f"official kit: {t_theirs:.2f} s  -> speed-up {t_theirs / t_ours:.1f}x")
        print("  " + "  ".join(f"{k} {theirs[k]:.3f}" for k in keys))
        print(f"  max |ours - kit| {max(abs(ours[k]['total'] - theirs[k]) for k in keys):.2e}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequences", type=int, default=50)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--people", type=float, default=4.4)
    ap.add_argument("--label-every", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", choices=["fast", "motmetrics"], default="fast")
    ap.add_argument("--poseval", help="folder containing the poseval package, to time and compare it")
    ap.add_argument("--keep", help="write the generated files here instead of a temporary folder")
    ap.add_argument("--pt21", action="store_true", help="time the PoseTrack21 evaluation (keypoint HOTA + mAP)")
    ap.add_argument("--kit", help="with --pt21: folder holding the official PoseTrack21 kit's trackeval package")
    args = ap.parse_args(argv)
    if args.pt21:
        return main_pt21(args)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        gt_dir, pred_dir = make_dataset(root, args.sequences, args.frames, args.people, args.seed,
                                        args.label_every)
        ours, t_ours = run_ours(gt_dir, pred_dir, args.engine)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"posetrack eval ({args.engine}): {t_ours:.2f} s, peak RSS so far {rss:.0f} MB")
        print(f"  AP total {ours['ap']['total']:.3f}  MOTA total {ours['mota']['total']:.3f}  "
              f"MOTP {ours['motp']['total']:.3f}  Prec {ours['precision']['total']:.3f}  "
              f"Rec {ours['recall']['total']:.3f}  IDF1 {ours['idf1']['total']:.3f}")
        if args.poseval:
            sys.path.insert(0, args.poseval)
            try:
                theirs, t_theirs = run_poseval(gt_dir, pred_dir, root)
            except ImportError as err:
                print(f"poseval not importable from {args.poseval}: {err}")
                return 0
            print(f"poseval: {t_theirs:.2f} s  -> speed-up {t_theirs / t_ours:.1f}x")
            pj = ours["per_joint"]
            for key, mine in (("ap", pj["ap"]), ("mota", pj["mota"]), ("pre", pj["precision"]),
                              ("rec", pj["recall"])):
                diff = np.nanmax(np.abs(np.asarray(mine, float) - np.asarray(theirs[key][:15], float)))
                print(f"  {key:4s} poseval total {theirs[key][15]:.3f}  max |per-joint diff| {diff:.2e}")
            print(f"  motp poseval (as printed) {theirs['motp'][15]:.3f}  ours motp_poseval "
                  f"{ours['motp_poseval']['total']:.3f}  CLEAR-MOT motp {ours['motp']['total']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
