"""Benchmark of one long video split across processes (not a test): a single ``posetrack run`` against the same
run on ``--shards K`` processes (torchrun, or posetrack's own launcher), back to back, with the demo models on a
``posetrack synth`` video.

Reports for each run the wall clock and the CPU seconds of all its processes (the machine may be shared: the
wall ratio is noisy, CPU seconds are not), mAP and MOTA against the synthetic ground truth (``posetrack eval``'s
numbers), and the share of (frame, person) id assignments on which the split run agrees with the single run
after the best one-to-one relabelling of ids (``posetrack.eval.agreement``).

    OMP_NUM_THREADS=1 python scripts/bench_long_video.py --frames 1000 --shards 2            # torchrun
    OMP_NUM_THREADS=1 python scripts/bench_long_video.py --frames 1000 --shards 2 --launcher shards
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ["--pose-weights", "demo", "--detector-weights", "demo", "--set", "detector.variant=mobilenet_v3_large_320_fpn",
        "--set", "detector.min_size=320", "--set", "detector.max_size=640", "--device", "cpu", "-q"]


def timed(cmd: list[str]) -> dict:
    """Run ``cmd``; wall seconds and the CPU seconds of it and every process it waited for."""
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def scores(gt_dir: Path, pred_dir: Path) -> dict:
    from posetrack.eval.evaluation import evaluate
    from posetrack.eval.files import load_pairs

    gts, preds, scoreless = load_pairs(str(gt_dir), str(pred_dir))
    total = evaluate(gts, preds, scoreless=scoreless)
    return {"mAP": total["ap"]["total"], "MOTA": total["mota"]["total"], "IDF1": total["idf1"]["total"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--launcher", choices=["torchrun", "shards"], default="torchrun")
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: a temporary one).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the numbers here.")
    parser.add_argument("--reuse-single", type=Path, default=None, metavar="JSON",
                        help="Take the single run (files in --work, times from this earlier --json) instead of "
                             "running it again: for a second launcher on the same video.")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_long_video."))
    data = work / "data"
    py = sys.executable
    if not (data / "videos" / "val").is_dir():
        timed([py, "-m", "posetrack", "synth", str(data), "--split", "val", "--sequences", "1", "--frames",
               str(args.frames), "--people", str(args.people), "--seed", str(args.seed)])
    video = next((data / "videos" / "val").glob("*.mp4"))
    single, split = work / "single", work / f"shards{args.shards}_{args.launcher}"
    runs = {}
    if args.reuse_single:
        runs["single"] = json.loads(args.reuse_single.read_text())["runs"]["single"]
    else:
        runs["single"] = timed([py, "-m", "posetrack", "run", str(video), "-o", str(single), *DEMO])
    print(f"single: {runs['single']['wall']:.1f} s wall, {runs['single']['cpu']:.1f} s CPU", flush=True)
    if args.launcher == "torchrun":
        cmd = [py, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(args.shards), "-m",
               "posetrack", "run", str(video), "-o", str(split), *DEMO]
    else:
        cmd = [py, "-m", "posetrack", "run", str(video), "-o", str(split), "--shards", str(args.shards), *DEMO]
    runs["split"] = timed(cmd)
    print(f"{args.shards} shards ({args.launcher}): {runs['split']['wall']:.1f} s wall, "
          f"{runs['split']['cpu']:.1f} s CPU", flush=True)

    from posetrack.eval.agreement import id_agreement
    from posetrack.formats import read_sequence_any

    name = f"{video.stem}.json"
    agreement = id_agreement(read_sequence_any(single / name), read_sequence_any(split / name))
    gt = data / "annotations" / "val"
    result = {"frames": args.frames, "shards": args.shards, "launcher": args.launcher, "runs": runs,
              "wall_ratio": runs["split"]["wall"] / runs["single"]["wall"],
              "cpu_ratio": runs["split"]["cpu"] / runs["single"]["cpu"],
              "id_agreement": agreement, "single": scores(gt, single), "split": scores(gt, split),
              "json_identical": (single / name).read_bytes() == (split / name).read_bytes()}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
