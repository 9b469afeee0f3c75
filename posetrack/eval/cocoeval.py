"""COCO keypoint AP through pycocotools (``COCOeval(..., "keypoints")``), for COCO-format validation."""
from __future__ import annotations

import contextlib
import copy
import io
import os

import numpy as np

from ..errors import PosetrackError
from ..formats import load_json

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def _results_list(results) -> list[dict]:
    if isinstance(results, (str, os.PathLike)):
        from ..formats.coco import read_results

        results = read_results(results)
    out = []
    for i, r in enumerate(results):
        if not isinstance(r, dict) or not {"image_id", "keypoints", "score"} <= set(r):
            raise PosetrackError(f"result {i}: expected a dict with image_id, keypoints and score")
        kpts = np.asarray(r["keypoints"], dtype=np.float64).reshape(-1)
        if kpts.size != 51:
            raise PosetrackError(f"result {i}: expected 17 COCO keypoints (51 numbers), got {kpts.size}")
        out.append({"image_id": int(r["image_id"]), "category_id": int(r.get("category_id", 1)),
                    "keypoints": kpts.tolist(), "score": float(r["score"])})
    return out


def coco_ap(gt_json_path_or_dict, results, image_ids=None) -> dict:
    """``{"AP", "AP50", "AP75", "APm", "APl", "AR", ...}`` (x100) of keypoint ``results`` (a result list or a
    result file; keypoints in COCO-17 order) against a COCO keypoint annotation file or its loaded dict.

    Only images that appear in ``image_ids`` (default: all images of the ground truth) are scored; with no
    result at all every number is 0.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    data = gt_json_path_or_dict
    if isinstance(data, (str, os.PathLike)):
        data = load_json(data)
    if not isinstance(data, dict) or "annotations" not in data or "images" not in data:
        raise PosetrackError("COCO ground truth: expected a keypoint annotation file with images and annotations")
    data = copy.copy(data)
    data.setdefault("categories", [{"id": 1, "name": "person"}])
    dets = _results_list(results)
    known = {img["id"] for img in data["images"]}
    unknown = sorted({d["image_id"] for d in dets} - known)
    if unknown:
        raise PosetrackError(f"results name image id {unknown[0]} which the ground truth does not list "
                             f"({len(unknown)} unknown ids); evaluate against the matching annotation file")
    if not dets:
        return {name: 0.0 for name in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = data
        gt.createIndex()
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "keypoints")
        if image_ids is not None:
            ev.params.imgIds = sorted(int(i) for i in image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # pycocotools writes -1 where a number is undefined (e.g. no medium-sized person): NaN here.
    return {name: float(v) * 100 if v >= 0 else float("nan") for name, v in zip(STAT_NAMES, ev.stats)}


def format_coco(stats: dict) -> str:
    return "\n".join(f"{name:<5} {stats[name]:6.2f}" for name in STAT_NAMES)
