"""Box tracking on PoseTrack21's MOT layout: HOTA, MOTA and IDF1 as the official kit's two scripts compute them.

The kit scores boxes with two programs that read the same files differently; each number here follows its own:

* **HOTA** (``scripts/run_mot.py``, TrackEval HOTA on ``datasets/posetrack_mot.py``): boxes ``x, y, w, h`` as
  written, IoU similarity; in a frame with ground truth and predictions, predictions are matched to ground truth
  at IoU >= 0.5 (Hungarian) and an unmatched prediction whose box overlaps an ignore polygon of that frame with
  IoU > 0.1 is deleted (ground truth is never filtered); every frame of ``image_info.json`` counts.
* **MOTA / IDF1** (``eval/mot/evaluate_mot.py`` with motmetrics): ground truth read as ``x1 = int(x)``,
  ``x2 = x1 + int(w)`` but predictions MOT-style ``x1 = x - 1``, ``x2 = x1 + w - 1`` (a verbatim copy of
  ``gt.txt`` has IoU < 1, MOTA is unaffected while IoU stays >= 0.5); distance ``1 - IoU``, not pairable below
  IoU 0.5; CLEAR-MOT replayed by ``mot.ClearMot``; IDF1 from the global id assignment. With
  ``use_ignore_regions`` (the script's ``--use_ignore_regions``) a prediction with IoU > 0.1 against an ignore
  polygon that stays unmatched is neither a false positive nor a prediction. Totals pool the sequences' counts.

Refused (one line) because a script crashes or silently disagrees with the other: ``frame_index`` not equal to
the 1-based position, ground-truth rows whose 7th column is not the integer 1 or whose 8th is not -1, frames or
ids not written as integers, frames outside the sequence, negative, huge or repeated ids in a frame, a class
column above 1 in predictions, a missing prediction file (``missing_as_empty`` scores it empty), and prediction
files that are not sequences of the ground truth.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from motmetrics.distances import boxiou
from scipy.optimize import linear_sum_assignment

from ..errors import PosetrackError
from ..formats.mot import read_image_info, read_rows
from . import hota
from .mot import ClearMot
from .pt21 import MAX_TRACK_ID

EPS = np.finfo("float").eps


def _ints(path, cells: list[list[str]], col: int, what: str, low: int, high: int) -> None:
    for line, row in enumerate(cells, 1):
        v = row[col]
        if not v.lstrip("-").isdigit() or not low <= int(v) < high:
            raise PosetrackError(f"{path}: line {line}: {what} {v!r} must be an integer in [{low}, {high}) (the "
                                 "kit parses it with int() and indexes arrays with it)")


def _regions(path, info: list[dict]) -> list[list]:
    out = []
    for t, entry in enumerate(info, 1):
        if entry.get("frame_index") != t:
            raise PosetrackError(f"{path}: entry {t - 1} has frame_index {entry.get('frame_index')!r}, expected "
                                 f"{t}: the kit's two scripts key frames by position and by frame_index")
        xs, ys = entry.get("ignore_regions_x"), entry.get("ignore_regions_y")
        if not isinstance(xs, list) or not isinstance(ys, list):
            raise PosetrackError(f"{path}: entry {t - 1} needs ignore_regions_x and ignore_regions_y lists")
        if xs and not isinstance(xs[0], list):  # one polygon written flat, as both scripts accept
            xs, ys = [xs], [ys]
        polys = []
        for x, y in zip(xs, ys):
            if len(x) != len(y) or len(x) in (1, 2):
                raise PosetrackError(f"{path}: entry {t - 1}: an ignore region needs x and y lists of equal "
                                     "length with at least 3 corners")
            if x:
                polys.append(shapely.Polygon(np.stack([np.asarray(x, float), np.asarray(y, float)], 1)))
        out.append(polys)
    return out


def _per_frame(rows: np.ndarray, n: int) -> list[np.ndarray]:
    frame = rows[:, 0].astype(np.int64)
    return [rows[frame == t] for t in range(1, n + 1)]


def _check_unique(path, rows: list[np.ndarray]) -> None:
    for t, r in enumerate(rows, 1):
        if len(np.unique(r[:, 1])) != len(r):
            raise PosetrackError(f"{path}: frame {t} lists a track id twice; each box needs its own id")


def read_ground_truth(folder: Path) -> dict:
    info = read_image_info(folder / "image_info.json")
    regions = _regions(folder / "image_info.json", info)
    path = folder / "gt" / "gt.txt"
    rows, cells = read_rows(path)
    if len(rows) and rows.shape[1] < 9:
        raise PosetrackError(f"{path}: ground-truth rows need at least 9 columns (frame,id,x,y,w,h,1,-1,-1[,-1])")
    _ints(path, cells, 0, "frame", 1, len(info) + 1)
    _ints(path, cells, 1, "track id", 0, MAX_TRACK_ID)
    for line, row in enumerate(cells, 1):
        if row[6] != "1" or float(row[7]) != -1:
            raise PosetrackError(f"{path}: line {line}: columns 7 and 8 must be 1 and -1 (run_mot.py takes -1 as "
                                 "the class 'pedestrian', evaluate_mot.py keeps only rows whose 7th column is 1)")
    frames = _per_frame(rows, len(info))
    _check_unique(path, frames)
    return {"n": len(info), "regions": regions, "frames": frames, "order": None}


def read_prediction(path: Path, n: int) -> dict:
    rows, cells = read_rows(path)
    _ints(path, cells, 0, "frame", 1, n + 1)
    _ints(path, cells, 1, "track id", 0, MAX_TRACK_ID)
    if len(rows) and rows.shape[1] >= 8 and (rows[:, 7] > 1).any():
        raise PosetrackError(f"{path}: a class column (8th) above 1; the kit evaluates class 1 (or -1) only")
    frames = _per_frame(rows, n)
    _check_unique(path, frames)
    # evaluate_mot.py walks its results dict: track ids in order of first appearance in the file.
    first = {int(i): k for k, i in reversed(list(enumerate(rows[:, 1])))}
    order = sorted(first, key=first.get)
    return {"frames": frames, "order": {t: k for k, t in enumerate(order)}}


def load_mot(gt_path, pred_path, missing_as_empty: bool = False) -> list[tuple[str, dict, dict]]:
    """``(name, ground truth, prediction)`` for a MOT split folder (``<seq>/image_info.json``) or one sequence
    folder, and a folder of ``<seq>.txt`` predictions."""
    gt_path, pred_path = Path(gt_path), Path(pred_path)
    seqs = [gt_path] if (gt_path / "image_info.json").is_file() else sorted(
        p for p in gt_path.glob("*") if (p / "image_info.json").is_file())
    if not seqs:
        raise PosetrackError(f"{gt_path}: no <seq>/image_info.json here; expected the kit's MOT layout "
                             "posetrack_mot/mot/<split>/<seq>/{image_info.json,gt/gt.txt}")
    if not pred_path.is_dir():
        raise PosetrackError(f"{pred_path}: expected a folder of <seq>.txt prediction files")
    names = {s.name for s in seqs}
    # What the kit would read as a sequence's predictions: <seq>.txt or <seq> (a run's .json, .csv, .mp4 are not).
    others = sorted(p.name for p in pred_path.iterdir() if p.is_file() and p.suffix in (".txt", "")
                    and p.name.removesuffix(".txt") not in names and not p.name.startswith("."))
    if others and gt_path not in seqs:
        raise PosetrackError(f"{pred_path}: {len(others)} file(s) are not sequences of {gt_path} (e.g. "
                             f"{others[0]}): files of another split? Keep one folder per split")
    out = []
    for seq in seqs:
        gt = read_ground_truth(seq)
        file = next((f for f in (pred_path / f"{seq.name}.txt", pred_path / seq.name) if f.is_file()), None)
        if file is None and not missing_as_empty:
            raise PosetrackError(f"{pred_path / (seq.name + '.txt')}: prediction file missing for sequence "
                                 f"{seq.name} (or pass --missing-as-empty to score it empty)")
        pred = read_prediction(file, gt["n"]) if file else {"frames": [np.zeros((0, 7))] * gt["n"], "order": {}}
        out.append((seq.name, gt, pred))
    return out


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TrackEval's ``_calculate_box_ious`` for ``xywh`` boxes."""
    a = np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], 1)
    b = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1)
    lo, hi = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.maximum(hi[..., 0] - lo[..., 0], 0) * np.maximum(hi[..., 1] - lo[..., 1], 0)
    area_a, area_b = np.prod(a[:, 2:] - a[:, :2], 1), np.prod(b[:, 2:] - b[:, :2], 1)
    union = area_a[:, None] + area_b[None, :] - inter
    inter[area_a <= EPS, :] = 0
    inter[:, area_b <= EPS] = 0
    inter[union <= EPS] = 0
    union[union <= EPS] = 1
    return inter / union


def _region_iou(region, box) -> float:
    """Polygon-vs-box IoU as both kit scripts compute it (an invalid polygon is repaired with ``buffer(0)`` and
    a resulting multi-polygon scored as the sum of its parts' intersections over the sum of their unions)."""
    if region.is_valid:
        return region.intersection(box).area / region.union(box).area
    fixed = region.buffer(0)
    parts = [fixed] if isinstance(fixed, shapely.Polygon) else list(fixed.geoms)
    return sum(p.intersection(box).area for p in parts) / sum(p.union(box).area for p in parts)


def _in_region(regions: list, boxes_xyxy: np.ndarray) -> np.ndarray:
    out = np.zeros(len(boxes_xyxy), bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes_xyxy):
        box = shapely.Polygon([[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]])
        out[i] = any(_region_iou(r, box) > 0.1 for r in regions)
    return out


def _relabel(ids: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    unique = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
    return [np.searchsorted(unique, i) for i in ids], len(unique)


def hota_sequence(gt: dict, pred: dict) -> hota.HotaCounts:
    """``run_mot.py``'s HOTA of one sequence, with its ignore-region preprocessing."""
    g_ids, p_ids, sims = [], [], []
    for t, (g, p) in enumerate(zip(gt["frames"], pred["frames"])):
        s = _box_iou(g[:, 2:6], p[:, 2:6])
        keep = np.ones(len(p), bool)
        if len(g) and len(p) and gt["regions"][t]:
            m = np.where(s < 0.5 - EPS, 0, s)
            rows, cols = linear_sum_assignment(-m)
            matched = np.zeros(len(p), bool)
            matched[cols[m[rows, cols] > EPS]] = True
            if not matched.all():
                boxes = np.concatenate([p[:, 2:4], p[:, 2:4] + p[:, 4:6]], 1)
                keep = matched | ~_in_region(gt["regions"][t], np.where(matched[:, None], 0, boxes))
        g_ids.append(g[:, 1].astype(np.int64))
        p_ids.append(p[keep, 1].astype(np.int64))
        sims.append(s[:, keep])
    g_ids, n_g = _relabel(g_ids)
    p_ids, n_p = _relabel(p_ids)
    return hota.box_sequence(g_ids, p_ids, sims, n_g, n_p)


def clear_sequence(gt: dict, pred: dict, use_ignore_regions: bool) -> dict:
    """``evaluate_mot.py``'s CLEAR-MOT and ID counts of one sequence."""
    acc = ClearMot()
    pairs: dict[tuple[int, int], int] = {}
    n_pred = 0
    for t, (g, p) in enumerate(zip(gt["frames"], pred["frames"])):
        g_box = np.trunc(g[:, 2:6]).astype(np.float32)  # x1 = int(x), x2 = x1 + int(w): width int(w)
        p = p[np.argsort([pred["order"][int(i)] for i in p[:, 1]], kind="stable")] if len(p) else p
        x1, y1 = p[:, 2] - 1, p[:, 3] - 1
        x2, y2 = p[:, 4] - 1 + x1, p[:, 5] - 1 + y1
        p_box = np.stack([x1, y1, x2 - x1, y2 - y1], 1)
        # motmetrics' iou_matrix(..., max_iou=0.5), whose np.asfarray numpy 2 removed: not pairable below IoU 0.5
        dist = 1 - boxiou(g_box.astype(np.float64)[:, None], p_box[None, :])
        dists = np.where(dist > 0.5, np.nan, dist)
        oids, hids = g[:, 1].astype(np.int64), p[:, 1].astype(np.int64)
        acc.update(oids, hids, dists)
        dropped = np.zeros(len(p), bool)
        if use_ignore_regions and gt["regions"][t] and len(p):
            dropped = _in_region(gt["regions"][t], np.stack([x1, y1, x2, y2], 1)) & ~acc.matched_h
            acc.counts["false_positives"] -= dropped.sum()
        n_pred += int((~dropped).sum())
        for i, j in zip(*np.nonzero(np.isfinite(dists) & ~dropped[None, :])):
            key = (int(oids[i]), int(hids[j]))
            pairs[key] = pairs.get(key, 0) + 1
    return {**acc.counts, "predictions": n_pred, "idtp": _idtp(pairs)}


def _idtp(pairs: dict) -> float:
    """True positives of the global id assignment: the largest total of frames shared by matched id pairs
    (motmetrics' min-cost assignment of FP + FN is the same matching)."""
    if not pairs:
        return 0.0
    oids = sorted({o for o, _ in pairs})
    hids = sorted({h for _, h in pairs})
    w = np.zeros((len(oids), len(hids)))
    oi, hi = {o: k for k, o in enumerate(oids)}, {h: k for k, h in enumerate(hids)}
    for (o, h), n in pairs.items():
        w[oi[o], hi[h]] = n
    rows, cols = linear_sum_assignment(-w)
    return float(w[rows, cols].sum())


def evaluate_box_mot(seqs: list[tuple[str, dict, dict]], use_ignore_regions: bool = False,
                     per_sequence: bool = False) -> dict:
    """Box ``hota``, ``deta``, ``assa``, ``loca``, ``mota``, ``idf1`` (each ``{"total"}``, percent)."""
    counts, clear, sequences = [], [], {}
    for name, gt, pred in sorted(seqs, key=lambda s: s[0]):
        h, c = hota_sequence(gt, pred), clear_sequence(gt, pred, use_ignore_regions)
        counts.append(h)
        clear.append(c)
        if per_sequence:
            sequences[name] = _report(h, [c])
    result = {"benchmark": "posetrack21-mot", "use_ignore_regions": use_ignore_regions,
              **_report(hota.combine(counts), clear)}
    if per_sequence:
        result["sequences"] = sequences
    return result


def _report(h: hota.HotaCounts, clear: list[dict]) -> dict:
    s = hota.summary(h)
    total = {k: sum(c[k] for c in clear) for k in clear[0]}
    objects = max(total["objects"], 1)
    mota = 100 * (1 - (total["misses"] + total["false_positives"] + total["switches"]) / objects)
    idf1 = 100 * 2 * total["idtp"] / max(total["objects"] + total["predictions"], 1)
    out = {k: {"total": float(s[k][0])} for k in ("hota", "deta", "assa", "loca", "detre", "detpr", "assre",
                                                    "asspr")}
    out.update({"mota": {"total": mota}, "idf1": {"total": idf1},
                "counts": {k: int(total[k]) for k in ("objects", "misses", "false_positives", "switches",
                                                      "predictions")}})
    return out


def format_box(result: dict) -> str:
    keys = (("HOTA", "hota"), ("DetA", "deta"), ("AssA", "assa"), ("LocA", "loca"), ("MOTA", "mota"),
            ("IDF1", "idf1"))
    head = "PoseTrack21 box tracking (kit: run_mot.py HOTA, evaluate_mot.py MOTA/IDF1" + (
        ", --use-ignore-regions" if result.get("use_ignore_regions") else "") + "):"
    return "\n".join([head, "& " + " & ".join(f"{k:<5}" for k, _ in keys) + " \\\\",
                      "& " + " & ".join("{:>5}".format("%1.1f" % result[v]["total"]) for _, v in keys) + " \\\\"])
