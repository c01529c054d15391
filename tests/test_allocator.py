"""keep_freed_memory: large blocks freed and allocated again must not be faulted in again (glibc only)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# In a fresh process: fill and free a 64 MiB tensor (twice the largest mmap threshold glibc allows) again and
# again, and count the page faults of nine rounds after a warm-up. (The heap settles within the warm-up: glibc's
# aligned allocations cannot reuse a freed block of their own size at first, so it grows for a few rounds.)
_CHILD = """
import resource, sys
from vdeblur.allocator import keep_freed_memory
kept = keep_freed_memory()
import torch
def fill():
    torch.ones(16 * 2**20)  # 64 MiB of float32, written in full
for _ in range(20):
    fill()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(9):
    fill()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
_PAGES_PER_FILL = 64 * 2**20 // 4096


def _run(env_overrides: dict[str, str]) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env_overrides
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    kept, faults = out.stdout.split()
    return kept == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_large_blocks_are_reused_without_page_faults() -> None:
    kept, faults = _run({})
    assert kept
    assert faults < 0.05 * 9 * _PAGES_PER_FILL
    # The reference: glibc's default faults every page in again on every round.
    kept, faults = _run({"MALLOC_MMAP_MAX_": "65536"})
    assert not kept  # the user's own allocator setting wins
    assert faults > 0.9 * 9 * _PAGES_PER_FILL
