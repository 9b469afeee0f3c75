"""A ``FlowTracker``'s complete state as plain data, and back: what a resumed run needs to go on exactly.

``tracker_state(tracker)`` returns nested dicts and lists of numpy arrays and Python numbers: the queue of the
last ``L_Q`` frames (ids, boxes, joints, box scores, joints propagated to the current frame), the id counter, every
re-link so far, and the re-linker's live and lost tracks (place, size, velocity, colours, ages). The previous frame
is not in it (only whether there was one): a resumed run decodes that frame again and hands it to
``restore_tracker``. Restoring it into a tracker built with the same config and frame rate gives a tracker whose
every later output is bit for bit that of the tracker that was saved.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .relink import Relinker, TrackState
from .tracker import FlowTracker, _Entry

_ENTRY_FIELDS = [f.name for f in dataclasses.fields(_Entry)]
_TRACK_FIELDS = [f.name for f in dataclasses.fields(TrackState)]


def _tracks(states: dict[int, TrackState]) -> list[dict]:
    return [{"id": int(tid), **{name: getattr(s, name) for name in _TRACK_FIELDS}} for tid, s in states.items()]


def _from_tracks(rows: list[dict]) -> dict[int, TrackState]:
    return {int(row["id"]): TrackState(**{name: row[name] for name in _TRACK_FIELDS}) for row in rows}


def tracker_state(tracker: FlowTracker) -> dict:
    """Everything ``tracker`` carries from one frame to the next except the previous frame's pixels."""
    relinker = tracker.relinker
    return {
        "queue": [{name: np.array(getattr(e, name)) for name in _ENTRY_FIELDS} for e in tracker._queue],
        "next_id": int(tracker._ids.next_id),
        "has_prev_frame": tracker._prev_frame is not None,
        "renames": [[int(a), int(b)] for a, b in tracker.renames.items()],
        "relinker": None if relinker is None else {
            "frame_index": int(relinker.frame_index), "live": _tracks(relinker.live), "lost": _tracks(relinker.lost)},
    }


def restore_tracker(tracker: FlowTracker, state: dict, prev_frame: np.ndarray | None) -> None:
    """Put ``state`` (from ``tracker_state``) into ``tracker``, a fresh one of the same config and frame rate;
    ``prev_frame`` is the last frame it saw, decoded again."""
    tracker._queue.clear()
    for entry in state["queue"]:
        tracker._queue.append(_Entry(**{name: np.asarray(entry[name]) for name in _ENTRY_FIELDS}))
    tracker._ids.next_id = int(state["next_id"])
    tracker._prev_frame = prev_frame if state["has_prev_frame"] else None
    tracker.renames = {int(a): int(b) for a, b in state["renames"]}
    tracker.renamed_now = {}
    saved = state["relinker"]
    if (saved is None) != (tracker.relinker is None):
        raise ValueError("the saved tracker state and this tracker differ in re-linking")
    if saved is not None:
        relinker: Relinker = tracker.relinker
        relinker.frame_index = int(saved["frame_index"])
        relinker.live = _from_tracks(saved["live"])
        relinker.lost = _from_tracks(saved["lost"])
