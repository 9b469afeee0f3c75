"""Training throughput: is the data loader fast enough to feed the network?

Measures, on a synthetic COCO-format set written with ``posetrack synth``:

* the data loader alone (read JPEG, augment, crop, heatmaps, collate) in images/s for each worker count;
* one training step of the SimpleBaseline network (forward, JointsMSELoss, backward, Adam) in images/s, on the
  CPU and, when CUDA is there, on the GPU with AMP and channels_last;

and prints a table with each loader's rate as a multiple of each training rate (> 1: the loader keeps up).

    python scripts/bench_train.py                       # short default run (2-core CPU: about a minute)
    python scripts/bench_train.py --depth 50 --workers 0 2 4 8 --gpu-batch 32 --gpu-iters 20
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch


def make_data(root: Path, frames: int) -> Path:
    from posetrack.synth.writer import write_dataset

    write_dataset(root, split="train", sequences=1, frames=frames, people=4, seed=0, width=640, height=480,
                  video=False)
    return root


def bench_loader(root: Path, input_size, workers: int, batch: int, batches: int) -> float:
    from posetrack.train.augment import AugmentConfig
    from posetrack.train.datasets import KeypointDataset, collate
    from posetrack.train.samples import DatasetSpec, load_samples

    spec = DatasetSpec("coco-file", annotations=str(root / "annotations" / "person_keypoints_train.json"),
                       images=str(root))
    samples = load_samples(spec, input_size[0] / input_size[1])
    dataset = KeypointDataset(samples, input_size, 2.0, AugmentConfig())
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=batch * (batches + 1))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers,
                                         collate_fn=collate)
    it = iter(loader)
    next(it)  # worker start-up is not throughput
    start = time.perf_counter()
    n = sum(len(b["index"]) for b in it)
    return n / (time.perf_counter() - start)


def bench_train_step(depth: int, input_size, device: str, batch: int, iters: int, amp: bool) -> float:
    from posetrack.pose.network import PoseNetConfig, PoseResNet
    from posetrack.train.targets import JointsMSELoss

    dev = torch.device(device)
    model = PoseResNet(PoseNetConfig(depth=depth)).to(dev).train()
    channels_last = dev.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    criterion = JointsMSELoss()
    w, h = input_size
    x = torch.randn(batch, 3, h, w, device=dev)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch.rand(batch, 17, h // 4, w // 4, device=dev)
    weight = torch.ones(batch, 17, 1, device=dev)

    def step():
        with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
            out = model(x)
        loss = criterion(out, target, weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    for _ in range(2 if dev.type == "cuda" else 1):  # warm-up (cuDNN autotuning, allocator)
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return batch * iters / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--input-size", type=int, nargs=2, default=(192, 256), metavar=("W", "H"))
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--loader-batch", type=int, default=32)
    ap.add_argument("--loader-batches", type=int, default=3)
    ap.add_argument("--cpu-batch", type=int, default=4)
    ap.add_argument("--cpu-iters", type=int, default=2)
    ap.add_argument("--gpu-batch", type=int, default=32)
    ap.add_argument("--gpu-iters", type=int, default=10)
    ap.add_argument("--frames", type=int, default=16, help="synthetic frames (4 people each)")
    args = ap.parse_args()
    torch.manual_seed(0)
    size = tuple(args.input_size)

    train_rows = [("train step", "cpu", args.cpu_batch, "-",
                   bench_train_step(args.depth, size, "cpu", args.cpu_batch, args.cpu_iters, amp=False))]
    if torch.cuda.is_available():
        train_rows.append(("train step AMP", "cuda", args.gpu_batch, "-",
                           bench_train_step(args.depth, size, "cuda", args.gpu_batch, args.gpu_iters, amp=True)))
    with tempfile.TemporaryDirectory() as tmp:
        root = make_data(Path(tmp), args.frames)
        loader_rows = [("data loader", "cpu", args.loader_batch, str(w),
                        bench_loader(root, size, w, args.loader_batch, args.loader_batches)) for w in args.workers]

    cores = os.cpu_count()
    print(f"\nResNet-{args.depth} {size[0]}x{size[1]}, torch {torch.__version__}, {cores} CPU cores"
          + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    header = ["stage", "device", "batch", "workers", "images/s"] + [f"x {r[0]} {r[1]}" for r in train_rows]
    rows = []
    for name, dev, batch, workers, rate in train_rows + loader_rows:
        ratios = [f"{rate / t[4]:.1f}" if name == "data loader" else "" for t in train_rows]
        rows.append([name, dev, str(batch), workers, f"{rate:.1f}"] + ratios)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    print("\nratio = loader images/s / training images/s; above 1 the loader keeps up with that device.")


if __name__ == "__main__":
    main()
