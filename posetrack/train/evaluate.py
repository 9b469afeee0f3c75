"""Score a pose checkpoint on a validation set without training, as the official ``pose_estimation/valid.py``
(the ``posetrack test`` command).

The training config supplies the data (``data.val``) and the validation settings (``val.*``: boxes, flip test,
batch size); the weights supply the network, its input size and preprocessing. Scoring goes through the very
functions training validates with (``validate_coco`` / ``validate_posetrack``), so a checkpoint scores here what
it scored in its training log, given the same data, boxes and precision.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..errors import PosetrackError
from ..eval.names import GROUPS

def evaluate_checkpoint(cfg, weights: str, device: str = "auto", precision: str = "auto", results=None,
                        progress: bool = False) -> dict:
    """Score ``weights`` on ``cfg.data.val`` with ``cfg.val``'s settings; ``{"metrics": {...}, ...}``."""
    from ..devices import resolve_device
    from ..pose.estimator import PoseEstimator
    from .samples import FORMATS, coco_paths, load_samples
    from .validate import validate_coco, validate_posetrack

    spec, val = cfg.data.val, cfg.val
    if spec.format not in FORMATS:
        raise PosetrackError(f"data.val.format {spec.format!r}: choose one of {', '.join(FORMATS)}")
    posetrack = spec.format == "posetrack18"
    if posetrack and val.boxes != "gt":
        raise PosetrackError(f"--boxes {val.boxes}: PoseTrack validation uses ground-truth boxes (keypoint box "
                             "+15%), as training does; detections are for COCO-format data")
    device = resolve_device(device)
    if precision == "auto":
        precision = "fp16" if device.startswith("cuda") else "fp32"
    # Data first: a wrong path fails before a checkpoint is read.
    if posetrack:
        _check_posetrack_folder(spec)
    else:
        ann_file, _ = coco_paths(spec)
        if not ann_file.is_file():
            raise PosetrackError(f"{ann_file}: COCO keypoint file not found; set data.val (--set data.val.root=... "
                                 "or data.val.annotations=... and data.val.images=...)")
    estimator = PoseEstimator.from_checkpoint(weights, device=device, flip_test=val.flip_test,
                                              batch_size=val.batch_size, precision=precision,
                                              channels_last=device.startswith("cuda"))
    layout = estimator.layout.name
    if not posetrack and layout != "coco17":
        raise PosetrackError(f"{weights}: the network predicts the {layout} joints, but {spec.describe()} is scored "
                             "on the COCO-17 joints; use a COCO checkpoint or a PoseTrack data set")
    report = {"weights": str(weights), "data": spec.describe(), "format": spec.format, "layout": layout,
              "boxes": val.boxes, "flip_test": val.flip_test, "device": device, "precision": precision,
              "max_images": val.max_images}
    if posetrack:
        metrics = validate_posetrack(estimator, spec, val.max_images, progress, results=results)
        report["ground_truth"] = f"{spec.root}/annotations/{spec.split}"
    else:
        aspect = estimator.input_size[0] / estimator.input_size[1]
        samples = load_samples(spec, aspect, cfg.data.max_bad_fraction)
        metrics = validate_coco(estimator, samples, spec, val.boxes, val.max_images, val.min_box_score, progress,
                                results=results)
        report["ground_truth"] = str(coco_paths(spec)[0])
    report["metrics"] = metrics
    report["results"] = None if results is None else str(results)
    return report


def format_report(report: dict) -> str:
    m = report["metrics"]
    flip = "flip test" if report["flip_test"] else "no flip"
    lines = [f"{report['weights']} on {report['data']} ({report['boxes']} boxes, {flip}, "
             f"{report['device']} {report['precision']})"]
    if report["format"] == "posetrack18":
        lines.append("       " + " ".join(f"{g[:5].capitalize():>6}" for g in GROUPS) + "   Total")
        lines.append("AP     " + " ".join(_cell(m[f"AP_{g}"]) for g in GROUPS) + " " + _cell(m["mAP"]))
        lines.append(f"MOTA   {_cell(m['MOTA']).strip()} (ground-truth track ids)")
        check = "posetrack eval {gt} {results}"
    else:
        from ..eval.cocoeval import format_coco

        lines.append(format_coco(m))
        check = "posetrack eval-coco {gt} {results}"
    if report["results"]:
        note = " (a prefix of the images: eval scores them all)" if report["max_images"] else ""
        lines.append(f"results: {report['results']}{note}; check: "
                     + check.format(gt=report["ground_truth"], results=report["results"]))
    return "\n".join(lines)


def _cell(value: float) -> str:
    return f"{value:6.1f}" if math.isfinite(value) else f"{'-':>6}"


def _check_posetrack_folder(spec) -> None:
    """Annotations there, and the first sequence's first image: validation skips unreadable frames (scoring
    them as missed), which must not happen silently to a whole data set whose images are elsewhere."""
    from ..formats import posetrack18

    folder = Path(spec.root) / "annotations" / spec.split
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise PosetrackError(f"no PoseTrack annotation files in {folder}; set data.val.root (the folder holding "
                             f"annotations/{spec.split}/*.json and images/)")
    frames = posetrack18.read_sequence(files[0]).frames
    image = Path(spec.root) / frames[0].file_name if frames else None
    if image is not None and not image.is_file():
        raise PosetrackError(f"{image} does not exist ({files[0].name} names it); PoseTrack images must lie under "
                             f"data.val.root ({spec.root}) at their file_name")
