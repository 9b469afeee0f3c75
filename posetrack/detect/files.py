"""Person boxes that were computed elsewhere: a detections file, or the ground truth's keypoint boxes.

* COCO results JSON: a list of ``{image_id, category_id, bbox: [x, y, w, h], score}``. ``image_id`` is the
  0-based frame index (for an image folder: the image's position in file-name order); a string ``image_id``
  (AlphaPose writes file names there) is matched to the frames' file names. Entries with a ``category_id``
  other than 1 (person) are ignored.
* PoseTrack 2017/2018 files (predictions or ground truth): the boxes of the i-th image are frame i's.
* ``GroundTruthBoxes``: the box of each ground-truth person's labelled joints enlarged by 15%, score 1: the
  paper's GT-box ablation (§4.2, "extended by 15%").
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import PosetrackError
from ..formats.coco import box_results
from ..geometry import BOX_ENLARGE, keypoint_boxes
from .base import BoxSource, Detections, sorted_detections

class _IndexedBoxes(BoxSource):
    """Boxes looked up by frame index; frames without an entry get no boxes."""

    needs_pixels = False
    batch_size = 64

    def __init__(self, by_index: dict[int, Detections], path: str):
        self.path = path
        self._by_index = by_index

    def __len__(self) -> int:
        return len(self._by_index)

    def __call__(self, frames: list[np.ndarray | None] | None, frame_indices: list[int]) -> list[Detections]:
        return [self._by_index.get(int(i), Detections.empty()) for i in frame_indices]


class DetectionsFile(_IndexedBoxes):
    """Boxes from a COCO results JSON or a PoseTrack file, scores below ``score_threshold`` dropped."""

    def __init__(self, path: str | os.PathLike, score_threshold: float = 0.0,
                 frame_names: list[str] | None = None):
        path = os.fspath(path)
        data = _load_json(path)
        if isinstance(data, list):
            by_index = _coco_results(data, path, frame_names)
        else:
            seq = _posetrack(data, path)
            by_index = {i: sorted_detections(f.boxes, f.scores) for i, f in enumerate(seq.frames) if len(f.boxes)}
        keep = {i: _above(d, score_threshold) for i, d in by_index.items()}
        super().__init__({i: d for i, d in keep.items() if len(d.scores)}, path)


class GroundTruthBoxes(_IndexedBoxes):
    """Boxes around each ground-truth person's labelled joints, enlarged by 15%, score 1."""

    def __init__(self, path: str | os.PathLike):
        path = os.fspath(path)
        seq = _posetrack(_load_json(path), path)
        by_index = {}
        for i, frame in enumerate(seq.frames):
            labelled = (frame.keypoints[..., 2] > 0).any(-1)
            if labelled.any():
                boxes = keypoint_boxes(frame.keypoints[labelled], min_score=0, enlarge=BOX_ENLARGE)
                by_index[i] = Detections(boxes, np.ones(len(boxes), np.float32))
        super().__init__(by_index, path)


def _above(d: Detections, threshold: float) -> Detections:
    keep = d.scores >= threshold
    return Detections(d.boxes[keep], d.scores[keep])


def _load_json(path: str):
    from ..formats.common import load_json  # PosetrackError for missing, folder or malformed files
    return load_json(path)


def _posetrack(data, path: str):
    if not isinstance(data, dict):
        raise PosetrackError(f"{path}: expected a PoseTrack file (a JSON object) or COCO results (a JSON list)")
    from ..formats import from_dict_any
    return from_dict_any(data, path)


def _coco_results(entries: list, path: str, frame_names: list[str] | None) -> dict[int, Detections]:
    """Frame index -> that frame's detections (the image id is the frame index, or a file name of the frames)."""
    results = box_results(entries, path)
    name_index = {name: i for i, name in enumerate(frame_names or ())}
    frames = np.full(len(results.image_ids), -1, np.int64)
    for n, image_id in enumerate(results.image_ids):
        if isinstance(image_id, str):
            index = name_index.get(image_id, name_index.get(os.path.basename(image_id)))
            if index is None and frame_names is None:
                raise PosetrackError(f"{path}: entry {n} has the file name {image_id!r} as image_id; that needs an "
                                     "image folder input whose file names it can match")
            frames[n] = -1 if index is None else index  # -1: a file of another sequence
        elif not isinstance(image_id, int) or isinstance(image_id, bool) or image_id < 0:
            raise PosetrackError(f"{path}: entry {n}: image_id must be a 0-based frame index, got {image_id!r}")
        else:
            frames[n] = image_id
    groups = results.groups(frames)
    return {i: sorted_detections(*group) for i, group in groups.items() if i >= 0}
