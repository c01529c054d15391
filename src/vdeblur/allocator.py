"""Keep freed large buffers in the process heap (glibc), so a model's activations are not faulted in again.

glibc serves every allocation above its mmap threshold (32 MiB at most) with fresh pages from ``mmap`` and
returns them to the system when the tensor is freed. A model that allocates the same large activations for
every frame then pays a page fault and the kernel's zeroing of every 4 KiB page, every frame: on the
development CPU a full-resolution dense block took 226 ms that way against 109 ms with freed memory kept
(``BENCHMARKS.md``). ``vdeblur`` commands therefore tell glibc to serve large blocks from the heap and not to
trim it, the effect jemalloc or tcmalloc give when preloaded. Peak memory is unchanged: the heap keeps what the
largest frame needed, which the process had held at its peak anyway.

This changes process-wide allocator settings, so only entry points (the ``vdeblur`` command, benchmark
scripts) call it, never library code.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameters from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_INT_MAX = 2**31 - 1
# A user who sets glibc's own tunables (or preloads another allocator) has chosen; leave the process alone.
_USER_CHOICES = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES", "LD_PRELOAD")


def keep_freed_memory() -> bool:
    """Make glibc keep freed large blocks for reuse; returns whether the setting took effect.

    Does nothing (returns False) off Linux, on a C library without ``mallopt`` (musl), or when the
    environment already configures the allocator.
    """
    if not sys.platform.startswith("linux") or any(name in os.environ for name in _USER_CHOICES):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error.
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _INT_MAX))
