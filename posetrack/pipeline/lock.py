"""One writer per output name: ``OUT/.<name>.lock`` while a run writes ``OUT/<name>.*``.

Two runs writing the same name (a second ``posetrack run`` on the same folder by mistake, two batches over one
list) would truncate each other's partial file, remove each other's temporary files and end with one of them
failing on a file the other removed. The lock file is created with ``O_CREAT | O_EXCL`` (atomic on every local
file system and on NFSv3+), holds ``pid host`` of its owner, and is removed when the run ends, however it ends
(a Python exception, Ctrl-C, SIGTERM). A run killed with SIGKILL leaves it behind: a lock whose owner runs on this
host and no longer exists is taken over. A lock from another host cannot be checked and is respected; its one
line says which file to delete if that run is gone.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from ..errors import PosetrackError

# A lock file that is still empty was just created by its owner, who writes ``pid host`` next; one that stays
# empty longer than this was left by a run killed in between.
EMPTY_GRACE_S = 10.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class OutputLock:
    """The lock of ``folder/<name>``; ``acquire()`` or one ``PosetrackError`` line, ``release()`` when done."""

    def __init__(self, folder: str | os.PathLike, name: str):
        self.path = Path(folder) / f".{name}.lock"
        self.held = False

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        finally:
            os.close(fd)
        self.held = True
        return True

    def owner(self) -> tuple[int, str] | None:
        """``(pid, host)`` of the lock's holder, or None when the file is empty, unreadable or gone."""
        try:
            pid, host = self.path.read_text(encoding="utf-8").split()
            return int(pid), host
        except (OSError, ValueError):
            return None

    def _content(self, path: Path | None = None) -> str | None:
        try:
            return (path or self.path).read_text(encoding="utf-8")
        except OSError:
            return None

    def _stale(self) -> bool:
        owner = self.owner()
        if owner is None:
            try:
                return time.time() - self.path.stat().st_mtime > EMPTY_GRACE_S
            except FileNotFoundError:
                return True
        pid, host = owner
        return host == socket.gethostname() and not _alive(pid)

    def acquire(self) -> OutputLock:
        for _ in range(3):
            if self._create():
                return self
            stale = self._content()
            if not self._stale():
                break
            self._take_over(stale)
        owner = self.owner()
        who = f"process {owner[0]} on {owner[1]}" if owner else "another process"
        raise PosetrackError(f"{self.path.parent / self.path.name[1:-5]}: {who} is writing this output "
                             f"({self.path}); wait for it, choose another folder with -o, or delete {self.path} "
                             "if that run is gone")

    def clear_stale(self) -> None:
        """Remove the lock if the run that made it is gone (a lock of a live run stays)."""
        stale = self._content()
        if stale is not None and self._stale():
            self._take_over(stale)

    def _take_over(self, stale: str | None) -> None:
        """Move a dead run's lock aside, then create ours with O_EXCL (the caller's next try). If what was moved
        is not the dead run's lock (a run taking it over at the same moment made its own meanwhile), it goes
        back, and that run keeps it."""
        aside = self.path.with_name(f"{self.path.name}.{os.getpid()}.stale")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        if self._content(aside) != stale:
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        aside.unlink(missing_ok=True)

    def release(self) -> None:
        if self.held:
            self.held = False
            owner = self.owner()
            if owner is not None and owner[0] == os.getpid():  # never someone else's lock that replaced ours
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
