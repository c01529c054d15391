"""Output safety: never overwrite an input, never leave a partial output, say clearly when writing is impossible."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vdeblur.errors import UserError
from vdeblur.infer.sources import is_photo
from vdeblur.io.atomic import current_umask
from vdeblur.io.images import is_image_file
from vdeblur.io.video import is_video_file


def same_path(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file: the same path, or links to one file."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(source: Path, destination: Path, overwrite: bool) -> None:
    """Refuse outputs that would replace the input or anything but an earlier output, or cannot be written.

    A destination with a video suffix is a video file, one with an image suffix a photograph's image file;
    anything else is a folder of frames, which replaces the whole folder: so ``--overwrite`` replaces only a file
    by a file, or a folder that holds nothing but frames. A photograph goes to an image file or a folder, a video
    or a folder of frames to a video file or a folder.

    Raises:
        UserError: with one sentence naming the problem.
    """
    _check_kind(source, destination)
    resolved = destination.resolve()
    if same_path(source, destination):
        raise UserError(f"The output {destination} is the input itself; choose another output path.")
    if source.resolve().is_relative_to(resolved):
        raise UserError(f"The output {destination} is a folder that contains the input {source}; choose another "
                        f"output path.")
    if destination.exists():
        if not overwrite:
            raise _exists(destination)
        _check_replaceable(destination)
    check_writable_folder(resolved.parent)


def check_outputs(source: Path, destination: Path, compare: Path | None, overwrite: bool) -> list[Path]:
    """The outputs of deblurring ``source``: ``destination`` and the optional side-by-side ``compare``, each
    checked with :func:`check_output`.

    Raises:
        UserError: ``compare`` is ``destination``, or one of them fails :func:`check_output`.
    """
    if compare is not None and compare.resolve() == destination.resolve():
        raise UserError("The comparison output must differ from the main output.")
    targets = [destination] if compare is None else [destination, compare]
    for target in targets:
        check_output(source, target, overwrite)
    return targets


def _check_kind(source: Path, destination: Path) -> None:
    if not source.exists():  # opening it says so, in its own words
        return
    photo = is_photo(source)
    if photo and is_video_file(destination):
        raise UserError(f"The input {source} is a photograph, so its output must be an image file (.png, .jpg, "
                        f".tif, ...) or a folder, not the video {destination}.")
    if not photo and is_image_file(destination):
        raise UserError(f"The output {destination} names an image file, but {source} holds many frames; name a "
                        f"video file (.mp4, .mkv, ...) or a folder.")


def _exists(destination: Path) -> UserError:
    return UserError(f"The output {destination} already exists; pass --overwrite to replace it.")


def _check_replaceable(destination: Path) -> None:
    """Raise UserError unless ``destination`` is what vdeblur itself would have written there."""
    if is_video_file(destination) or is_image_file(destination):
        if destination.is_dir():
            raise UserError(f"The output {destination} is a folder; --overwrite replaces only a file there.")
        return
    check_frames_folder(destination, levels=0)


def check_frames_folder(folder: Path, levels: int) -> None:
    """Raise UserError unless ``folder`` holds only frames (``levels`` 0) or folders of frames (``levels`` 1).

    What an output replaces whole must be an earlier output: ``-o ~/Videos --overwrite`` must not delete a
    user's other files.
    """
    if not folder.is_dir():
        raise UserError(f"The output {folder} is a file, not a folder of frames; choose another output path.")
    foreign = _first_foreign_entry(folder, levels)
    if foreign is not None:
        raise UserError(f"The output folder {folder} holds more than frames ({foreign}); --overwrite replaces only "
                        f"an earlier output, so empty it or choose another output path.")


def _first_foreign_entry(folder: Path, levels: int) -> str | None:
    for entry in sorted(folder.iterdir()):
        if levels == 0 and entry.is_file() and is_image_file(entry):
            continue
        if levels > 0 and entry.is_dir() and not entry.is_symlink():
            inner = _first_foreign_entry(entry, levels - 1)
            if inner is None:
                continue
            return f"{entry.name}/{inner}"
        return entry.name
    return None


def check_new_file(path: Path, overwrite: bool) -> None:
    """Refuse a report file (JSON, ...) that is a folder, exists without ``overwrite``, or cannot be written.

    Checked before the work that produces it, so a long evaluation never ends in an unwritable result.
    """
    if path.is_dir():
        raise UserError(f"The output {path} is a folder; name a file.")
    if path.exists() and not overwrite:
        raise _exists(path)
    check_writable_folder(path.resolve().parent)


def check_frames_output(folder: Path, overwrite: bool, levels: int) -> None:
    """Refuse a folder output (``levels`` as in `check_frames_folder`) that exists without ``overwrite``, holds
    more than frames, or cannot be written."""
    if folder.exists():
        if not overwrite:
            raise _exists(folder)
        check_frames_folder(folder, levels)
    check_writable_folder(folder.resolve().parent)


def check_outside(destination: Path, protected: Path, what: str) -> None:
    """Refuse a destination that lies inside ``protected`` (an input) or contains it."""
    dst, src = destination.resolve(), protected.resolve()
    if dst.is_relative_to(src) or src.is_relative_to(dst):
        raise UserError(f"The output {destination} overlaps the {what} {protected}; choose a folder outside it.")


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
    # The folder the checks looked at (they follow links and ".."); "." also gets a name this way.
    destination = destination.resolve()
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
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
