"""``posetrack export``, ``posetrack report`` and ``posetrack edit``: thin click wrappers of posetrack.results."""
from __future__ import annotations

import click


@click.command("export")
@click.argument("result", type=click.Path(path_type=str))
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Write one row per frame, track and joint here.")
@click.option("--fps", type=float, default=None, help="Frame rate for the time column (default: the --video's, "
              "else the overlay's beside RESULT; without any, the time column stays empty).")
@click.option("--video", type=click.Path(path_type=str), default=None, help="The video RESULT was made from.")
def export_command(result, csv_path, fps, video):
    """Export a run's RESULT (PoseTrack JSON) as CSV: frame, time_s, track_id (0, 1, ... in order of first
    appearance), original_track_id, joint, x, y, score, interpolated."""
    from ..results.export import write_csv
    from ..results.files import frame_rate, read_result

    seq = read_result(result).sequence
    rate, source = frame_rate(result, fps, video)
    rows = write_csv(csv_path, seq, rate)
    click.echo(f"{csv_path}: {rows} rows" + (f", times at {float(rate):.3f} fps ({source})" if rate else ""))
    if rate is None:
        click.echo(f"note: time_s left empty ({source}); give --fps or --video", err=True)


@click.command("report")
@click.argument("target", metavar="OUT_DIR_OR_JSON", type=click.Path(path_type=str))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Folder for the page (default: beside the results).")
@click.option("--gt", type=click.Path(path_type=str), default=None,
              help="Ground truth (file, or folder of <sequence>.json): adds mAP, MOTA, IDF1 and marks real errors.")
@click.option("--video", type=click.Path(path_type=str), default=None,
              help="Source video (folder of videos for a folder of results) for thumbnails; default: the overlay.")
def report_command(target, out_dir, gt, video):
    """One self-contained HTML page on the tracks of a run (or of every result in a folder): timeline, lengths,
    people per frame, jitter, and events worth a look, each with thumbnails."""
    from ..results.report import write_report

    page = write_report(target, out_dir, gt, video)
    click.echo(f"{page}")


@click.command("edit")
@click.argument("result", type=click.Path(path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="The edited JSON (default: RESULT's name with .edited.json).")
@click.option("--in-place", is_flag=True, help="Replace RESULT (and its CSV and overlay).")
@click.option("--merge", multiple=True, nargs=2, type=int, metavar="A B", help="Track B becomes track A.")
@click.option("--split", multiple=True, metavar="A@FRAME", help="Track A gets a new id from FRAME on.")
@click.option("--swap", multiple=True, nargs=2, metavar="A B@FRAME",
              help="From FRAME on, tracks A and B exchange ids.")
@click.option("--delete", multiple=True, type=int, metavar="A", help="Remove track A.")
@click.option("--edits", "edits_file", type=click.Path(path_type=str), default=None,
              help="YAML list of edits (- merge: [A, B] ...), or an edited result to replay its edits.")
@click.option("--video", type=click.Path(path_type=str), default=None,
              help="The source video the run read: the overlay is re-drawn from it (no network runs).")
@click.option("--config", "config_file", metavar="FILE", help="The run's config, for the same drawing options.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="e.g. --set video.trails=16.")
def edit_command(result, output, in_place, merge, split, swap, delete, edits_file, video, config_file, overrides):
    """Correct track ids in a run's RESULT without running it again. Edits apply in this order: --edits, then
    every --merge, --split, --swap and --delete in the order given; they are recorded in the JSON under
    posetrack_edits."""
    from ..config import PipelineConfig, load_config
    from ..results.edit import parse_argument, read_edits
    from ..results.rerender import edit_result

    edits = read_edits(edits_file) if edits_file else []
    edits += [parse_argument("merge", f"{a} {b}") for a, b in merge]
    edits += [parse_argument("split", text) for text in split]
    edits += [parse_argument("swap", f"{a} {b}") for a, b in swap]
    edits += [parse_argument("delete", str(a)) for a in delete]
    video_config = load_config(PipelineConfig, config_file, overrides).video
    outcome = edit_result(result, edits, output, in_place, video, video_config)
    click.echo(f"{outcome.json_path}: {len(outcome.applied)} edit(s)"
               + (f", {outcome.csv_path}" if outcome.csv_path else "")
               + (f", overlay {outcome.video_path}" if outcome.video_path else ""))
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
