"""Finding and reading the ground-truth and prediction files of ``posetrack eval``.

As poseval: every ``*.json`` in the ground-truth folder is one sequence, and its prediction is the file with the
same name in the prediction folder; either year's format is accepted on either side. Extra prediction files are
ignored. Unlike poseval a missing prediction file is reported by name (or, with ``missing_as_empty``, scored
as empty).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..formats import from_dict_any, load_json
from ..types import Sequence


def _scoreless(data: dict, seq: Sequence) -> list[np.ndarray | None] | None:
    """Per frame, ``(N, 17)`` marks of predicted joints written without a score: poseval ranks those at -9999
    (``MIN_SCORE``) where our readers fall back to the visibility flag."""
    if "annolist" in data:
        from ..layouts import joint_mapping

        to_slot = joint_mapping("posetrack18", "posetrack15")
        out = []
        for entry in data["annolist"]:
            rects = entry.get("annorect") or []
            marks = np.zeros((len(rects), 17), dtype=bool)
            for r, rect in enumerate(rects):
                ap = rect.get("annopoints")
                if isinstance(ap, list) and ap and isinstance(ap[0], dict):
                    for pt in ap[0].get("point") or []:
                        if "score" not in pt:
                            marks[r, to_slot[pt["id"][0] if isinstance(pt["id"], list) else pt["id"]]] = True
            out.append(marks if marks.any() else None)
        return out if any(m is not None for m in out) else None
    anns = data.get("annotations", [])
    if all(a.get("scores") for a in anns):
        return None
    row = {img["id"]: i for i, img in enumerate(data["images"])}
    counts = [0] * len(seq.frames)
    out = [np.zeros((len(f), 17), dtype=bool) for f in seq.frames]
    for a in anns:  # people of a frame are read in annotation order
        i = row[a["image_id"]]
        if not a.get("scores"):
            out[i][counts[i]] = True
        counts[i] += 1
    return out


def read_for_eval(path: Path, want_scoreless: bool = False):
    data = load_json(path)
    seq = from_dict_any(data, path)
    seq.name = path.stem
    return seq, (_scoreless(data, seq) if want_scoreless else None)


def load_pairs(gt_path: str | Path, pred_path: str | Path, missing_as_empty: bool = False):
    """``(gt sequences, pred sequences, scoreless marks)`` for two folders or two files."""
    gt_path, pred_path = Path(gt_path), Path(pred_path)
    if not gt_path.exists():
        raise PosetrackError(f"{gt_path}: ground truth not found")
    if not pred_path.exists():
        raise PosetrackError(f"{pred_path}: predictions not found")
    if gt_path.is_dir():
        if not pred_path.is_dir():
            raise PosetrackError(f"{pred_path}: expected a folder of per-sequence prediction files, as the ground "
                                 f"truth {gt_path} is a folder")
        gt_files = sorted(gt_path.glob("*.json"))
        if not gt_files:
            raise PosetrackError(f"{gt_path}: no .json ground-truth files in this folder")
        pairs = [(g, pred_path / g.name) for g in gt_files]
    else:
        if pred_path.is_dir():
            pred_path = pred_path / gt_path.name
        pairs = [(gt_path, pred_path)]
    gts, preds, scoreless = [], [], {}
    for g, p in pairs:
        gt, _ = read_for_eval(g)
        gts.append(gt)
        if not p.is_file():
            if missing_as_empty:
                continue
            raise PosetrackError(f"{p}: prediction file missing for ground truth {g.name}; write one file per "
                                 "sequence with the same name (or pass --missing-as-empty)")
        pred, marks = read_for_eval(p, want_scoreless=True)
        pred.name = gt.name  # paired by file, as poseval does, even for two differently named files
        preds.append(pred)
        if marks is not None:
            scoreless[gt.name] = marks
    return gts, preds, scoreless
