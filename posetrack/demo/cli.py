"""``posetrack demo``: the whole system, offline, in one command."""
from __future__ import annotations

import click

from .world import DEMO_SEED


@click.command("demo")
@click.option("-o", "--output", "out", default="posetrack_demo", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Folder for the clips, results and metrics.")
@click.option("--seed", default=DEMO_SEED, show_default=True, help="Seed of the synthetic clips (the demo models "
              "were trained on seeds 999-1015).")
@click.option("--sequences", default=1, show_default=True, type=click.IntRange(1, 999))
@click.option("--frames", default=200, show_default=True, type=click.IntRange(2, 9999),
              help="Frames per clip (25 fps).")
@click.option("--people", default=6, show_default=True, type=click.IntRange(1, 20))
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--no-video", is_flag=True, help="Skip the overlay videos.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a pipeline setting, as in posetrack run (e.g. --set tracker.similarity=bbox).")
def demo(out, seed, sequences, frames, people, device, no_video, overrides):
    """Render synthetic clips (people crossing and occluding each other under a panning camera), estimate and
    track their poses with the packaged demo models through the full pipeline (as 'posetrack run --pose-weights
    demo --detector-weights demo'), and score them against the exact ground truth with the official metrics.

    Writes OUT/<clip>.mp4 (overlay), OUT/<clip>.json (PoseTrack 2018), OUT/metrics.json ('posetrack eval --json'
    layout) and OUT/data (the clips and their ground truth).
    """
    from ..eval.tables import format_tables
    from .runner import run_demo

    result = run_demo(out, seed, sequences, frames, people, device, not no_video, overrides, say=click.echo)
    m = result.metrics
    click.echo(format_tables(m, title=f"\nPoseTrack metrics, {len(result.sequences)} clip(s), {result.frames} "
                                      "frames:"))
    s = result.seconds
    click.echo(f"mAP {m['ap']['total']:.1f}  MOTA {m['mota']['total']:.1f}  -> {result.out / 'metrics.json'} "
               f"(render {s['render']:.0f} s, pipeline {s['pipeline']:.0f} s, eval {s['eval']:.0f} s)")
