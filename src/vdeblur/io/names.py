"""Ordering file names the way people number frames."""

from __future__ import annotations

import re
from pathlib import Path


def natural_key(path: Path) -> list[object]:
    """Sort key under which ``frame2`` comes before ``frame10`` (case-insensitive; zero-padded names sort as usual)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]
