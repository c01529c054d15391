"""Updating one section of a Markdown report (BENCHMARKS.md) without touching the others."""

from __future__ import annotations

import os
from pathlib import Path

from vdeblur.io.atomic import atomic_output


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the ``## heading`` section (up to the next ``## ``) replaced by ``heading`` + ``body``,
    or with it appended when absent."""
    section = f"{heading}\n\n{body.strip()}\n"
    if heading not in text:
        return text.rstrip() + "\n\n" + section if text.strip() else section
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    rest = "" if end == -1 else "\n" + text[end + 1 :]
    return text[:start] + section + rest


def write_section(path: str | os.PathLike, heading: str, body: str) -> None:
    """Replace (or append) the section ``heading`` of the Markdown file ``path``, atomically."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    with atomic_output(path) as tmp:
        tmp.write_text(replace_section(text, heading, body), encoding="utf-8")
