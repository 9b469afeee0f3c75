"""Reading weight files safely: the one ``torch.load`` of posetrack.

Every checkpoint (pose networks, detectors, training runs) is read with ``weights_only=True``: tensors, plain
containers and numbers, nothing that runs code. Two kinds of foreign metadata are allowed on top, because common
checkpoints carry them and they rebuild data without running code: numpy arrays (mmpose/mmengine put them in
``meta``) and ``argparse.Namespace`` (torchvision's reference trainer stores its arguments next to the model).
Every failure is one ``PosetrackError`` line naming the file.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from .errors import PosetrackError

# numpy objects that rebuild arrays; allowed on top of torch's weights-only set when a file needs them.
_NUMPY_SAFE = {"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray",
               "numpy.dtype", "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"}


def read_checkpoint(path: str | os.PathLike, what: str = "checkpoint") -> object:
    """The loaded contents of ``path`` (on the CPU); ``what`` names the file in messages (``detector weights``)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise PosetrackError(f"{path}: {what} file not found; check the path (or run 'posetrack weights list')")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as first:  # noqa: BLE001 - pickle, zip and unsupported-global errors alike
        error = first
    try:
        unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # noqa: BLE001 - not a torch.save file at all
        raise PosetrackError(f"{path}: not a PyTorch checkpoint ({type(error).__name__}); pass the .pth/.pth.tar "
                             f"{what} file saved with torch.save") from None
    if unsafe and all(n in _NUMPY_SAFE or n.startswith("numpy.dtypes.") for n in unsafe):
        with torch.serialization.safe_globals(_numpy_allowlist() + [argparse.Namespace]):
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:  # noqa: BLE001
                error = err
    names = ", ".join(sorted(unsafe)[:3]) or str(error).splitlines()[0]
    raise PosetrackError(f"{path}: cannot be loaded safely (it needs {names}); posetrack loads weights only and "
                         "never runs code from a checkpoint: re-save its state_dict with torch.save") from None


def _numpy_allowlist() -> list:
    """numpy's array-rebuilding callables under both the numpy 1 and numpy 2 module names."""
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1
        from numpy.core import multiarray
    allowed = [np.ndarray, np.dtype]
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed += [(multiarray._reconstruct, f"{mod}._reconstruct"), (multiarray.scalar, f"{mod}.scalar")]
    allowed += [type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32", "bool")]
    return allowed
