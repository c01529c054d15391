"""keep_freed_memory: large blocks freed and allocated again must not be faulted in again (glibc only)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vdeblur.allocator import OPT_OUT, user_configured_allocator

# In a fresh process: fill and free a 64 MiB tensor (twice the largest mmap threshold glibc allows) again and
# again, and count the page faults of nine rounds after a warm-up. (The heap settles within the warm-up: glibc's
# aligned allocations cannot reuse a freed block of their own size at first, so it grows for a few rounds.)
_CHILD = """
import resource
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


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("MALLOC_") or k in ("GLIBC_TUNABLES", "LD_PRELOAD", OPT_OUT))}


def _run(env_overrides: dict[str, str]) -> tuple[bool, int]:
    env = _clean_environment() | env_overrides
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    kept, faults = out.stdout.split()
    return kept == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_large_blocks_are_reused_without_page_faults() -> None:
    kept, faults = _run({})
    assert kept
    assert faults < 0.05 * 9 * _PAGES_PER_FILL
    # The reference: glibc's default faults every page in again on every round.
    kept, faults = _run({OPT_OUT: "0"})
    assert not kept
    assert faults > 0.9 * 9 * _PAGES_PER_FILL


def test_the_environment_choosing_the_allocator_wins() -> None:
    clean = _clean_environment()
    assert not user_configured_allocator(clean)
    assert not user_configured_allocator(clean | {"LD_PRELOAD": "", "GLIBC_TUNABLES": "glibc.rtld.nns=2"})
    for chosen in ({OPT_OUT: "0"}, {"MALLOC_TOP_PAD_": "0"}, {"MALLOC_MMAP_MAX_": "0"},
                   {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"},
                   {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}):
        assert user_configured_allocator(clean | chosen), chosen
