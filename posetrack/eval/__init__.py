"""PoseTrack evaluation (mAP, MOTA, as the official poseval computes them) and COCO keypoint AP.

``evaluate(gt_sequences, pred_sequences)`` and ``coco_ap(gt, results)`` are the Python entry points; the
``posetrack eval`` and ``posetrack eval-coco`` commands wrap them. PoseTrack21 (keypoint HOTA and mAP as the
official PoseTrack21 kit): ``pt21_eval.evaluate_pt21``; its box tracking (HOTA, MOTA, IDF1): ``box_mot``.
"""
from __future__ import annotations


def evaluate(gt_sequences, pred_sequences, **kwargs) -> dict:
    from .evaluation import evaluate as _evaluate

    return _evaluate(gt_sequences, pred_sequences, **kwargs)


def coco_ap(gt_json_path_or_dict, results, **kwargs) -> dict:
    from .cocoeval import coco_ap as _coco_ap

    return _coco_ap(gt_json_path_or_dict, results, **kwargs)


__all__ = ["evaluate", "coco_ap"]
