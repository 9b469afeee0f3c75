"""``scripts/device_check.py`` on a machine without CUDA: it says so, runs its CPU-safe part and writes both
reports; the GPU parts are listed as skipped."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(torch.cuda.is_available(), reason="this is the check's CPU behaviour")
def test_without_cuda_the_gpu_parts_are_skipped_and_said_so(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "device_check.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "no CUDA device: running the CPU-safe parts only"
    report = json.loads((tmp_path / "device_report.json").read_text())
    assert report["environment"]["cuda_available"] is False
    assert [p["name"] for p in report["parts"]] == ["bench_pose R18 128x96 (CPU, short)"]
    assert report["parts"][0]["status"] == "ok" and "crops/s" in report["parts"][0]["output"]
    assert report["skipped"] == [f"{name} (no CUDA device)" for name in (
        "bench_pose R50 256x192", "bench_pose R152 384x288", "bench_pipeline paper R50 1280x720, DIS flow",
        "bench_pipeline paper R50 1280x720, RAFT small", "pytest -m gpu", "synthetic data for torchrun",
        "torchrun batch, 2 ranks on one GPU")]
    markdown = (tmp_path / "device_report.md").read_text()
    assert markdown.splitlines()[2] == "no CUDA device: the GPU parts were skipped"
