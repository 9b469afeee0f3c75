"""The ``posetrack`` command and its sub-commands: the top of the tree.

Every sub-command is a thin click wrapper around library code: ``run`` and ``batch`` live in ``posetrack.run``,
``demo`` in ``posetrack.demo``, the others in this package (one module each). They are imported only when used,
so ``posetrack --help`` stays fast and a command's heavy imports (torch, OpenCV) cost nothing to the others.
``main`` turns a ``PosetrackError`` into one line on stderr and its exit code.
"""
from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from ..errors import PosetrackError, Terminated

# name -> ("module:attribute" of a click command, one-line help shown by ``posetrack --help``)
COMMANDS = {
    "weights": ("posetrack.cli.weights:weights", "List, download and verify pose network weights."),
    "eval": ("posetrack.cli.eval:eval_command", "PoseTrack mAP and MOTA of predictions, as the official poseval."),
    "eval-coco": ("posetrack.cli.eval:eval_coco_command", "COCO keypoint AP of a result file (pycocotools)."),
    "track": ("posetrack.cli.track:track", "Give track ids to given poses, with optical flow over the video."),
    "synth": ("posetrack.cli.synth:synth", "Write synthetic multi-person sequences with exact ground truth."),
    "run": ("posetrack.run.cli:run_command", "Estimate and track poses in a video: JSON + overlay video."),
    "batch": ("posetrack.run.cli:batch_command", "Run a data set or a list of videos, resumable (torchrun-ready)."),
    "train": ("posetrack.cli.train:train", "Train a pose network (COCO recipe, PoseTrack fine-tuning)."),
    "test": ("posetrack.cli.test:test_command", "COCO AP / PoseTrack mAP of pose weights on a val set."),
    "train-detector": ("posetrack.cli.train:train_detector", "Fine-tune the person detector on COCO-format boxes."),
    "export": ("posetrack.cli.results:export_command", "A run's result as CSV: one row per frame, track, joint."),
    "report": ("posetrack.cli.results:report_command", "An HTML page on a run's tracks: plots and likely errors."),
    "edit": ("posetrack.cli.results:edit_command", "Merge, split, swap or delete track ids; re-draw the overlay."),
    "demo": ("posetrack.demo.cli:demo", "Offline demo: synthetic clips, packaged models, full pipeline, mAP/MOTA."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        # The one-line helps come from COMMANDS so that listing them imports none of the commands' modules.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posetrack")
def cli():
    """Multi-person pose estimation and tracking in video (Simple Baselines, Xiao et al. 2018)."""


def main(argv=None) -> int:
    try:
        # Commands return None; click hands back the code of an explicit ctx.exit(code).
        rv = cli.main(args=argv, prog_name="posetrack", standalone_mode=False)
    except PosetrackError as err:
        click.echo(f"posetrack: error: {err}", err=True)
        return err.exit_code
    except click.exceptions.Abort as err:  # click turns a KeyboardInterrupt (and so Terminated) into Abort
        if isinstance(err.__cause__, Terminated):
            return _terminated(err.__cause__)
        click.echo("posetrack: aborted", err=True)
        return 130
    except click.UsageError as err:  # a mistyped option or value: one line, like every other user mistake
        command = err.ctx.command_path if err.ctx is not None else "posetrack"
        click.echo(f"posetrack: error: {err.format_message()} (see '{command} --help')", err=True)
        return err.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except Terminated as stop:
        return _terminated(stop)
    except KeyboardInterrupt:
        click.echo("posetrack: interrupted", err=True)
        return 130
    return rv if isinstance(rv, int) else 0


def _terminated(stop: Terminated) -> int:
    """SIGTERM (unwound like Ctrl-C): one line, exit code 128 + the signal's number, as shells report it."""
    click.echo(f"posetrack: terminated by signal {stop.signum}; temporary files removed, a partial result kept",
               err=True)
    return 128 + stop.signum


if __name__ == "__main__":
    sys.exit(main())
