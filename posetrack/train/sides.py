"""Left/right confusion of a pose network: per-limb counts behind ``scripts/diagnose_left_right.py``.

A network that cannot tell a person's sides apart learns one heatmap for both joints of a pair: two modes, one per
limb, the same in both channels. Its argmax then puts the left and the right joint on the same (brighter) limb, so
about half of them are wrong however well the limbs themselves are found. ``pair_counts`` measures this: how often
the pair's two joints share a heatmap pixel, how many are correct, and how many would be correct if the network's
two strongest modes went to the right sides (an oracle that knows left from right).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ..errors import PosetrackError
from ..eval.ap import DIST_THRESHOLD
from ..eval.prepare import head_sizes
from ..formats import posetrack18
from ..geometry import BOX_ENLARGE, box_to_center_scale, keypoint_boxes
from ..pose.decode import decode_heatmaps, heatmap_inverse_matrices, to_frame_coords
from ..pose.transforms import affine_matrices

PAIRS = {"shoulder": (5, 6), "elbow": (7, 8), "wrist": (9, 10), "hip": (11, 12), "knee": (13, 14),
         "ankle": (15, 16)}


def second_modes(heatmaps: torch.Tensor, peaks: torch.Tensor, radius: float) -> tuple[torch.Tensor, torch.Tensor]:
    """For ``(N, H, W)`` heatmaps and their ``(N, 2)`` argmax pixels: the strongest point farther than ``radius``
    pixels from the argmax (decoded as the main peak is), and its value."""
    n, h, w = heatmaps.shape
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    near = (xs - peaks[:, 0].view(-1, 1, 1)) ** 2 + (ys - peaks[:, 1].view(-1, 1, 1)) ** 2 <= radius ** 2
    masked = heatmaps.float().masked_fill(near, -1.0)
    coords, values = decode_heatmaps(masked.unsqueeze(1))
    return coords[:, 0], values[:, 0]


def pair_counts(heatmaps: torch.Tensor, to_frame, gt: np.ndarray, threshold: np.ndarray, pairs=PAIRS,
                radius: float = 3.0, min_ratio: float = 0.3) -> dict:
    """Counts for the report from ``(N, K, H, W)`` heatmaps of N people.

    ``to_frame(coords)`` maps ``(N, K, 2)`` heatmap pixels to frame pixels; ``gt`` ``(N, K, 3)`` holds the ground
    truth (x, y, labelled) and ``threshold`` ``(N,)`` the PCKh distance in frame pixels. A second heatmap mode
    counts only where it reaches ``min_ratio`` of the peak."""
    coords, values = decode_heatmaps(heatmaps)
    pixels = coords.round()
    frame = to_frame(coords.numpy())
    out = {}
    for name, (left, right) in pairs.items():
        both = (gt[:, left, 2] > 0) & (gt[:, right, 2] > 0)
        if not both.any():
            continue
        pl, pr = frame[both, left], frame[both, right]
        gl, gr, thr = gt[both, left, :2], gt[both, right, :2], threshold[both]

        def hit(p, g):
            return np.linalg.norm(p - g, axis=1) <= thr

        # Each joint moved to its channel's second mode (where that mode is strong enough), the other kept.
        alt, strong = coords.clone(), {}
        for j in (left, right):
            alt[:, j], v2 = second_modes(heatmaps[:, j], pixels[:, j], radius)
            strong[j] = (v2 >= min_ratio * values[:, j]).numpy()[both]
        alt_frame = to_frame(alt.numpy())[both]
        correct_l, correct_r = hit(pl, gl), hit(pr, gr)
        plain = correct_l.astype(int) + correct_r
        options = [plain, correct_l.astype(int) + (hit(alt_frame[:, right], gr) & strong[right]),
                   (hit(alt_frame[:, left], gl) & strong[left]).astype(int) + correct_r]
        out[name] = {
            "pairs": int(both.sum()),
            "same_pred": int((pixels[both, left] == pixels[both, right]).all(1).sum()),
            "same_gt": int((np.linalg.norm(gl - gr, axis=1) < 0.25 * thr).sum()),
            "correct": int(plain.sum()),
            "swapped": int((~correct_l & ~correct_r & hit(pl, gr) & hit(pr, gl)).sum()),
            "with_sides": int(np.max(options, axis=0).sum()),
        }
    return out


def people(gt_folder: Path, images: Path, every: int):
    """``(image path, (K, 3) keypoints, PCKh threshold)`` of every ``every``-th labelled person with a head box."""
    files = sorted(gt_folder.glob("*.json"))
    if not files:
        raise PosetrackError(f"no PoseTrack annotation files in {gt_folder}; pass the folder holding <sequence>.json")
    seen = 0
    for path in files:
        for frame in posetrack18.read_sequence(path).frames:
            for p in range(len(frame)):
                k = np.asarray(frame.keypoints[p], np.float32)
                head = np.asarray(frame.head_boxes[p], np.float64) if len(frame.head_boxes) == len(frame) else None
                if head is None or not np.isfinite(head).all() or (k[:, 2] > 0).sum() < 2:
                    continue
                seen += 1
                if (seen - 1) % every:
                    continue
                threshold = DIST_THRESHOLD * float(head_sizes(head)[0])
                yield str(images / frame.file_name), k, threshold


def side_counts(estimator, gt_folder: str | Path, images: str | Path | None = None, every: int = 1,
                batch_size: int = 64) -> dict:
    """``pair_counts`` summed over the labelled people of a folder of PoseTrack 2018 ground-truth files, each
    cropped from its keypoint box enlarged by 15% (as ``posetrack test --boxes gt``). ``images`` defaults to
    ``ROOT`` of ``ROOT/annotations/SPLIT``."""
    gt_folder = Path(gt_folder)
    images = Path(images) if images else gt_folder.parent.parent
    if estimator.layout.name != "posetrack18":
        raise PosetrackError(f"the network predicts {estimator.layout.name} joints; the left/right report reads "
                             "PoseTrack 2018 ground truth and needs a posetrack18 network")
    totals: dict = {}
    batch: list = []

    def flush():
        frames = {p: cv2.imread(p) for p in dict.fromkeys(p for p, _, _ in batch)}  # each frame read once
        missing = [p for p, image in frames.items() if image is None]
        if missing:
            raise PosetrackError(f"{missing[0]}: cannot be read as an image; check the images folder")
        gt = np.stack([k for _, k, _ in batch])
        centers, scales = box_to_center_scale(keypoint_boxes(gt, min_score=0, enlarge=BOX_ENLARGE),
                                              estimator.input_size[0] / estimator.input_size[1])
        crops = torch.cat([estimator._crop(frames[p], affine_matrices(centers[i:i + 1], scales[i:i + 1],
                                                                      estimator.input_size))
                           for i, (p, _, _) in enumerate(batch)])
        inverse = heatmap_inverse_matrices(centers, scales, estimator.heatmap_size)
        counts = pair_counts(estimator.heatmaps(crops).float().cpu(), lambda c: to_frame_coords(c, inverse), gt,
                             np.array([t for _, _, t in batch]))
        for name, c in counts.items():
            into = totals.setdefault(name, dict.fromkeys(c, 0))
            for key, value in c.items():
                into[key] += value
        batch.clear()

    for item in people(gt_folder, images, max(int(every), 1)):
        batch.append(item)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    if not totals:
        raise PosetrackError(f"{gt_folder}: no person with both joints of a left/right pair labelled")
    return totals


def format_counts(totals: dict) -> list[str]:
    """The report's table: one row per limb, fractions in percent."""
    lines = [f"{'limb':9} {'pairs':>6} {'same pred':>10} {'same gt':>8} {'correct':>8} {'swapped':>8} "
             f"{'with sides':>11}"]
    for name, c in totals.items():
        n = c["pairs"]
        lines.append(f"{name:9} {n:6d} {c['same_pred'] / n:10.1%} {c['same_gt'] / n:8.1%} "
                     f"{c['correct'] / (2 * n):8.1%} {c['swapped'] / n:8.1%} {c['with_sides'] / (2 * n):11.1%}")
    return lines
