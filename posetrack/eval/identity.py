"""Identity measures per joint: IDF1, IDP, IDR (Ristani et al. 2016), as motmetrics 1.4 defines them.

MOTA counts an id switch once, however long the wrong id lasts; the identity measures count every frame spent
under the wrong id. motmetrics' ``id_global_assignment`` matches object ids to hypothesis ids once for the whole
sequence, maximising the number of frames in which the pair was pairable (distance not NaN: here the PCKh
distance <= 0.5 of the MOTA problem, ``mot.joint_problems``). With ``o_k`` the frames object ``k`` is present,
``h_l`` the frames hypothesis ``l`` is present and ``M`` the matched pairs' pairable frames:

* ``idfn = sum(o_k) - M``, ``idfp = sum(h_l) - M``, ``idtp = num_objects - idfn`` (motmetrics' own formulas;
  ``num_objects`` counts object appearances, so ``idtp = M`` whenever ids are unique within a frame);
* IDP = idtp / (idtp + idfp), IDR = idtp / (idtp + idfn), IDF1 = 2 idtp / (2 idtp + idfp + idfn).

motmetrics solves a square ``(objects + hypotheses)`` cost matrix of ``fp + fn`` per pair; its minimum equals
``sum(o_k) + sum(h_l) - 2 M`` with ``M`` the maximum-weight matching of the pairable-frame counts, which is what
``identity_counts`` solves directly on the (much smaller) matrix of ids that were ever pairable. The counts are
summed over sequences per joint before the ratios, as poseval sums the MOTA counts. Like motmetrics, the ids
of poseval's fake object/hypothesis pair (id 0, see ``mot``) take part as any other id.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.optimize import linear_sum_assignment

ID_COUNTS = ("idtp", "idfp", "idfn")


class PairCounts:
    """For one joint of one sequence: in how many frames each (object id, hypothesis id) pair was pairable, and
    the frames each id was present summed over the ids (all the assignment needs of the per-id counts).

    ``add`` runs for every joint of every frame, so it only appends to a list (C-speed ``Counter`` at the end).
    """

    def __init__(self):
        self.object_frames = 0
        self.hypothesis_frames = 0
        self.pairs: list = []

    def add(self, oids: list, hids: list, dists: list[list[float]] | None) -> None:
        """One frame: object ids, hypothesis ids and their distance rows (None: nothing pairable)."""
        # A set: motmetrics counts the frames an id appears in (``nunique`` of frame ids), and ground-truth ids
        # are not checked for duplicates; hypothesis ids are unique within a frame (checked on loading).
        self.object_frames += len(set(oids))
        self.hypothesis_frames += len(hids)
        if dists:
            self.pairs.extend([(o, h) for o, row in zip(oids, dists) for h, d in zip(hids, row) if d == d])

    def counts(self, num_objects: float) -> dict:
        """``{"idtp", "idfp", "idfn"}`` after the global id assignment."""
        matched = 0.0
        if self.pairs:
            pairs = Counter(self.pairs)
            o_index = {o: i for i, o in enumerate(dict.fromkeys(o for o, _ in pairs))}
            h_index = {h: i for i, h in enumerate(dict.fromkeys(h for _, h in pairs))}
            frames = np.zeros((len(o_index), len(h_index)))
            for (o, h), n in pairs.items():
                frames[o_index[o], h_index[h]] = n
            rows, cols = linear_sum_assignment(frames, maximize=True)
            matched = float(frames[rows, cols].sum())
        idfn = self.object_frames - matched
        idfp = self.hypothesis_frames - matched
        return {"idtp": num_objects - idfn, "idfp": float(idfp), "idfn": float(idfn)}


def identity_metrics(idtp: np.ndarray, idfp: np.ndarray, idfn: np.ndarray) -> dict:
    """Per-joint IDF1, IDP and IDR (x100) from summed counts; NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"idf1": 100 * 2 * idtp / (2 * idtp + idfp + idfn), "idp": 100 * idtp / (idtp + idfp),
                "idr": 100 * idtp / (idtp + idfn)}
