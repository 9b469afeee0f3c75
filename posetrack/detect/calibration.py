"""Detector scores that mean something: Platt scaling fitted on labelled frames, baked into the weights.

A detector's softmax score is a ranking, not a probability: a network trained on one world can give a pole or a
tripod 0.99. ``fit_platt`` finds ``a, b`` so that ``sigmoid(a * logit(score) + b)`` is the chance that a box is a
person (IoU >= 0.5 with a person not already matched by a higher-scoring box) on calibration frames that hold
people and frames that hold none. ``bake_platt`` writes the map into the box predictor's two class rows, so the
network itself gives calibrated scores: the ranking, and so every NMS decision, stays the same, and
``detector.score_threshold`` 0.5 keeps the boxes more likely to be a person than not. ``reliability`` says how
well scores and hit rates agree (expected calibration error), before and after.
"""
from __future__ import annotations

import numpy as np
import torch

from ..geometry import box_iou

CLS_WEIGHT = "roi_heads.box_predictor.cls_score.weight"
CLS_BIAS = "roi_heads.box_predictor.cls_score.bias"


def match_boxes(boxes: np.ndarray, scores: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Which detections are people: greedy in score order, each true box taken by at most one (as COCO AP)."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    hit = np.zeros(len(order), bool)
    if len(truth) == 0 or len(order) == 0:
        return hit
    iou = box_iou(np.asarray(boxes)[order], truth)
    free = np.ones(len(truth), bool)
    for i in range(len(order)):
        candidates = np.where(free, iou[i], -1.0)
        j = int(np.argmax(candidates))
        if candidates[j] >= threshold:
            free[j] = False
            hit[order[i]] = True
    return hit


def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_platt(scores: np.ndarray, correct: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """``(a, b)`` maximising the likelihood of ``correct`` under ``sigmoid(a * logit(score) + b)`` (Newton's
    method; a tiny ridge keeps it finite when the two classes separate)."""
    x, y = _logit(scores), np.asarray(correct, np.float64)
    if len(x) < 2 or y.min() == y.max():
        raise ValueError("Platt scaling needs both correct and wrong boxes")
    a, b = 1.0, 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(a * x + b)))
        w = p * (1 - p)
        grad = np.array([np.sum((p - y) * x) + 1e-4 * (a - 1), np.sum(p - y)])
        hess = np.array([[np.sum(w * x * x) + 1e-4, np.sum(w * x)], [np.sum(w * x), np.sum(w) + 1e-9]])
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(b)


def platt(scores: np.ndarray, a: float, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(a * _logit(scores) + b)))


def reliability(scores: np.ndarray, correct: np.ndarray, edges=(0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.0)):
    """``(rows, ece)``: per score bin ``(low, high, boxes, mean score, share correct)`` and the expected
    calibration error (the boxes-weighted mean gap between score and hit rate)."""
    scores, correct = np.asarray(scores), np.asarray(correct, bool)
    rows, gap = [], 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (scores >= low) & ((scores < high) | (high == edges[-1]))
        n = int(inside.sum())
        if n:
            mean, hit = float(scores[inside].mean()), float(correct[inside].mean())
            rows.append((low, high, n, mean, hit))
            gap += n * abs(mean - hit)
    total = int(((scores >= edges[0]) & (scores <= edges[-1])).sum())
    return rows, gap / max(total, 1)


def bake_platt(state: dict, a: float, b: float) -> dict:
    """``state`` whose two-class box predictor gives ``sigmoid(a * logit(p) + b)`` where it gave ``p``: the
    person-minus-background logit scaled by ``a`` and shifted by ``b`` (background row zero, person row the
    scaled difference)."""
    weight, bias = state[CLS_WEIGHT], state[CLS_BIAS]
    if weight.shape[0] != 2:
        raise ValueError(f"score calibration needs a 2-class detector, got {weight.shape[0]} classes")
    out = dict(state)
    diff_w = (weight[1].double() - weight[0].double()) * a
    diff_b = (bias[1].double() - bias[0].double()) * a + b
    out[CLS_WEIGHT] = torch.stack([torch.zeros_like(diff_w), diff_w]).to(weight.dtype)
    out[CLS_BIAS] = torch.stack([torch.zeros_like(diff_b), diff_b]).to(bias.dtype)
    return out
