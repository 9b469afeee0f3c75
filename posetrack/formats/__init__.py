"""PoseTrack 2017/2018/2021 and COCO keypoint files, read into and written from ``posetrack.types.Sequence``.

``posetrack18.read_sequence`` / ``write_sequence`` are the main entry points; ``read_sequence_any`` detects the
format; ``prediction_template`` gives a prediction sequence with the ground truth's images for writers.
``posetrack21`` adds PoseTrack21's keys and data set layout, ``mot`` its box-tracking text files.
"""
from __future__ import annotations

import os


from ..errors import PosetrackError
from ..types import Frame, Sequence
from . import mot, posetrack17, posetrack18, posetrack21
from .common import (MAX_TRACK_ID, image_id_for, load_json, parse_file_name, present_joints, sequence_file_name,
                     sequence_name, write_json)


def from_dict_any(data: object, path: str | os.PathLike = "<data>") -> Sequence:
    """Parse a loaded PoseTrack 2017 (``annolist``), 2021 (``posetrack21.is_posetrack21``) or 2018 dict."""
    if isinstance(data, dict) and "annolist" in data:
        return posetrack17.from_dict(data, path)
    if posetrack21.is_posetrack21(data):
        return posetrack21.from_dict(data, path)
    return posetrack18.from_dict(data, path)


def read_sequence_any(path: str | os.PathLike) -> Sequence:
    """Read a PoseTrack sequence file of any year (2017 has ``annolist``, as poseval tells them apart; 2021
    carries ``person_id`` or ignore-region keys on every image)."""
    return from_dict_any(load_json(path), path)


WRITERS = {"posetrack18": posetrack18, "posetrack17": posetrack17, "posetrack21": posetrack21}


def write_sequence(path: str | os.PathLike, seq: Sequence, fmt: str = "posetrack18") -> None:
    if fmt not in WRITERS:
        raise PosetrackError(f"unknown PoseTrack format {fmt!r}; choose one of {', '.join(WRITERS)}")
    WRITERS[fmt].write_sequence(path, seq)


def prediction_template(gt: Sequence) -> Sequence:
    """An empty prediction sequence for ``gt``: same name, file names, image ids, order and sizes, no people.

    Fill ``frames[i]`` with the people predicted on ``gt.frames[i]``; written with ``posetrack18.write_sequence``
    it lists every image of the ground truth in its order, as the evaluation requires.
    """
    frames = [Frame(file_name=f.file_name, image_id=f.image_id, is_labeled=f.is_labeled, width=f.width,
                    height=f.height) for f in gt.frames]
    return Sequence(name=gt.name, frames=frames, layout="posetrack18", vid_id=gt.vid_id)


__all__ = ["posetrack17", "posetrack18", "posetrack21", "mot", "WRITERS", "read_sequence_any", "from_dict_any",
           "write_sequence", "prediction_template", "present_joints", "sequence_file_name", "sequence_name",
           "parse_file_name", "image_id_for", "load_json", "write_json", "MAX_TRACK_ID"]
