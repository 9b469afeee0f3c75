"""Where the networks run: the one place a device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``) is checked and
resolved. torch is imported only when a name has to be resolved."""
from __future__ import annotations

from .errors import PosetrackError

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"


def valid_device_name(name: str) -> bool:
    return name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit())


def resolve_device(name: str = "auto", local_rank: int | None = None) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``. Under torchrun (``local_rank`` given) a plain
    ``cuda`` becomes this process's own GPU ``cuda:LOCAL_RANK``. Asking for CUDA where there is none, or for a
    name that is not a device, is a ``PosetrackError``."""
    if not valid_device_name(name):
        raise PosetrackError(f"device {name!r}: choose {DEVICE_CHOICES}")
    if name == "cpu":
        return name
    import torch

    available = torch.cuda.is_available()
    if name == "auto":
        if not available:
            return "cpu"
        name = "cuda"
    if not available:
        raise PosetrackError(f"device {name!r} requested but CUDA is not available; use the cpu device "
                             "(--device cpu, or --set run.device=cpu)")
    if name == "cuda" and local_rank is not None:
        return f"cuda:{local_rank}"
    return name
