"""Write a file so that readers see either the old file, nothing, or the complete new file.

Every output posetrack writes (JSON results, configs, checkpoints, videos, synthetic images) goes through here:
the content is written to a temporary file in the destination folder, ``.<name>.<random>.tmp``, which is renamed
over the destination once complete. A crash or Ctrl-C in between leaves no file that looks finished, and a later
run recognises (``leftovers``) and removes the temporary files a killed run left behind.

* ``atomic_path(path)``: a ``with`` block around code that writes the temporary path;
* ``TempFile(path)``: the same for writers that live longer than one block (the video writer): ``commit()`` or
  ``discard()`` when done;
* ``write_text`` / ``write_bytes``: the one-call forms.
"""
from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path

SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class TempFile:
    """A temporary file beside ``path`` that becomes ``path`` on ``commit()`` (or disappears on ``discard()``).

    The file gets the permissions a plain ``open(path, "w")`` would give (mkstemp alone makes it 0600).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=SUFFIX, dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> None:
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error delete it."""
    temp = TempFile(path)
    try:
        yield temp.tmp
        temp.commit()
    finally:
        temp.discard()


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def leftovers(folder: str | os.PathLike, name: str) -> list[Path]:
    """The temporary files of ``folder/name`` that a killed writer left behind."""
    pattern = os.path.join(glob.escape(os.fspath(folder)), f".{glob.escape(name)}.*{SUFFIX}")
    return [Path(p) for p in glob.glob(pattern)]
