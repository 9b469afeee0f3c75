"""Greedy id assignment (Algorithm 1, ``F_AssignID``) and the id counter that never reuses an id."""
from __future__ import annotations

import numpy as np


def greedy_match(similarity: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(rows, cols)`` chosen greedily: take the most similar remaining pair, remove its row and column,
    repeat. A pair matches only when its similarity is ``>= threshold`` and ``> 0`` (no overlap at all is never
    a match). Ties go to the lower row, then the lower column.
    """
    similarity = np.asarray(similarity, dtype=np.float32)
    if similarity.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    n_cols = similarity.shape[1]
    flat = similarity.ravel()
    ok = np.flatnonzero((flat >= threshold) & (flat > 0))
    order = ok[np.argsort(-flat[ok], kind="stable")]
    row_free = np.ones(similarity.shape[0], bool)
    col_free = np.ones(n_cols, bool)
    rows, cols = [], []
    limit = min(similarity.shape)
    # Only pairs above the threshold are visited, best first; the loop ends once every row or column is taken.
    for r, c in zip(*np.divmod(order, n_cols)):
        if row_free[r] and col_free[c]:
            row_free[r] = col_free[c] = False
            rows.append(r)
            cols.append(c)
            if len(rows) == limit:
                break
    return np.asarray(rows, np.int64), np.asarray(cols, np.int64)


class IdCounter:
    """Hands out track ids 0, 1, 2, ... ; an id is never given twice, so a track that ends leaves a hole."""

    def __init__(self, start: int = 0):
        self.next_id = start

    def take(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return ids


def assign_ids(candidate_ids: np.ndarray, similarity: np.ndarray, threshold: float,
               counter: IdCounter) -> np.ndarray:
    """Track ids for the N current poses: the matched candidate's id, or a new id from ``counter``."""
    n = similarity.shape[1]
    ids = np.full(n, -1, np.int64)
    rows, cols = greedy_match(similarity, threshold)
    ids[cols] = np.asarray(candidate_ids, np.int64)[rows]
    new = ids < 0
    # New ids in pose order, so the same input always yields the same ids.
    ids[new] = counter.take(int(new.sum()))
    return ids
