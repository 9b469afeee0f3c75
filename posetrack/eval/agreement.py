"""How far two runs on the same video agree on who is who: the share of (frame, person) id assignments that
agree after the best one-to-one relabelling of ids (e.g. a run split across processes against a single run).

In each frame the people of the two runs are paired by OKS (Hungarian, pairs below ``min_oks`` left unpaired:
the same pixels give the same poses, so a pair is the same person). Every pair adds one to the count of its
(id in A, id in B); the Hungarian method on that table gives the relabelling of B's ids that agrees on the most
pairs. ``agreement`` is that number over the people of A, so a person B missed or placed elsewhere also counts
as a disagreement.
"""
from __future__ import annotations

import numpy as np

from ..geometry import box_area, keypoint_boxes, oks
from ..layouts import get_layout
from ..types import Sequence


def id_agreement(a: Sequence, b: Sequence, min_oks: float = 0.5) -> dict:
    """``{"agreement", "people", "paired", "ids_a", "ids_b"}`` of two runs over the same frames."""
    from scipy.optimize import linear_sum_assignment

    if len(a.frames) != len(b.frames):
        raise ValueError(f"the runs have {len(a.frames)} and {len(b.frames)} frames")
    sigmas = get_layout(a.layout).sigmas
    pairs, people = [], 0
    for fa, fb in zip(a.frames, b.frames):
        people += len(fa)
        if not len(fa) or not len(fb):
            continue
        area = box_area(keypoint_boxes(fa.keypoints))
        sim = oks(fa.keypoints, fb.keypoints, area, sigmas, b_areas=box_area(keypoint_boxes(fb.keypoints)))
        rows, cols = linear_sum_assignment(-sim)
        keep = sim[rows, cols] >= min_oks
        pairs += zip(fa.track_ids[rows[keep]].tolist(), fb.track_ids[cols[keep]].tolist())
    ids_a = sorted({p for p, _ in pairs})
    ids_b = sorted({q for _, q in pairs})
    counts = np.zeros((len(ids_a), len(ids_b)), np.int64)
    if pairs:
        row, col = {t: i for i, t in enumerate(ids_a)}, {t: i for i, t in enumerate(ids_b)}
        np.add.at(counts, ([row[p] for p, _ in pairs], [col[q] for _, q in pairs]), 1)
    r, c = linear_sum_assignment(-counts)
    agreed = int(counts[r, c].sum())
    return {"agreement": agreed / max(people, 1), "people": people, "paired": len(pairs),
            "ids_a": len({t for f in a.frames for t in f.track_ids.tolist()}),
            "ids_b": len({t for f in b.frames for t in f.track_ids.tolist()})}
