"""Writing exported files atomically, with write failures reported as user errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from vdeblur.errors import UserError
from vdeblur.io.atomic import atomic_output


def write_with(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file that replaces ``path`` only when ``write`` succeeds.

    Raises:
        UserError: the folder cannot be created or the file cannot be written.
    """
    try:
        with atomic_output(path) as tmp:
            write(tmp)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}{where}.") from exc


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`write_with`)."""
    write_with(path, lambda tmp: tmp.write_bytes(data))
