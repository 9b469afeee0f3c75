"""The GPU figures of posetrack in one prepared run: ``python scripts/device_check.py [--out DIR]``.

A lent GPU machine is there for minutes, so everything to measure is listed here and run in one go, each part a
subprocess with its own time limit (one slow part cannot eat the others' time), the whole within ``--budget``
seconds (default 480). The report is rewritten after every part, so what finished survives a kill:

* ``device_report.md``: the machine, then each part's status, time and output (the benchmarks' tables);
* ``device_report.json``: the same, one entry per part (``name``, ``status``, ``seconds``, ``output``).

Parts: the card and torch/CUDA versions; ``bench_pose`` (R50 256x192 and R152 384x288, fp32 and fp16, batches
32 and 128, flip test); ``bench_pipeline`` at 1280x720 with the paper's R50 config and random weights, with DIS
flow and with ``tracker.flow=raft_small`` (fps and the stage table); the GPU tests (``pytest -m gpu``); a 2-rank
``torchrun`` batch on one GPU. Nothing is installed: it uses the project as it is. Without CUDA the GPU parts are
reported as skipped (the first line of the report says so) and a short CPU pose benchmark runs instead, so the
script itself is tested on the CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def environment() -> dict:
    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "cuda_available": torch.cuda.is_available(), "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count()}
    if info["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=torch.cuda.get_device_name(0), gpu_memory_gb=round(props.total_memory / 2 ** 30, 1),
                    gpu_count=torch.cuda.device_count(), cudnn=torch.backends.cudnn.version())
    return info


def parts(work: Path, cuda: bool) -> list[tuple[str, list[str], int]]:
    """``(name, command, time limit in seconds)`` in the order they run."""
    pose = [PY, str(ROOT / "scripts" / "bench_pose.py")]
    pipeline = [PY, str(ROOT / "scripts" / "bench_pipeline.py"), "--configs", "paper", "--workdir", str(work)]
    if not cuda:
        return [("bench_pose R18 128x96 (CPU, short)", pose + ["--depth", "18", "--input", "128x96", "--batches", "8",
                                                            "--boxes", "8"], 240)]
    torchrun = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "posetrack",
                "batch", str(work / "synth"), "--split", "val", "-o", str(work / "torchrun_out"), "--eval",
                "--pose-weights", "demo", "--detector-weights", "demo", "--set",
                "detector.variant=mobilenet_v3_large_320_fpn", "--set", "detector.min_size=320", "--set",
                "detector.max_size=640", "--device", "cuda", "-q"]
    return [
        ("bench_pose R50 256x192", pose + ["--device", "cuda", "--boxes", "256", "--batches", "32,128"], 50),
        ("bench_pose R152 384x288", pose + ["--device", "cuda", "--depth", "152", "--input", "384x288",
                                            "--boxes", "256", "--batches", "32,128"], 70),
        ("bench_pipeline paper R50 1280x720, DIS flow", pipeline + ["--device", "cuda", "--frames", "120"], 110),
        ("bench_pipeline paper R50 1280x720, RAFT small", pipeline + [
            "--device", "cuda", "--frames", "120", "--set", "tracker.flow=raft_small", "--set",
            "tracker.flow_device=cuda", "--set", "tracker.flow_weights=none"], 110),
        ("pytest -m gpu", [PY, "-m", "pytest", "-q", "-m", "gpu", str(ROOT / "tests")], 60),
        ("synthetic data for torchrun", [PY, "-m", "posetrack", "synth", str(work / "synth"), "--split", "val",
                                         "--sequences", "4", "--frames", "60", "--people", "4", "--no-video"], 30),
        ("torchrun batch, 2 ranks on one GPU", torchrun, 60),
    ]


def run_part(name: str, command: list[str], limit: int) -> dict:
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=limit)
        status = "ok" if done.returncode == 0 else f"failed (exit code {done.returncode})"
        output = done.stdout + (("\n" + done.stderr[-3000:]) if done.returncode else "")
    except subprocess.TimeoutExpired as err:
        status, output = f"timed out after {limit} s", (err.stdout or b"").decode(errors="replace")
    return {"name": name, "status": status, "seconds": round(time.perf_counter() - start, 1),
            "command": " ".join(command), "output": output.strip()}


def write_report(out: Path, env: dict, results: list[dict], skipped: list[str]) -> None:
    head = ("# posetrack device check\n\n" + (f"GPU: {env['gpu']} ({env['gpu_memory_gb']} GB)" if env["cuda_available"]
                                             else "no CUDA device: the GPU parts were skipped"))
    lines = [head, "", f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
             "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in env.items()]
    for r in results:
        lines += ["", f"## {r['name']}: {r['status']} ({r['seconds']} s)", "", "```", r["output"], "```"]
    for name in skipped:
        lines += ["", f"## {name}: skipped"]
    (out / "device_report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = {"environment": env, "parts": results, "skipped": skipped}
    (out / "device_report.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for device_report.md/.json")
    parser.add_argument("--budget", type=int, default=480, help="seconds for all parts together")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    env = environment()
    cuda = env["cuda_available"]
    print("CUDA device: " + env["gpu"] if cuda else "no CUDA device: running the CPU-safe parts only", flush=True)
    gpu_names = [name for name, _, _ in parts(Path("."), True)]
    results = []
    skipped = [] if cuda else [f"{name} (no CUDA device)" for name in gpu_names]
    with tempfile.TemporaryDirectory(prefix="posetrack-device-") as work:
        todo = parts(Path(work), cuda)
        for i, (name, command, limit) in enumerate(todo):
            left = args.budget - (time.perf_counter() - start)
            if left < 10:
                skipped += [f"{n} (out of time)" for n, _, _ in todo[i:]]
                break
            results.append(run_part(name, command, int(min(limit, left))))
            print(f"{name}: {results[-1]['status']} ({results[-1]['seconds']} s)", flush=True)
            write_report(args.out, env, results, skipped)
    write_report(args.out, env, results, skipped)
    print(f"report: {args.out / 'device_report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
