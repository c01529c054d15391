"""Listing a folder's frames, videos and subfolders in the order people number them (``frame2`` before
``frame10``): the one place where inference, the dataset readers and synthesis find their files."""

from __future__ import annotations

import re
from pathlib import Path

from vdeblur.io.images import is_image_file
from vdeblur.io.video import is_video_file


def natural_key(path: Path) -> list[object]:
    """Sort key under which ``frame2`` comes before ``frame10`` (case-insensitive; zero-padded names sort as usual)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, in natural order."""
    return sorted((p for p in folder.iterdir() if p.is_file() and is_image_file(p)), key=natural_key)


def list_videos(folder: Path) -> list[Path]:
    """The video files directly inside ``folder``, in natural order."""
    return sorted((p for p in folder.iterdir() if p.is_file() and is_video_file(p)), key=natural_key)


def list_subfolders(folder: Path) -> list[Path]:
    """The visible subfolders of ``folder`` in natural order; hidden ones (e.g. a sequence still being written)
    are left out."""
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=natural_key)
