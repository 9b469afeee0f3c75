"""Kill a ``posetrack run`` with SIGKILL at random frames, resume it each time, and compare with a run never stopped.

    OMP_NUM_THREADS=1 python scripts/bench_resume.py --frames 1500 --kills 5            # demo models, CPU
    OMP_NUM_THREADS=1 python scripts/bench_resume.py --frames 1500 --kills 5 --poses    # given poses: no network

A synthetic occlusion clip (``posetrack synth --scenario occlusion``: people hidden and coming back, so re-linking
renames ids backwards) is run once uninterrupted, then again killed with SIGKILL when its partial file reaches each
of ``--kills`` random frames (at least ``--gap`` apart), restarted with the same command after each kill (it resumes
from its last snapshot), and run to the end. Reported: whether the JSON is byte-identical, the overlay's codec,
pixel format and decoded frame count, the wall time and the CPU time (user + system of the processes, the
measure that holds on a shared machine) of both.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "000001_mpii_val"


def finish(proc: subprocess.Popen) -> float:
    """Wait for ``proc``; its CPU time (user + system), from its own resource usage."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def partial_frames(out: Path) -> int:
    try:
        with open(out / f"{NAME}.partial.jsonl", encoding="utf-8") as f:
            return sum(line.startswith('{"i":') and line.endswith("\n") for line in f)
    except FileNotFoundError:
        return 0


def lock_pid(out: Path) -> int | None:
    try:
        return int((out / f".{NAME}.lock").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def command(args, video: Path, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "posetrack", "run", str(video), "-o", str(out), "--quiet",
           "--set", f"run.snapshot_every={args.snapshot_every}"]
    if args.poses:
        return cmd + ["--poses", str(args.data / "poses" / f"{NAME}.json")]
    return cmd + ["--pose-weights", "demo", "--detector-weights", "demo", "--device", "cpu", "--config", "fast_cpu",
                  "--batch-size", "2"]


def overlay_facts(path: Path) -> dict:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return {"codec": stream.codec_context.name, "pix_fmt": stream.codec_context.pix_fmt, "frames": frames,
                "header_frames": stream.frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--gap", type=int, default=20, help="least frames between two kill points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--snapshot-every", type=int, default=250)
    parser.add_argument("--poses", action="store_true", help="track noisy ground-truth poses (no networks)")
    parser.add_argument("--data", type=Path, default=Path("bench_resume_out"))
    parser.add_argument("--parallel", action="store_true",
                        help="run the uninterrupted run beside the killed ones (wall times then overlap)")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(ROOT)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT))
    from posetrack.formats import posetrack18
    from posetrack.synth import noisy_observations
    from posetrack.synth.writer import write_dataset

    data = args.data
    video = data / "synth" / "videos" / "val" / f"{NAME}.mp4"
    if not video.is_file():
        write_dataset(str(data / "synth"), split="val", sequences=1, frames=args.frames, people=6, seed=args.seed,
                      width=args.width, height=args.height, fps=25.0, video=True, scenario="occlusion")
    if args.poses:
        gt = posetrack18.read_sequence(data / "synth" / "annotations" / "val" / f"{NAME}.json")
        (data / "poses").mkdir(parents=True, exist_ok=True)
        posetrack18.write_sequence(data / "poses" / f"{NAME}.json", noisy_observations(gt, seed=1))
    whole, killed = data / "uninterrupted", data / "killed"
    for folder in (whole, killed):
        for path in folder.glob("*") if folder.is_dir() else []:
            path.unlink()
        for path in folder.glob(".*") if folder.is_dir() else []:
            path.unlink()

    start = time.perf_counter()
    uninterrupted = subprocess.Popen(command(args, video, whole))
    if not args.parallel:
        whole_cpu, whole_wall = finish(uninterrupted), time.perf_counter() - start

    rng = random.Random(args.seed)
    points: list[int] = []
    while len(points) < args.kills:
        p = rng.randrange(args.gap, args.frames - args.gap)
        if all(abs(p - q) >= args.gap for q in points):
            points.append(p)
    points.sort()
    killed_start, killed_cpu, kills = time.perf_counter(), 0.0, []
    for point in points:
        proc = subprocess.Popen(command(args, video, killed))
        while lock_pid(killed) != proc.pid or partial_frames(killed) < point:
            if proc.poll() is not None:
                raise SystemExit(f"the run ended before frame {point} (exit code {proc.returncode})")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        killed_cpu += finish(proc)
        kills.append({"frame": point, "partial_frames_at_kill": partial_frames(killed)})
        print(f"killed at frame {point}", flush=True)
    last = subprocess.Popen(command(args, video, killed))
    killed_cpu += finish(last)
    killed_wall = time.perf_counter() - killed_start
    if args.parallel:  # its wall time is hidden behind the killed runs': only its CPU time means something
        whole_cpu, whole_wall = finish(uninterrupted), float("nan")
    if last.returncode or uninterrupted.returncode:
        raise SystemExit(f"a run failed (exit codes {uninterrupted.returncode}, {last.returncode})")

    same = (whole / f"{NAME}.json").read_bytes() == (killed / f"{NAME}.json").read_bytes()
    report = {"frames": args.frames, "size": f"{args.width}x{args.height}", "mode": "poses" if args.poses else
              "demo models, fast_cpu, batch 2", "snapshot_every": args.snapshot_every, "kills": kills,
              "json_byte_identical": same, "overlay": overlay_facts(killed / f"{NAME}.mp4"),
              "overlay_uninterrupted": overlay_facts(whole / f"{NAME}.mp4"),
              "left_in_folder": sorted(p.name for p in killed.iterdir()),
              "uninterrupted": {"wall_s": round(whole_wall, 1), "cpu_s": round(whole_cpu, 1)},
              "killed_and_resumed": {"wall_s": round(killed_wall, 1), "cpu_s": round(killed_cpu, 1)}}
    print(json.dumps(report, indent=1))
    o = report["overlay"]
    print(f"| {args.frames} frames {report['size']} | {report['mode']} | every {args.snapshot_every} | "
          f"{', '.join(str(k['frame']) for k in kills)} | {'byte-identical' if same else 'DIFFERENT'} | "
          f"{o['codec']} {o['pix_fmt']}, {o['frames']} frames | {whole_wall:.0f} s wall, {whole_cpu:.0f} s CPU | "
          f"{killed_wall:.0f} s wall, {killed_cpu:.0f} s CPU |")
    if not same or report["overlay"]["frames"] != args.frames:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
