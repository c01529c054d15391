"""The one exception type for problems a user can cause and fix.

The command-line tool prints the message of a `UserError` as a single sentence and exits non-zero, without a
traceback; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, files or configuration, explained in one sentence."""


class ConfigError(UserError, ValueError):
    """An unknown, missing or mistyped configuration key."""


class CheckpointError(UserError):
    """A weights file that is missing, unreadable, or made for another architecture."""


class MediaError(UserError):
    """A video or image that is missing, unreadable, corrupt or in an unsupported format."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type's name), without a final full stop.

    Library errors (torch, FFmpeg) sometimes span several lines; the first names the problem, and a
    `UserError` message must stay one sentence.
    """
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


def describe_os_error(exc: OSError) -> str:
    """One sentence for a failed file operation: what failed, on which path."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{reason}: {' -> '.join(paths)}." if paths else f"{reason}."
