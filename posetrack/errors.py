"""The one exception type for user mistakes.

Anything a user can cause (a missing file, a malformed JSON, a checkpoint that does not fit) raises
``PosetrackError`` with a message that says what went wrong, where, and what to do. The CLI prints that message
on one line and exits with ``exit_code``; programming errors stay ordinary tracebacks.
"""


class PosetrackError(Exception):
    """A user-facing error: one clear line, a non-zero exit code."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def write_error(path, err: Exception, what: str = "") -> PosetrackError:
    """The one line for an output that cannot be written (a full disk, mostly): ``PATH: cannot write[ what]
    (reason); ...``."""
    reason = getattr(err, "strerror", None) or err
    return PosetrackError(f"{path}: cannot write{' ' + what if what else ''} ({reason}); check the free space and "
                          "that the folder is writable")


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM: what job schedulers and ``kill`` send) raised in the main thread, so a run
    unwinds as on Ctrl-C: temporary files removed, the partial file kept; the CLI exits with ``128 + signum``."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def raise_on_terminate(signum: int, frame) -> None:
    """A ``signal.signal`` handler that turns the signal into ``Terminated``."""
    raise Terminated(signum)
