"""Write-then-rename, so that an interrupted write never leaves a half-written file under the final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output(destination: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it into place only if the block succeeds.

    The temporary file lives in the destination's folder so the final rename is atomic on the same filesystem.
    It keeps the destination's suffix (or ``suffix``) because writers such as FFmpeg pick the format from it.
    On any exception, including KeyboardInterrupt, the temporary file is removed and the destination is untouched.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{destination.stem}.", suffix=suffix if suffix is not None else destination.suffix,
        dir=destination.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp (and some writers, e.g. safetensors, which recreate the file) make it private (0600); give the
        # result the permissions an ordinary new file would get.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, destination)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's file-creation mask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
