"""Pose-estimation throughput: crops/s with flip test, batched vs the official one-box-at-a-time loop.

    python scripts/bench_pose.py                      # R50 256x192, CPU
    python scripts/bench_pose.py --device cuda        # adds fp16 rows on a GPU
    python scripts/bench_pose.py --weights PATH       # a real checkpoint for the accuracy columns
    python scripts/bench_pose.py --weights posetrack/data/demo_pose.pth --precisions fp32,int8 --no-flip

The baseline, measured in the same run, does what the official validation loop does per person: warpAffine one
crop, ToTensor + Normalize, one forward pass for the crop and one for its mirror, flip_back, decode in numpy.
Each other row runs ``PoseEstimator`` (all boxes of a frame batched, flipped crops in the same pass). The accuracy
columns compare each row's keypoints with fp32's: max pixel difference and the share of joints within 0.5 and 2 px.
int8 rows (``pose.int8``) quantize the backbone with the pipeline's own calibration crops (synthetic people).
The frame is a ``posetrack synth`` frame with people. With random weights (no --weights) heatmaps are nearly flat
and near-ties move argmaxes, so the accuracy columns mean something only with trained weights (e.g.
``--weights posetrack/data/demo_pose.pth``).
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
import torch

from posetrack import PoseEstimator
from posetrack.geometry import box_to_center_scale
from posetrack.pipeline.estimate import calibration_crops
from posetrack.pose.checkpoint import IMAGENET_MEAN, IMAGENET_STD, load_pose_model
from posetrack.pose.decode import decode_heatmaps, flip_back, heatmap_inverse_matrices, to_frame_coords
from posetrack.pose.network import PoseResNet
from posetrack.pose.transforms import affine_matrices


def scene(n_boxes: int, seed: int = 0):
    """A 1280x720 synthetic frame with people, and ``n_boxes`` person boxes: the people's true boxes, repeated
    with a few percent of jitter (as overlapping detections would be) until there are enough."""
    from posetrack.synth import make_sequence

    seq = make_sequence(seed=seed, frames=1, people=8, width=1280, height=720, enter_leave=False)
    frame = seq.frames[0]
    truth = seq.truth.frames[0]
    rng = np.random.default_rng(seed)
    base = truth.boxes[rng.integers(0, len(truth.boxes), n_boxes)]
    size = (base[:, 2:] - base[:, :2]).repeat(2, axis=1)
    boxes = base + rng.uniform(-0.05, 0.05, base.shape) * size
    boxes[: len(truth.boxes)] = truth.boxes[: n_boxes]
    return frame, boxes.astype(np.float32), rng.uniform(0.5, 1, n_boxes).astype(np.float32)


def official_loop(model, frame, boxes, input_size, flip_perm, device, flip=True):
    """One box at a time, as ``lib/core/function.py validate`` with batch size 1."""
    mean = np.array(IMAGENET_MEAN, np.float32)
    std = np.array(IMAGENET_STD, np.float32)
    out = []
    centers, scales = box_to_center_scale(boxes, input_size[0] / input_size[1])
    for c, s in zip(centers, scales):
        m = affine_matrices(c[None], s[None], input_size)[0]
        crop = cv2.warpAffine(frame, m, input_size, flags=cv2.INTER_LINEAR)
        x = torch.from_numpy(((crop.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1).copy())[None]
        x = x.to(device)
        with torch.no_grad():
            hm = model(x)
            if flip:
                hm = (hm + flip_back(model(x.flip(3)), flip_perm)) * 0.5
        coords, maxvals = decode_heatmaps(hm.cpu())
        inv = heatmap_inverse_matrices(c[None], s[None], (input_size[0] // 4, input_size[1] // 4))
        kp = to_frame_coords(coords.numpy(), inv)
        out.append(np.concatenate([kp, maxvals.numpy()[..., None]], -1)[0])
    return np.stack(out)


def timed(fn, repeats: int):
    fn()  # warm-up (cudnn autotune, allocator)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeats, result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--input", default="256x192", help="HxW")
    ap.add_argument("--weights", help="checkpoint file (default: random weights)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--boxes", type=int, default=32, help="boxes per timed call")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    ap.add_argument("--precisions", default=None,
                    help="comma-separated rows besides fp32 (default: bf16,int8 on a CPU, fp16 on CUDA); bf16 "
                         "is very slow on CPUs without bfloat16 instructions")
    ap.add_argument("--no-flip", dest="flip", action="store_false", help="no flip test (as the fast config)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    h, w = (int(v) for v in args.input.split("x"))
    torch.manual_seed(0)
    if args.weights:
        model, info = load_pose_model(args.weights)
        input_size = info.input_size
    else:
        model, info, input_size = PoseResNet(depth=args.depth).eval(), None, (w, h)
    device = torch.device(args.device)
    frame, boxes, scores = scene(args.boxes)
    n = len(boxes)

    base = PoseEstimator(model, info, device=args.device, input_size=input_size, channels_last=False)
    base_model = base.model
    t_base, _ = timed(lambda: official_loop(base_model, frame, boxes, input_size, base.flip_permutation, device,
                                            args.flip), args.repeats)
    rows = [("per-box baseline (official loop)", "fp32", 1, n / t_base, None)]

    batches = [int(b) for b in args.batches.split(",")]
    extra = (args.precisions or ("bf16,int8" if device.type == "cpu" else "fp16")).split(",")
    configs = [("fp32", b) for b in batches] + [(p, b) for p in extra if p != "fp32" for b in batches if b > 1]
    if "fp16" in extra:
        configs += [("fp16", 1), ("fp16", 64), ("fp16", 128)]
    reference = None
    for precision, batch in configs:
        est = PoseEstimator(model, info, device=args.device, input_size=input_size, batch_size=batch,
                            precision="fp32" if precision == "int8" else precision, channels_last=True,
                            flip_test=args.flip)
        if precision == "int8":
            est.to_int8(calibration_crops(est))
        t, (kpts, _) = timed(lambda: est(frame, boxes, scores), args.repeats)
        if precision == "fp32" and reference is None:
            reference = kpts
        rows.append((f"PoseEstimator batch {batch}", precision, batch, n / t, kpts))

    name = (f"R{info.arch.depth} {input_size[1]}x{input_size[0]}" if info else f"R{args.depth} {h}x{w}")
    flip = "flip test" if args.flip else "no flip test"
    print(f"{name}, {flip}, {n} person boxes on a 1280x720 synthetic frame, device {args.device}, "
          f"torch threads {torch.get_num_threads()}, weights {'file' if args.weights else 'random'}")
    print(f"{'mode':34} {'prec':5} {'crops/s':>8} {'x base':>7} {'max px':>7} {'<=0.5px':>8} {'<=2px':>7}")
    for name, precision, batch, rate, kpts in rows:
        if kpts is None or reference is None:
            acc = f"{'-':>7} {'-':>8} {'-':>7}"
        else:
            d = np.linalg.norm(kpts[..., :2] - reference[..., :2], axis=-1)
            acc = f"{d.max():7.2f} {100 * (d <= 0.5).mean():7.1f}% {100 * (d <= 2).mean():6.1f}%"
        print(f"{name:34} {precision:5} {rate:8.1f} {rate / rows[0][3]:6.2f}x {acc}")


if __name__ == "__main__":
    main()
