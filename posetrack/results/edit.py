"""Track id edits on a result file: merge, split, delete and swap, recorded in the file so they can be replayed.

The edits change only track ids (merge, split, swap) or drop people (delete) in the JSON as it was loaded;
everything else (coordinates, scores, key order, other keys) is written back as it was. The list of edits applied
is appended to the top-level key ``posetrack_edits``, which the official evaluation, the PoseTrack21 kit and
posetrack's own readers ignore. Its items have the form an edits file uses::

    - merge: [3, 7]        # track 7 becomes track 3
    - split: [3, 120]      # track 3 gets a new id from frame 120 on (recorded with "new_id")
    - delete: 5            # track 5 is removed
    - swap: [2, 4, 60]     # from frame 60 on, tracks 2 and 4 exchange ids

Frames are indices into the result's image list (= frame numbers of the video, from 0). Ids refer to the file
as it is when the edit is applied, after the edits before it. A mistake (an unknown id, a frame outside the
video, a merge of two tracks seen in the same frame) is one ``PosetrackError`` line, before anything is written.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass

import numpy as np
import yaml

from ..errors import PosetrackError
from ..formats.common import MAX_TRACK_ID
from .files import Result

EDITS_KEY = "posetrack_edits"
OPS = {"merge": 2, "split": 2, "delete": 1, "swap": 3}  # operation -> number of values


@dataclass
class Edit:
    op: str
    values: tuple[int, ...]  # merge (A, B), split (A, FRAME), delete (A,), swap (A, B, FRAME)

    def record(self, new_id: int | None = None) -> dict:
        item = {self.op: self.values[0] if self.op == "delete" else list(self.values)}
        if new_id is not None:
            item["new_id"] = new_id
        return item

    def __str__(self) -> str:
        text = {"merge": "{} {}", "split": "{}@{}", "delete": "{}", "swap": "{} {}@{}"}[self.op]
        return f"--{self.op} " + text.format(*self.values)


def parse_item(item, where: str) -> Edit:
    """One edit from its recorded form (``{"merge": [A, B]}``...)."""
    keys = [k for k in item if k in OPS] if isinstance(item, dict) else []
    if len(keys) != 1 or set(item) - {keys[0], "new_id"}:
        raise PosetrackError(f"{where}: expected one of merge: [A, B], split: [A, FRAME], delete: A, "
                             f"swap: [A, B, FRAME]; got {item!r}")
    op = keys[0]
    raw = item[op] if isinstance(item[op], list) else [item[op]]
    if len(raw) != OPS[op] or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        raise PosetrackError(f"{where}: {op} needs {OPS[op]} integer(s), got {item[op]!r}")
    return Edit(op, tuple(raw))


def parse_argument(op: str, text: str) -> Edit:
    """An edit from the command line: ``A B`` (merge), ``A@FRAME`` (split), ``A`` (delete), ``A B@FRAME`` (swap)."""
    forms = {"merge": "A B", "split": "A@FRAME", "delete": "A", "swap": "A B@FRAME"}
    parts = text.replace("@", " ").split()
    if ("@" in text) != (op in ("split", "swap")) or len(parts) != OPS[op] or not all(_is_int(p) for p in parts):
        raise PosetrackError(f"--{op} {text}: expected --{op} {forms[op]} with integer ids and frames")
    return Edit(op, tuple(int(p) for p in parts))


def read_edits(path: str | os.PathLike) -> list[Edit]:
    """Edits from a YAML (or JSON) list, or from the ``posetrack_edits`` of an edited result (to replay them)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise PosetrackError(f"{path}: edits file not found") from None
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise PosetrackError(f"{path}: not a readable YAML edits file ({getattr(err, 'problem', None) or err})") \
            from None
    if isinstance(data, dict) and EDITS_KEY in data:
        data = data[EDITS_KEY]
    if not isinstance(data, list):
        raise PosetrackError(f"{path}: expected a list of edits (- merge: [A, B] ...) or a result with "
                             f"{EDITS_KEY}")
    return [parse_item(item, f"{path}: edit {i + 1}") for i, item in enumerate(data)]


class _People:
    """The people of a result's JSON as arrays: frame index, track id, kept or deleted."""

    def __init__(self, result: Result):
        self.data = copy.deepcopy(result.data)
        self.format = result.format
        self.where = str(result.path)
        if self.format == "posetrack18":
            row = {image["id"]: i for i, image in enumerate(self.data["images"])}
            self.items = self.data["annotations"]
            self.frame = np.array([row[a["image_id"]] for a in self.items], np.int64)
            self.num_frames = len(self.data["images"])
        else:
            self.items = [r for entry in self.data["annolist"] for r in entry.get("annorect") or []]
            counts = [len(entry.get("annorect") or []) for entry in self.data["annolist"]]
            self.frame = np.repeat(np.arange(len(counts)), counts)
            self.num_frames = len(counts)
        self.ids = np.array([_track_id(item) for item in self.items], np.int64)
        self.kept = np.ones(len(self.items), bool)

    def require(self, track: int, op: str) -> np.ndarray:
        have = (self.ids == track) & self.kept
        if not have.any():
            known = np.unique(self.ids[self.kept])
            listed = ", ".join(map(str, known[:20])) + (" ..." if len(known) > 20 else "")
            raise PosetrackError(f"{self.where}: {op}: no track {track} (tracks: {listed or 'none'})")
        return have

    def check_frame(self, frame: int, op: str) -> None:
        if not 0 <= frame < self.num_frames:
            raise PosetrackError(f"{self.where}: {op}: frame {frame} is outside the video (frames 0 to "
                                 f"{self.num_frames - 1})")

    def apply(self, edit: Edit) -> dict:
        v, op = edit.values, str(edit)
        if edit.op == "delete":
            self.kept &= ~self.require(v[0], op)
            return edit.record()
        if edit.op == "merge":
            a, b = self.require(v[0], op), self.require(v[1], op)
            both = np.intersect1d(self.frame[a], self.frame[b])
            if v[0] == v[1] or both.size:
                why = "the same track" if v[0] == v[1] else \
                    f"both are in frame(s) {', '.join(map(str, both[:5]))}{' ...' if both.size > 5 else ''}"
                raise PosetrackError(f"{self.where}: {op}: cannot merge, {why}; split or delete one part first")
            self.ids[b] = v[0]
            return edit.record()
        frame = v[-1]
        self.check_frame(frame, op)
        later = self.frame >= frame
        if edit.op == "split":
            part = self.require(v[0], op) & later
            if not part.any():
                raise PosetrackError(f"{self.where}: {op}: track {v[0]} has no person from frame {frame} on")
            new_id = int(self.ids.max()) + 1
            if new_id >= MAX_TRACK_ID:
                raise PosetrackError(f"{self.where}: {op}: the new id would be {new_id}, but the official "
                                     f"evaluation refuses ids >= {MAX_TRACK_ID}; merge or delete tracks first")
            self.ids[part] = new_id
            return edit.record(new_id)
        a, b = self.require(v[0], op) & later, self.require(v[1], op) & later
        if v[0] == v[1] or not (a.any() or b.any()):
            why = "the same track" if v[0] == v[1] else f"neither is seen from frame {frame} on"
            raise PosetrackError(f"{self.where}: {op}: nothing to swap, {why}")
        self.ids[a], self.ids[b] = v[1], v[0]
        return edit.record()

    def written(self, records: list[dict]) -> dict:
        """The edited JSON: ids set, deleted people dropped, the edits appended to ``posetrack_edits``."""
        for item, track in zip(self.items, self.ids.tolist()):
            item["track_id"] = [track] if self.format == "posetrack17" else track
        if self.format == "posetrack18":
            self.data["annotations"] = [a for a, keep in zip(self.items, self.kept) if keep]
        else:
            start = 0
            for entry in self.data["annolist"]:
                rects = entry.get("annorect") or []
                kept = self.kept[start:start + len(rects)]
                if rects:
                    entry["annorect"] = [r for r, keep in zip(rects, kept) if keep]
                start += len(rects)
        self.data[EDITS_KEY] = list(self.data.get(EDITS_KEY) or []) + records
        return self.data


def apply_edits(result: Result, edits: list[Edit]) -> dict:
    """The edited JSON (a new dict; ``result.data`` is left as it was) with the edits recorded."""
    if not edits:
        raise PosetrackError(f"{result.path}: no edit given; use --merge, --split, --delete, --swap or --edits")
    people = _People(result)
    return people.written([people.apply(edit) for edit in edits])


def _track_id(item) -> int:
    value = item.get("track_id", -1) if isinstance(item, dict) else -1
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else -1


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()
