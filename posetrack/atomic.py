"""Write a file so that readers see either the old file, nothing, or the complete new file.

Every output posetrack writes (JSON results, checkpoints, videos) goes through ``atomic_path``: the content is
written to a temporary name in the destination folder, then renamed over the destination once complete. A crash
or Ctrl-C in between leaves no file that looks finished.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error delete it.

    The file gets the permissions a plain ``open(path, "w")`` would give (mkstemp alone makes it 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
