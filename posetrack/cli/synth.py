"""``posetrack synth``: write a synthetic multi-person data set in the PoseTrack 2018 and COCO layouts."""
from __future__ import annotations

import sys

import click


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=str))
@click.option("--split", default="val", show_default=True, help="Split name (train, val, test...).")
@click.option("--sequences", default=1, show_default=True, help="Number of sequences.")
@click.option("--frames", default=50, show_default=True, help="Frames per sequence (< 10000).")
@click.option("--people", default=4, show_default=True, help="People per sequence (not all in view at once).")
@click.option("--seed", default=0, show_default=True, help="Same seed, same bytes.")
@click.option("--width", default=640, show_default=True)
@click.option("--height", default=480, show_default=True)
@click.option("--fps", default=25.0, show_default=True)
@click.option("--labeled-every", default=1, show_default=True,
              help="Label only every K-th frame (the others are listed with is_labeled false, as in PoseTrack val).")
@click.option("--scenario", type=click.Choice(["random", "crossing", "occlusion"]), default="random",
              show_default=True,
              help="'crossing': two people cross mid-sequence, the nearer hiding the farther. 'occlusion': pillars "
                   "and panels hide people for 1-3 s, people leave the view and come back 2-4 s later, stop or "
                   "turn round while hidden, cross; some pairs dress alike (for identity tests).")
@click.option("--pan", default=0.0, show_default=True, help="Camera pan, backdrop pixels per frame.")
@click.option("--zoom", default=1.0, show_default=True, help="Zoom factor reached at the last frame.")
@click.option("--noise", default=4.0, show_default=True, help="Image noise sigma (0 for none).")
@click.option("--no-clutter", is_flag=True, help="Plain gradient backdrop instead of random shapes.")
@click.option("--no-enter-leave", is_flag=True, help="Keep people in view instead of walking in and out.")
@click.option("--no-video", is_flag=True, help="Skip the MP4 per sequence.")
@click.option("--force", is_flag=True, help="Replace an existing split in OUT.")
@click.option("--format", "fmt", type=click.Choice(["2018", "2021"]), default="2018", show_default=True,
              help="2021: PoseTrack21 ground truth (posetrack_data/SPLIT, ignore regions over hidden people, "
                   "box-only people on unlabeled frames) and its MOT box ground truth (posetrack_mot/mot/SPLIT).")
def synth(out, split, sequences, frames, people, seed, width, height, fps, labeled_every, scenario, pan, zoom,
          noise, no_clutter, no_enter_leave, no_video, force, fmt):
    """Render synthetic people walking, running, crossing and occluding each other, with exact ground truth.

    Writes OUT/images/SPLIT/<seq>/000000.jpg..., OUT/annotations/SPLIT/<seq>.json (PoseTrack 2018; with
    --format 2021 OUT/posetrack_data/SPLIT/<seq>.json and OUT/posetrack_mot/mot/SPLIT/<seq>/ instead),
    OUT/annotations/person_keypoints_SPLIT.json (COCO) and OUT/videos/SPLIT/<seq>.mp4.
    """
    from ..synth.writer import write_dataset

    stderr = sys.stderr
    done = []

    def progress(name):
        done.append(name)
        if stderr.isatty():
            click.echo(f"\r{len(done)}/{sequences} sequences", file=stderr, nl=False)

    summary = write_dataset(out, split=split, sequences=sequences, frames=frames, people=people, seed=seed,
                            width=width, height=height, fps=fps, labeled_every=labeled_every, video=not no_video,
                            force=force, progress=progress, fmt={"2018": "posetrack18", "2021": "posetrack21"}[fmt],
                            scenario=scenario, pan=pan, zoom=zoom, noise=noise,
                            clutter=not no_clutter, enter_leave=not no_enter_leave)
    if stderr.isatty():
        click.echo("", file=stderr)
    rate = summary.frames / max(summary.seconds, 1e-9)
    click.echo(f"wrote {len(summary.sequences)} sequences, {summary.frames} frames ({summary.labeled_frames} "
               f"labelled, {summary.people} annotated people) to {out} in {summary.seconds:.1f} s "
               f"({rate:.0f} frames/s)")
