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
