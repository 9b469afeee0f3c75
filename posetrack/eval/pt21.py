"""Reading PoseTrack21 ground truth and predictions as the official kit does, refusing what it cannot score.

The kit (``anDoer/PoseTrack21``, ``eval/posetrack21``, ``datasets/posetrack.py``) reads each sequence file into
per-frame arrays and then:

1. keeps only the ground truth's ``is_labeled`` frames, and the prediction image at the same list position;
2. on a frame with ignore regions, zeroes every ground-truth and predicted joint strictly inside a polygon
   (shapely ``contains``) and drops a person whose 15 joints all lie inside, or who is left with no joint with
   ``x > 0`` or ``y > 0``; frames without regions keep everyone (box-only people included);
3. keeps the 15 evaluated joints (slots 3/4 deleted); a joint exists iff ``x > 0 and y > 0``; a prediction's
   third value is overwritten by its ``scores`` (-9999 when missing), and when every keypoint value of a frame's
   predictions is a JSON integer the scores are truncated to integers (numpy's int array takes them);
4. relabels track ids per sequence through a dense array indexed by the id.

Every input on which that crashes or silently goes wrong is refused here with one line (item 3 of issue 15):
image lists that differ from the ground truth, duplicate image ids, a labeled frame without ground-truth people
(also after ignore regions), annotations without ``bbox_head`` in ground truth, negative, float, huge or
duplicate track ids, keypoint lists that are not 17 x 3, malformed ignore regions. Joints are kept in poseval's
15-joint order (``eval.prepare.EVAL_SLOTS``) so the mAP code and the table columns are shared with poseval's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import shapely

from ..errors import PosetrackError
from .prepare import EVAL_SLOTS, EvalFrame, head_sizes

# The kit sizes an array by the largest id (np.nan * np.ones(max_id + 1)): 10**12 needs 7 TiB.
MAX_TRACK_ID = 10 ** 7


@dataclass
class Pt21Sequence:
    """The evaluated frames of one sequence pair after the kit's preprocessing; ids relabelled 0..n-1."""

    name: str
    frames: list[EvalFrame]
    num_gt_ids: int
    num_pr_ids: int


def _fail(path, where: str, what: str) -> PosetrackError:
    return PosetrackError(f"{path}: {where}: {what}")


def _numbers(path, where: str, values: list, width: int) -> np.ndarray:
    if not values:
        return np.zeros((0, width))
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (len(values), width):
        for a, v in enumerate(values):
            if not isinstance(v, list) or len(v) != width or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                raise _fail(path, f"annotations[{a}]", f"expected {width} numbers, got {str(v)[:60]}")
        raise _fail(path, "annotations", f"expected {width} numbers each")
    return arr


def _regions(path, i: int, image: dict) -> list:
    xs, ys = image.get("ignore_regions_x"), image.get("ignore_regions_y")
    if xs is None or ys is None:
        raise _fail(path, f"images[{i}]", "needs the keys ignore_regions_x and ignore_regions_y (lists of "
                                          "polygons, possibly empty): the PoseTrack21 evaluation reads them")
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise _fail(path, f"images[{i}].ignore_regions_x/y", "expected two lists with one polygon each")
    polygons = []
    for r, (x, y) in enumerate(zip(xs, ys)):
        if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y) or len(x) in (1, 2):
            raise _fail(path, f"images[{i}].ignore_regions_x/y[{r}]", "expected x and y lists of equal length "
                                                                      "with at least 3 corners")
        polygons.append(shapely.Polygon(np.stack([np.asarray(x, float), np.asarray(y, float)], 1)) if x else None)
    return [p for p in polygons if p is not None]


def read_file(data: object, path, is_gt: bool) -> dict:
    """Per-image and per-annotation arrays of one PoseTrack21 file, checked as the kit needs them."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise _fail(path, "top level", "expected a PoseTrack21 object with 'images' and 'annotations' lists")
    from ..formats.posetrack21 import _check_slots

    _check_slots(path, data)
    images = data["images"]
    index = {}
    for i, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image:
            raise _fail(path, f"images[{i}]", "needs an 'id'")
        if image["id"] in index:
            raise _fail(path, f"images[{i}].id", f"duplicate image id {image['id']!r}")
        index[image["id"]] = i
        if is_gt and "is_labeled" not in image:
            raise _fail(path, f"images[{i}]", "needs 'is_labeled' (the evaluation scores labeled frames only)")
    anns = data["annotations"]
    rows, ids, int_kp, kp, scores, heads = [], [], [], [], [], []
    for a, ann in enumerate(anns):
        row = index.get(ann.get("image_id")) if isinstance(ann, dict) else None
        if row is None:
            raise _fail(path, f"annotations[{a}].image_id", "missing or not an id in 'images'")
        rows.append(row)
        ids.append(ann.get("track_id"))
        k = ann.get("keypoints")
        kp.append(k)
        int_kp.append(isinstance(k, list) and all(type(v) is int for v in k))
        s = ann.get("scores")
        scores.append(s if s is not None else [-9999] * 17)
        if is_gt:
            if "bbox_head" not in ann:
                raise _fail(path, f"annotations[{a}]", "ground truth needs 'bbox_head' on every person (box-only "
                                                       "people too): PCKh is normalised by it")
            heads.append(ann["bbox_head"])
    n = len(anns)
    out = {"image_ids": [img["id"] for img in images], "rows": np.array(rows, np.int64),
           "track_ids": ids, "int_kp": np.array(int_kp, bool).reshape(n),
           "keypoints": _numbers(path, "keypoints", kp, 51).reshape(n, 17, 3),
           "scores": _numbers(path, "scores", scores, 17).reshape(n, 17)}
    if is_gt:
        head = _numbers(path, "bbox_head", heads, 4).reshape(n, 4)
        out["head"] = np.concatenate([head[:, :2], head[:, :2] + head[:, 2:]], 1)
        out["labeled"] = [bool(img["is_labeled"]) for img in images]
        out["regions"] = [_regions(path, i, img) for i, img in enumerate(images)]
    return out


def check_images(gt: dict, pred: dict, where: str) -> None:
    """The prediction must list the ground truth's images, same ids, same order (the kit aligns by position,
    asserts the ids on labeled frames only, crashes on fewer images and ignores extra ones)."""
    g, p = gt["image_ids"], pred["image_ids"]
    if len(p) != len(g):
        raise PosetrackError(f"{where}: the prediction lists {len(p)} images, the ground truth {len(g)}; list "
                             "every ground-truth image, in its order, with its id")
    for t, (a, b) in enumerate(zip(g, p)):
        if a != b:
            raise PosetrackError(f"{where}: image {t} has id {b!r} in the prediction but {a!r} in the ground "
                                 "truth; list the images in the ground truth's order, with its ids")


def _inside(polygons: list, xy: np.ndarray) -> np.ndarray:
    flat = xy.reshape(-1, 2)
    inside = np.zeros(len(flat), bool)
    if len(flat):
        points = shapely.points(flat)
        for poly in polygons:
            inside |= shapely.contains(poly, points)
    return inside.reshape(xy.shape[:-1])


def _ignore(polygons: list, kpts: np.ndarray, keep_extra: list[np.ndarray]):
    """The kit's ignore-region step for one side of one frame: zero the joints inside, drop emptied people."""
    inside = _inside(polygons, kpts[..., :2])
    kpts = np.where(inside[..., None], 0.0, kpts)
    invalid = (kpts[..., 0] <= 0) & (kpts[..., 1] <= 0)
    keep = ~inside.all(1) & ~invalid.all(1)
    return kpts[keep], [x[keep] for x in keep_extra]


def _check_ids(where: str, kind: str, t: int, raw: list) -> np.ndarray:
    """Track ids of one evaluated frame: integers in [0, MAX_TRACK_ID), each once."""
    for value in raw:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_TRACK_ID:
            raise PosetrackError(f"{where}: {kind} image {t}: track id {value!r} is not an integer in [0, "
                                 f"{MAX_TRACK_ID}); the PoseTrack21 evaluation indexes an array with track ids "
                                 "(a negative id aliases the largest, a float crashes it, a huge one exhausts "
                                 "memory): renumber the tracks")
    ids = np.array(raw, np.int64).reshape(len(raw))
    if len(np.unique(ids)) != ids.size:
        values, counts = np.unique(ids, return_counts=True)
        raise PosetrackError(f"{where}: {kind} image {t}: track id {values[counts > 1][0]} is used twice in one "
                             "frame; each person needs its own id")
    return ids


def prepare(gt: dict, pred: dict, name: str) -> Pt21Sequence:
    """The kit's evaluated frames for one checked pair (``read_file`` outputs)."""
    check_images(gt, pred, f"sequence {name}")
    g_order = np.argsort(gt["rows"], kind="stable")
    g_start = np.searchsorted(gt["rows"][g_order], np.arange(len(gt["image_ids"]) + 1))
    p_order = np.argsort(pred["rows"], kind="stable")
    p_start = np.searchsorted(pred["rows"][p_order], np.arange(len(pred["image_ids"]) + 1))
    frames = []
    for t, labeled in enumerate(gt["labeled"]):
        if not labeled:
            continue
        gsel, psel = g_order[g_start[t]:g_start[t + 1]], p_order[p_start[t]:p_start[t + 1]]
        gk, head = gt["keypoints"][gsel][:, EVAL_SLOTS], gt["head"][gsel]
        g_ids = [gt["track_ids"][a] for a in gsel]
        pk, scores = pred["keypoints"][psel][:, EVAL_SLOTS].copy(), pred["scores"][psel][:, EVAL_SLOTS]
        if len(psel) and pred["int_kp"][psel].all():
            scores = np.trunc(scores)  # assigned into the frame's integer keypoint array
        pk[..., 2] = scores
        p_ids = [pred["track_ids"][a] for a in psel]
        if len(gsel) == 0:
            raise PosetrackError(f"sequence {name}: ground-truth image {t} (id {gt['image_ids'][t]!r}) is labeled "
                                 "but has no people; the PoseTrack21 evaluation crashes on it (mark it "
                                 "is_labeled false)")
        if gt["regions"][t]:
            pos = np.arange(len(psel))
            pk, (pos,) = _ignore(gt["regions"][t], pk, [pos])
            p_ids = [p_ids[i] for i in pos]
            gpos = np.arange(len(gsel))
            gk, (head, gpos) = _ignore(gt["regions"][t], gk, [head, gpos])
            g_ids = [g_ids[i] for i in gpos]
            if len(gk) == 0:
                raise PosetrackError(f"sequence {name}: ground-truth image {t} (id {gt['image_ids'][t]!r}) has no "
                                     "person left outside its ignore regions; the PoseTrack21 evaluation crashes "
                                     "on it (mark it is_labeled false)")
        frames.append(EvalFrame(
            gt_xy=gk[..., :2], gt_has=(gk[..., 0] > 0) & (gk[..., 1] > 0),
            gt_ids=_check_ids(f"sequence {name}", "ground-truth", t, g_ids), head_size=head_sizes(head),
            pr_xy=pk[..., :2], pr_has=(pk[..., 0] > 0) & (pk[..., 1] > 0), pr_score=pk[..., 2],
            pr_ids=_check_ids(f"sequence {name}", "prediction", t, p_ids),
            pr_has_mot=(pk[..., 0] > 0) & (pk[..., 1] > 0), mot_fake=False))
    num = []
    for side in ("gt_ids", "pr_ids"):
        unique = np.unique(np.concatenate([getattr(f, side) for f in frames] or [np.zeros(0, np.int64)]))
        for f in frames:
            setattr(f, side, np.searchsorted(unique, getattr(f, side)))
        num.append(len(unique))
    return Pt21Sequence(name, frames, num[0], num[1])


def empty_prediction(gt: dict) -> dict:
    """A prediction with the ground truth's images and nobody in them (``--missing-as-empty``)."""
    return {"image_ids": list(gt["image_ids"]), "rows": np.zeros(0, np.int64), "track_ids": [],
            "int_kp": np.zeros(0, bool), "keypoints": np.zeros((0, 17, 3)), "scores": np.zeros((0, 17))}


def sequence_name(path: str | os.PathLike) -> str:
    return os.path.splitext(os.path.basename(path))[0]
