"""A small tracked synthetic run for the tests of posetrack.results: a rendered clip (its frames as an H.264
video), its ground truth, and its noisy poses tracked by the flow tracker, written as a run writes them."""
from __future__ import annotations

from pathlib import Path

from posetrack.formats import posetrack18
from posetrack.io import VideoWriter
from posetrack.synth import make_sequence, noisy_observations
from posetrack.synth import file_ground_truth
from posetrack.track import track_sequence

NAME = "000001_mpii_val"


def make_run(folder: Path, frames: int = 30, people: int = 3, seed: int = 2, fps: int = 25) -> dict:
    """``{"video", "gt", "run", "tracked", "truth"}``: files in ``folder`` and the in-memory sequences."""
    folder.mkdir(parents=True, exist_ok=True)
    syn = make_sequence(seed=seed, frames=frames, people=people, fps=fps, name=NAME)
    video = folder / "source.mp4"
    with VideoWriter(video, fps, (640, 480)) as writer:
        for image in syn.frames:
            writer.write(image)
    gt = folder / "gt" / f"{NAME}.json"
    gt.parent.mkdir()
    truth = file_ground_truth(syn.truth)
    posetrack18.write_sequence(gt, truth)
    noisy = noisy_observations(syn.truth, seed=seed, jitter_px=3, miss_rate=0.1, miss_runs=3)
    tracked = track_sequence(syn.frames, noisy)
    run = folder / "out" / f"{NAME}.json"
    run.parent.mkdir()
    posetrack18.write_sequence(run, tracked)
    return {"video": video, "gt": gt, "run": run, "tracked": tracked, "truth": truth, "frames": syn.frames}
