"""Output safety: never overwrite an input, never leave a partial output, say clearly when writing is impossible."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vdeblur.errors import UserError
from vdeblur.io.atomic import current_umask


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(source: Path, destination: Path, overwrite: bool) -> None:
    """Refuse outputs that would replace the input, exist already (without ``overwrite``), or cannot be written.

    Raises:
        UserError: with one sentence naming the problem.
    """
    if destination.resolve() == source.resolve() or _same_file(source, destination):
        raise UserError(f"The output {destination} is the input itself; choose another output path.")
    if destination.exists() and not overwrite:
        raise UserError(f"The output {destination} already exists; pass --overwrite to replace it.")
    check_writable_folder(destination.parent)


def check_writable_folder(folder: Path) -> None:
    """Raise UserError unless ``folder`` exists as a writable folder or can be created."""
    ancestor = folder
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"Cannot create the output folder {folder}: {ancestor} is a file, not a folder.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(f"Cannot write to the output folder {ancestor}: permission denied.")


@contextlib.contextmanager
def atomic_folder(destination: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``destination``; it replaces ``destination`` only if the block succeeds.

    On any exception (KeyboardInterrupt included) the temporary folder is removed and ``destination`` is
    untouched. An existing ``destination`` is moved aside and deleted only after the new folder is in place.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; the output is an ordinary folder
    try:
        yield tmp
        old = None
        if destination.exists():
            old = destination.with_name(f".{destination.name}.{tmp.name}.old")
            destination.rename(old)
        tmp.rename(destination)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
