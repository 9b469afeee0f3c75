"""PoseTrack21 files: one JSON per sequence, the 2018 layout annotated densely, and the data set's folder layout.

A PoseTrack21 sequence file is a PoseTrack 2018 file (``images``, ``annotations``, ``categories``) in which:

* every image carries ``is_labeled`` and the two keys ``ignore_regions_x`` / ``ignore_regions_y`` (lists of
  polygons, possibly empty): the official kit (``anDoer/PoseTrack21``, ``eval/posetrack21``) reads them on every
  image and crashes without them;
* every annotation carries ``track_id`` (the person within the video), ``person_id`` (the person across videos),
  17 keypoints in the PoseTrack slots (slots 3/4 are placeholders), ``bbox`` and ``bbox_head``; people on frames
  that are not labeled are box-only (all keypoints 0) and still need ``bbox_head`` in ground truth.

The kit reads keypoints by slot and never reads ``categories``, so a file whose ``categories`` name the joints in
another order (a COCO-ordered file) would be scored silently wrong: the reader refuses it. ``to_dict`` writes
files the kit accepts; ``frame_entries`` gives one frame's image and annotations for a streaming writer.

The data set's layout (``ROOT/posetrack_data/<split>/<seq>.json``, ``ROOT/images/<split>/<seq>/...``) is found by
``dataset_sequences``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import PosetrackError
from ..layouts import POSETRACK18
from ..types import Frame, Sequence
from . import posetrack18
from .common import load_json, write_json

FORMAT = "posetrack21"


def _check_slots(path, data: dict) -> None:
    cats = data.get("categories")
    if cats is None:  # predictions may leave it out: the kit reads keypoints by slot only
        return
    names = cats[0].get("keypoints") if isinstance(cats, list) and cats and isinstance(cats[0], dict) else None
    if names != list(POSETRACK18.joints):
        shown = ", ".join(map(str, names[:5])) + ", ..." if isinstance(names, list) else repr(names)
        raise PosetrackError(f"{path}: categories[0].keypoints is [{shown}], not the PoseTrack slot order (nose, "
                             "head_bottom, head_top, left_ear, right_ear, ...); the PoseTrack21 evaluation reads "
                             "keypoints by slot, so write them in PoseTrack order (a COCO-ordered file would be "
                             "scored with eyes as neck and head top)")


def from_dict(data: object, path: str | os.PathLike = "<data>", name: str | None = None) -> Sequence:
    """Parse a loaded PoseTrack21 sequence dict into a ``Sequence`` (posetrack18 layout, ``person_ids`` kept)."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise PosetrackError(f"{path}: not a PoseTrack21 sequence file (expected an object with 'images' and "
                             "'annotations')")
    _check_slots(path, data)
    return posetrack18.from_dict({**data, "categories": posetrack18.categories()}, path, name)


def read_sequence(path: str | os.PathLike) -> Sequence:
    """Read one PoseTrack21 sequence file; the sequence is named after the file's stem."""
    return from_dict(load_json(path), path)


def is_posetrack21(data: object) -> bool:
    """Whether a loaded sequence dict is a PoseTrack21 file rather than a 2018 one: an annotation has a
    ``person_id``, or every image carries the ignore-region keys even where they are empty (2018 files leave
    them out when there is no region)."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not data["images"]:
        return False
    anns = data.get("annotations")
    if isinstance(anns, list) and any(isinstance(a, dict) and "person_id" in a for a in anns):
        return True
    images = data["images"]
    keys = all(isinstance(i, dict) and "ignore_regions_x" in i and "ignore_regions_y" in i for i in images)
    return keys and any(not i["ignore_regions_x"] for i in images)


def _complete(seq: Sequence, frames: list[Frame], out: dict) -> dict:
    """Add what PoseTrack21 needs to a 2018 dict of ``frames``: ignore-region keys on every image and a
    ``person_id`` on every annotation (the track id where the identity across videos is unknown)."""
    for image in out["images"]:
        image.setdefault("ignore_regions_x", [])
        image.setdefault("ignore_regions_y", [])
    anns = iter(out["annotations"])
    for f in frames:
        persons = np.asarray(f.person_ids, np.int64).reshape(-1)
        for p in range(len(f)):
            ann = next(anns)
            ann["person_id"] = int(persons[p]) if persons.size == len(f) else ann["track_id"]
    return out


def to_dict(seq: Sequence) -> dict:
    """The PoseTrack21 dict of ``seq`` (keypoints in the posetrack18 layout), accepted by the official kit: every
    image listed in order with ``is_labeled`` and ignore-region keys, a joint not predicted as ``0, 0, 0``."""
    return _complete(seq, seq.frames, posetrack18.to_dict(seq))


def frame_entries(seq: Sequence, index: int) -> tuple[dict, list[dict]]:
    """The image entry and the annotations of frame ``index`` alone, as ``to_dict`` writes them (for writers
    that stream a file frame by frame); ``nframes`` is the whole sequence's."""
    frame = seq.frames[index]
    one = Sequence(name=seq.name, frames=[frame], layout=seq.layout, vid_id=seq.vid_id)
    out = _complete(one, [frame], posetrack18.to_dict(one))
    image = out["images"][0]
    image["nframes"] = len(seq.frames)
    return image, out["annotations"]


def write_sequence(path: str | os.PathLike, seq: Sequence) -> None:
    """Write ``seq`` as a PoseTrack21 file at ``path`` (atomically: temporary file, then rename)."""
    write_json(path, to_dict(seq))


categories = posetrack18.categories


def dataset_sequences(root: str | os.PathLike, split: str = "val") -> list[tuple[str, Path, Path]]:
    """``(sequence name, ground-truth file, image folder)`` for every sequence of a PoseTrack21 data set root
    (``ROOT/posetrack_data/<split>/<seq>.json`` with images under ``ROOT/images/<split>/<seq>/``), sorted by name.

    The image folder is taken from the first image's ``file_name`` (relative to ROOT, as in the release) when
    the file lists one, else ``ROOT/images/<split>/<seq>``.
    """
    root = Path(root)
    folder = root / "posetrack_data" / split
    if not folder.is_dir():
        splits = sorted(p.name for p in (root / "posetrack_data").glob("*") if p.is_dir())
        hint = f"; it has {', '.join(splits)}" if splits else ""
        raise PosetrackError(f"{root}: no posetrack_data/{split} folder, so not a PoseTrack21 root for split "
                             f"{split!r}{hint}")
    out = []
    for gt in sorted(folder.glob("*.json")):
        images = root / "images" / split / gt.stem
        data = load_json(gt)
        first = data.get("images", [{}])[0] if isinstance(data, dict) and data.get("images") else {}
        if isinstance(first, dict) and isinstance(first.get("file_name"), str):
            images = root / os.path.dirname(first["file_name"])
        out.append((gt.stem, gt, images))
    if not out:
        raise PosetrackError(f"{folder}: no sequence files (*.json)")
    return out


def is_dataset_root(root: str | os.PathLike) -> bool:
    """Whether ``root`` looks like a PoseTrack21 data set root (a ``posetrack_data`` folder beside ``images``)."""
    root = Path(root)
    return (root / "posetrack_data").is_dir() and (root / "images").is_dir()
