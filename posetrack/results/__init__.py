"""Results people can use, after a run: smoothing and gap filling, CSV export, a report without ground truth,
and id edits re-drawn without running any network.

Library (no click here): ``postprocess`` / ``OneEuroSmoother`` / ``savgol`` / ``fill_gaps`` on a tracked
``posetrack.types.Sequence`` (settings in ``PostConfig``), ``write_csv``, ``edit_result``, and
``report.write_report``. The commands ``posetrack export``, ``report`` and ``edit`` are thin wrappers in
``posetrack.cli.results``; ``posetrack.pipeline.finalize`` applies the post-processing and the CSV export to a
run's own files.
"""
from ..config.post import PostConfig
from .export import write_csv
from .gaps import fill_gaps
from .smooth import OneEuroSmoother, one_euro, postprocess, savgol

__all__ = ["PostConfig", "OneEuroSmoother", "fill_gaps", "one_euro", "postprocess", "savgol", "write_csv"]
