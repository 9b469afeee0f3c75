"""``posetrack weights list | download NAME | verify [PATH]``."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import PosetrackError
from ..pose import weights as W


@click.group()
def weights():
    """List, download and verify pose network weights (stored in $POSETRACK_HOME/weights)."""


@weights.command("list")
def list_cmd():
    """Show every named checkpoint, its published COCO AP and whether it is on disk."""
    click.echo(f"weights folder: {W.weights_dir()}")
    click.echo(f"{'name':38} {'net':5} {'input':8} {'colour':6} {'COCO AP':7}  {'status':10} source")
    for e in W.REGISTRY.values():
        size = f"{e.input_size[1]}x{e.input_size[0]}"
        status = "present" if W.local_path(e).is_file() else ("download" if e.url else "manual")
        ap = f"{e.coco_ap:.1f}" if e.coco_ap is not None else "-"
        click.echo(f"{e.name:38} R{e.depth:<4} {size:8} {e.color_order:6} {ap:>7}  {status:10} {e.note}")


@weights.command("download")
@click.argument("name")
@click.option("--force", is_flag=True, help="Download again even if the file is present.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def download_cmd(name, force, quiet):
    """Download NAME into the weights folder, checking its SHA-256 prefix."""
    path = W.download(name, progress=not quiet, force=force)
    click.echo(f"{name}: {path}")


@weights.command("verify")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def verify_cmd(path):
    """Check PATH (or every downloaded entry): hash prefix in the name, and that it loads as a pose network."""
    from ..pose.checkpoint import load_pose_model

    if path is not None:
        targets = [path]
    else:
        targets = [W.local_path(e) for e in W.REGISTRY.values() if W.local_path(e).is_file()]
        if not targets:
            click.echo(f"no downloaded weights in {W.weights_dir()}")
            return
    failed = 0
    for target in targets:
        try:
            prefix = W.hash_prefix_from_name(target.name)
            if prefix is not None and not target.is_file():
                raise PosetrackError(f"{target} does not exist")
            if prefix is not None:
                digest = W.sha256_of(target)
                if not digest.startswith(prefix):
                    raise PosetrackError(f"{target}: SHA-256 {digest[:12]}... does not start with {prefix} "
                                         "from its name; the file is corrupt, download it again")
            _, info = load_pose_model(target)
            hashed = f"sha256 ok ({prefix})" if prefix else "no hash in name"
            size = f"{info.input_size[1]}x{info.input_size[0]}"
            click.echo(f"ok  {target}: {hashed}; {info.arch.describe()}; input {size}; {info.color_order}; "
                       f"origin {info.origin}")
        except PosetrackError as err:
            failed += 1
            click.echo(f"BAD {err}", err=True)
    if failed:
        raise PosetrackError(f"{failed} of {len(targets)} weight files failed verification", exit_code=1)
