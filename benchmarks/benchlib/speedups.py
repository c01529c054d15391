"""Cheap speed-ups measured against a baseline in the same run: channels_last, one thread, the engine's
oneDNN-fused blocks, torch.compile, ONNX Runtime.

All variants stream the same frames (:func:`vdeblur.bench.throughput.stream_runner`) and are timed in turn,
one run of each per round, so a change of machine load hits them alike. A variant that fails (torch.compile
needs a working C++ toolchain, for one) is reported with its error instead of a time.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from vdeblur.infer.backends import prepare_model
from vdeblur.bench.throughput import stream_runner
from vdeblur.bench.timing import Timing, time_interleaved
from vdeblur.infer.fusion import fusion_available
from vdeblur.layout import to_channels_last


@dataclass(frozen=True)
class VariantResult:
    """One variant's seconds per frame (None if it failed) and its one-off warm-up cost.

    Attributes:
        name: what was changed.
        seconds_per_frame: median seconds per frame, or None.
        warmup_seconds_per_frame: the warm-up run's seconds per frame (compilation shows here).
        error: why the variant failed, or None.
    """

    name: str
    seconds_per_frame: float | None
    warmup_seconds_per_frame: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Variant:
    """A named change: how to build the model, a context to run it in, whether the engine compiles it, and
    whether it streams through the oneDNN-fused blocks (off in the baseline, so that each variant shows its own
    gain)."""

    name: str
    build: Callable[[], nn.Module]
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    compile: bool = False
    fuse: bool = False


class _VariantFailed(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch with a single intra-op thread, restoring the previous count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def channels_last(model: nn.Module) -> nn.Module:
    """A copy with NHWC weights; convolutions then keep activations NHWC, which oneDNN's bf16 kernels favour."""
    return to_channels_last(copy.deepcopy(model))


def standard_variants(model: nn.Module, dtype: torch.dtype | None, include_compile: bool) -> list[Variant]:
    """Baseline, ``channels_last``, ``threads=1`` (if more are used), ``fused blocks`` (where oneDNN can),
    ``torch.compile`` (optional) and ``onnxruntime`` (float32 only: its CPU kernels have no bf16 path)."""
    variants = [Variant("baseline", lambda: model), Variant("channels_last", lambda: channels_last(model))]
    if torch.get_num_threads() > 1:
        variants.append(Variant("threads=1", lambda: model, one_thread))
    if fusion_available(torch.device("cpu"), dtype):
        variants.append(Variant("fused blocks", lambda: model, fuse=True))
    if include_compile:
        variants.append(Variant("torch.compile", lambda: copy.deepcopy(model), compile=True))
    if dtype is None:
        variants.append(Variant("onnxruntime", lambda: prepare_model(model, "onnxruntime")))
    return variants


def _describe(exc: BaseException | None) -> str:
    lines = str(exc).strip().splitlines() if exc is not None else []
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}"


def _runner(variant: Variant, run: Callable[[], None]) -> Callable[[], None]:
    def wrapped() -> None:
        try:
            with variant.context():
                run()
        except Exception as exc:
            raise _VariantFailed(variant.name) from exc

    return wrapped


def measure_speedups(
    model: nn.Module, height: int, width: int, dtype: torch.dtype | None, runs: int, frames_per_run: int = 8,
    include_compile: bool = True,
) -> list[VariantResult]:
    """Seconds per frame of the baseline and each variant of :func:`standard_variants`, in one run.

    Args:
        model: a torch model.
        height: frame height (small: these are relative measurements).
        width: frame width.
        dtype: the precision of all variants (``torch.bfloat16`` or None).
        runs: timed rounds (after a warm-up round, where torch.compile compiles).
        frames_per_run: frames per stream.
        include_compile: also try torch.compile.
    """
    variants = standard_variants(model, dtype, include_compile)
    runners: dict[str, Callable[[], None]] = {}
    failures: dict[str, str] = {}
    for variant in variants:
        try:
            run = stream_runner(variant.build(), height, width, dtype, frames_per_run, compile=variant.compile,
                                fuse=variant.fuse)
            runners[variant.name] = _runner(variant, run)
        except Exception as exc:  # a benchmark reports a variant that cannot run rather than stopping
            failures[variant.name] = _describe(exc)
    timings: dict[str, Timing] = {}
    while runners and not timings:
        try:
            timings = time_interleaved(runners, runs)
        except _VariantFailed as failed:  # drop the failing variant and time the others again
            failures[failed.name] = _describe(failed.__cause__)
            del runners[failed.name]
    results = []
    for v in variants:
        if v.name in timings:
            per_frame = timings[v.name].per_item(frames_per_run)
            results.append(VariantResult(v.name, per_frame.median, per_frame.warmup_seconds[0]))
        else:
            results.append(VariantResult(v.name, None, None, failures.get(v.name, "not run")))
    return results
