"""Keep freed large buffers in the process heap (glibc), so a model's activations are not faulted in again.

glibc serves large allocations with fresh pages from ``mmap`` and gives them back when the tensor is freed, or
trims them off its heap soon after. A model that allocates the same large activations for every frame then
pays a page fault and the kernel's zeroing of every 4 KiB page, every frame. Telling glibc to serve every block
from its heap and never to trim it removes that cost. On the development CPU, a full-resolution residual dense
block (1280×720, bf16) took 111 ms instead of 224 ms, and the streaming STANets ran 1.26× (``sta-cpu``) and
1.32× (``sta-fullres``) faster at 1280×720 (BENCHMARKS.md, "Speed: what changed").

The price is memory. Freed blocks stay with the process until it exits, and long-lived tensors (the cached
frame features) end up between them, so the heap fragments. Peak resident memory rose 9 % for ``sta-cpu`` at
1920×1080 and 24 % for ``sta-fullres`` at 1280×720 in bf16 (for ``sta-cpu`` at 1280×720 it did not rise).
Both stay well inside the memory targets, so the ``vdeblur`` command turns the setting on;
``VDEBLUR_KEEP_FREED_MEMORY=0`` turns it off.

The setting is process-wide, so only entry points (the ``vdeblur`` command, benchmark workers) call
:func:`keep_freed_memory`, never library code. It covers allocations of the main thread (where ``vdeblur`` runs
its model); glibc's per-thread arenas still map blocks above 64 MiB directly.
"""

from __future__ import annotations

import ctypes
import os
import sys

OPT_OUT = "VDEBLUR_KEEP_FREED_MEMORY"
# mallopt parameters from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_INT_MAX = 2**31 - 1
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")


def user_configured_allocator(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """Whether the environment already chooses the allocator's behaviour, which then wins over vdeblur's."""
    return (
        environ.get(OPT_OUT, "1") == "0"
        or any(name.startswith("MALLOC_") and name.endswith("_") for name in environ)  # glibc's own knobs
        or "glibc.malloc" in environ.get("GLIBC_TUNABLES", "")
        or any(name in environ.get("LD_PRELOAD", "") for name in _OTHER_ALLOCATORS)
    )


def keep_freed_memory() -> bool:
    """Make glibc keep freed large blocks for reuse; returns whether the setting took effect.

    Does nothing (returns False) off Linux, on a C library without ``mallopt`` (musl), or when
    :func:`user_configured_allocator` says the environment has chosen.
    """
    if not sys.platform.startswith("linux") or user_configured_allocator():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success. The trim threshold goes first: on its own it changes little, whereas a heap
    # that must hold every block but may still be trimmed would fault pages in again.
    return bool(mallopt(_M_TRIM_THRESHOLD, _INT_MAX)) and bool(mallopt(_M_MMAP_MAX, 0))
