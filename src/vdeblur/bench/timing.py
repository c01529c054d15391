"""Timing a callable: a warm-up run, then the median of several runs."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated runs (warm-up excluded).

    Attributes:
        seconds: every timed run, in order.
        warmup_seconds: the untimed warm-up runs (where one-off costs such as compilation show).
    """

    seconds: tuple[float, ...]
    warmup_seconds: tuple[float, ...] = ()

    def per_item(self, count: int) -> Timing:
        """The same timing divided by ``count`` items per run (seconds per frame from seconds per run)."""
        return Timing(tuple(s / count for s in self.seconds), tuple(s / count for s in self.warmup_seconds))

    @property
    def median(self) -> float:
        """The median run time in seconds."""
        return statistics.median(self.seconds)


def time_runs(run: Callable[[], object], runs: int, warmup: int = 1) -> Timing:
    """Call ``run`` ``warmup`` times untimed, then ``runs`` times timed.

    Warm-up absorbs one-off costs: oneDNN picking kernels for a new shape, allocator growth, lazy imports.
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    def timed() -> float:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    warm = tuple(timed() for _ in range(warmup))
    return Timing(tuple(timed() for _ in range(runs)), warm)


def time_interleaved(
    runs_by_name: dict[str, Callable[[], object]], runs: int, warmup: int = 1
) -> dict[str, Timing]:
    """Time several callables in turn, one run of each per round, so that a change in the machine's load
    during the measurement affects all of them alike rather than whichever ran at the time.

    Returns:
        Each name's :class:`Timing`.
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    seconds: dict[str, list[float]] = {name: [] for name in runs_by_name}
    warm: dict[str, list[float]] = {name: [] for name in runs_by_name}
    for round_index in range(warmup + runs):
        for name, run in runs_by_name.items():
            start = time.perf_counter()
            run()
            (warm if round_index < warmup else seconds)[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(seconds[name]), tuple(warm[name])) for name in runs_by_name}


def load_average() -> tuple[float, float, float]:
    """The 1-, 5- and 15-minute load averages (how busy the machine was; compare with the core count)."""
    return os.getloadavg()


# A 1-minute load average above this before a run means other work kept about half a core busy.
BUSY_LOAD = 0.5


def load_verdict(load_before: float, load_after: float, cpus: int | None) -> str:
    """How busy the machine was around a benchmark, as a note for its report.

    Only the load *before* the run says whether other work competed with it: during the run the benchmark's
    own threads raise the load average to about the thread count.
    """
    verdict = f"load average {load_before:.1f} before, {load_after:.1f} after, on {cpus or '?'} CPUs"
    if load_before > BUSY_LOAD:
        return verdict + ": other work was running, so the times are pessimistic (frames/s low)"
    return verdict + ": the machine was quiet"
