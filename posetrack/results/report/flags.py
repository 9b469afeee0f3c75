"""Events worth a look in a tracked sequence, found without ground truth.

* ``switch``: a track born close to where another died a moment before: the tracker likely lost a person and
  gave them a new id (a missed re-link), or handed the id of one person to another. The dead track's last
  position is carried forward at its last velocity (``switch_extrapolate`` frames at most); the birth must lie
  within ``switch_distance + switch_growth * gap`` person heights of it, at most ``switch_frames`` frames later.
  Dead and newborn tracks are paired one to one, least total (distance / allowed distance) first.
  Two tracks that cross (their centres come within ``cross_distance`` heights) are flagged as a likely switch
  too when, after the crossing, each continues where the other was heading (positions extrapolated from the
  motion before): where one person passes in front of another, a tracker without appearance cues may exchange
  their ids.
* ``short``: a track seen in fewer than ``short_frames`` frames that neither starts at the first frame nor ends
  at the last (where the video, not the tracker, may have cut it short).
* ``jump``: a joint moving farther than ``jump_heights`` person heights per frame between two observations of
  its track (a sprinting person's wrist moves about a quarter of their height per frame at 25 fps).
* ``duplicate``: two ids in one frame whose shared joints lie within ``duplicate_distance`` heights of each
  other on average: one person drawn twice. Consecutive frames of one pair make one event.

Person height is the height of the person's box (the joints' box where there is none).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ...geometry import keypoint_boxes
from ...layouts import get_layout
from ..people import People

KINDS = {"switch": "likely id switch", "short": "very short track", "jump": "joint jump",
         "duplicate": "identical poses under two ids"}


@dataclass
class FlagConfig:
    switch_frames: int = 30
    switch_distance: float = 0.5
    switch_growth: float = 0.02    # heights the allowed distance grows per frame of the gap
    switch_extrapolate: int = 5    # frames the dead track's velocity is carried forward at most
    cross_distance: float = 0.8
    cross_merge: int = 5           # crossings of one pair fewer frames apart than this are one event
    short_frames: int = 5
    jump_heights: float = 0.5
    duplicate_distance: float = 0.05


@dataclass
class Flag:
    kind: str
    frames: list[int]              # the frames to look at (first is where it starts)
    tracks: list[int]              # the ids involved
    detail: str
    rows: list[int] = field(default_factory=list)  # the People rows involved (for thumbnails)
    real: bool | None = None       # with ground truth: whether it marks a real error


def heights(people: People) -> np.ndarray:
    """``(P,)`` person heights in pixels: box height, or the joints' box height without a box."""
    joints = keypoint_boxes(np.nan_to_num(people.keypoints))
    box_h = people.boxes[:, 3] - people.boxes[:, 1]
    h = np.where(np.isfinite(box_h) & (box_h > 1), box_h, joints[:, 3] - joints[:, 1])
    return np.maximum(h, 1.0)


def centers(people: People) -> np.ndarray:
    present = people.present[..., None]
    xy = np.where(present, people.keypoints[..., :2], 0).sum(1)
    return xy / np.maximum(present.sum(1), 1)


def find_flags(people: People, num_frames: int, config: FlagConfig | None = None) -> list[Flag]:
    """Every event of ``people`` (a tracked sequence of ``num_frames`` frames), in frame order."""
    c = config or FlagConfig()
    tracks = people.tracks()
    h, ctr = heights(people), centers(people)
    flags = (_switches(people, tracks, h, ctr, c) + _crossings(people, h, ctr, c)
             + _short(people, tracks, num_frames, c) + _jumps(people, tracks, h, c) + _duplicates(people, h, c))
    return sorted(flags, key=lambda f: (f.frames[0], f.kind, f.tracks))


def _switches(people, tracks, h, ctr, c) -> list[Flag]:
    ends = []  # (last frame, id, predicted-from row, velocity)
    for rows in tracks:
        last = rows[-1]
        back = rows[max(0, len(rows) - 5)]
        steps = people.frame[last] - people.frame[back]
        velocity = (ctr[last] - ctr[back]) / steps if steps else np.zeros(2)
        ends.append((people.frame[last], last, velocity))
    births = [rows[0] for rows in tracks]
    # cost = distance / allowed distance of every (dead, newborn) pair within reach; one-to-one, least total cost
    cost = np.full((len(ends), len(births)), np.inf)
    for e, (t_end, last, velocity) in enumerate(ends):
        for b, first in enumerate(births):
            gap = people.frame[first] - t_end
            if 0 < gap <= c.switch_frames:
                expected = ctr[last] + velocity * min(gap, c.switch_extrapolate)
                d = np.linalg.norm(ctr[first] - expected) / h[last]
                allowed = c.switch_distance + c.switch_growth * gap
                if d <= allowed:
                    cost[e, b] = d / allowed
    out = []
    if not np.isfinite(cost).any():
        return out
    for e, b in zip(*linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))):
        if not np.isfinite(cost[e, b]):
            continue
        last, first = ends[e][1], births[b]
        a_id, b_id = int(people.track[last]), int(people.track[first])
        gap = int(people.frame[first] - people.frame[last])
        out.append(Flag("switch", [int(people.frame[last]), int(people.frame[first])], [a_id, b_id],
                        f"track {b_id} starts {gap} frame(s) after track {a_id} ends, near where {a_id} was "
                        "heading", [int(last), int(first)]))
    return out


def _crossings(people, h, ctr, c) -> list[Flag]:
    def close(sel):
        d = np.linalg.norm(ctr[sel][:, None] - ctr[sel][None], axis=-1)
        return d / np.minimum(h[sel][:, None], h[sel][None]) <= c.cross_distance
    out = []
    for pair, events in _pairs_per_frame(people, close).items():
        for first, last in _runs(events, c.cross_merge):
            if not _swapped(people, ctr, pair, first[0], last[0]):
                continue
            out.append(Flag("switch", [first[0], last[0]], list(pair),
                            f"tracks {pair[0]} and {pair[1]} cross in frame(s) {first[0]}-{last[0]}: their ids may "
                            "have been exchanged", [first[1], first[2]]))
    return out


def _swapped(people, ctr, pair, start, end, window: int = 10) -> bool:
    """Whether, after tracks ``pair`` came close in frames ``start``-``end``, each continues where the *other*
    was heading: the positions after the crossing fit the two tracks' earlier motion better exchanged."""
    def path(track):
        rows = np.flatnonzero(people.track == track)
        return people.frame[rows], ctr[rows]
    motion = {}
    for track in pair:
        frames, xy = path(track)
        before = (frames < start) & (frames >= start - window)
        after = (frames > end) & (frames <= end + window)
        if before.sum() < 2:
            return False
        fb, xb = frames[before], xy[before]
        velocity = (xb[-1] - xb[0]) / max(fb[-1] - fb[0], 1)
        motion[track] = (fb[-1], xb[-1], velocity, (frames[after][0], xy[after][0]) if after.any() else None)

    def miss(track, other):  # distance from where ``other`` would be to where ``track`` shows up after
        t0, x0, v, _ = motion[other]
        t1, x1 = motion[track][3]
        return np.linalg.norm(x1 - (x0 + v * (t1 - t0)))
    a, b = pair
    seen = [t for t in pair if motion[t][3] is not None]
    if not seen:
        return False
    keep = sum(miss(t, t) for t in seen)
    swap = sum(miss(t, b if t == a else a) for t in seen)
    return swap < keep


def _pairs_per_frame(people, close) -> dict:
    """``{(id a, id b): [(frame, row a, row b), ...]}`` for the pairs of one frame that ``close(rows)`` marks."""
    hits = {}
    order = np.argsort(people.frame, kind="stable")
    bounds = np.searchsorted(people.frame[order], np.arange(people.frame.max() + 2 if len(people) else 1))
    for t in range(len(bounds) - 1):
        sel = order[bounds[t]:bounds[t + 1]]
        sel = sel[people.track[sel] >= 0]
        if len(sel) < 2:
            continue
        for i, j in zip(*np.nonzero(np.triu(close(sel), 1))):
            pair = tuple(sorted((int(people.track[sel[i]]), int(people.track[sel[j]]))))
            hits.setdefault(pair, []).append((t, int(sel[i]), int(sel[j])))
    return hits


def _runs(events: list, merge: int = 1) -> list:
    """``(first, last)`` events of each run of frames at most ``merge`` apart."""
    cuts = np.flatnonzero(np.diff([e[0] for e in events]) > merge) + 1
    return [(events[r[0]], events[r[-1]]) for r in np.split(np.arange(len(events)), cuts)]


def _short(people, tracks, num_frames, c) -> list[Flag]:
    out = []
    for rows in tracks:
        first, last = people.frame[rows[0]], people.frame[rows[-1]]
        if len(rows) < c.short_frames and first > 0 and last < num_frames - 1:
            tid = int(people.track[rows[0]])
            out.append(Flag("short", [int(first), int(last)], [tid],
                            f"track {tid} is seen in {len(rows)} frame(s) ({first}-{last})", [int(rows[0])]))
    return out


def _jumps(people, tracks, h, c) -> list[Flag]:
    out = []
    present = people.present
    names = get_layout("posetrack18").joints
    for rows in tracks:
        if len(rows) < 2:
            continue
        a, b = rows[:-1], rows[1:]
        steps = (people.frame[b] - people.frame[a])[:, None]
        move = np.linalg.norm(people.keypoints[b, :, :2] - people.keypoints[a, :, :2], axis=-1) / steps
        limit = c.jump_heights * np.maximum(h[a], h[b])[:, None]
        jumped = present[a] & present[b] & (move > limit)
        for i in np.flatnonzero(jumped.any(1)):
            joints = np.flatnonzero(jumped[i])
            tid = int(people.track[b[i]])
            worst = joints[np.argmax(move[i, joints])]
            out.append(Flag("jump", [int(people.frame[a[i]]), int(people.frame[b[i]])], [tid],
                            f"track {tid}: {len(joints)} joint(s) jump, {names[worst]} by "
                            f"{move[i, worst] / limit[i, 0] * c.jump_heights:.2f} heights", [int(a[i]), int(b[i])]))
    return out


def _duplicates(people, h, c) -> list[Flag]:
    present = people.present

    def close(sel):
        both = present[sel][:, None] & present[sel][None]
        d = np.linalg.norm(people.keypoints[sel][:, None, :, :2] - people.keypoints[sel][None, :, :, :2], axis=-1)
        shared = both.sum(-1)
        mean = np.where(shared >= 3, (d * both).sum(-1) / np.maximum(shared, 1), np.inf)
        return mean / np.minimum(h[sel][:, None], h[sel][None]) <= c.duplicate_distance
    out = []
    for pair, events in _pairs_per_frame(people, close).items():
        for first, last in _runs(events):
            out.append(Flag("duplicate", [first[0], last[0]], list(pair),
                            f"tracks {pair[0]} and {pair[1]} hold the same pose in frame(s) {first[0]}-{last[0]}",
                            [first[1], first[2]]))
    return out
