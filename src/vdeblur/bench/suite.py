"""Frames per second across sizes and precisions, with achieved GFLOP/s against the convolution roofline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn
from tqdm import tqdm

from vdeblur.bench.roofline import Roofline, conv_roofline
from vdeblur.bench.throughput import end_to_end_timing, stream_runner
from vdeblur.bench.timing import time_interleaved
from vdeblur.errors import UserError
from vdeblur.infer.backends import prepare_model
from vdeblur.models.cost import gflops_per_frame
from vdeblur.precision import autocast_dtype

PRECISIONS = {name: autocast_dtype(name) for name in ("fp32", "bf16")}


@dataclass(frozen=True)
class SpeedRow:
    """One size × precision × backend measurement.

    Attributes:
        width: frame width.
        height: frame height.
        precision: ``fp32`` or ``bf16``.
        backend: ``torch``, ``compile``, ``onnxruntime``, or :data:`PLAIN_BLOCKS` (``torch`` without the
            engine's oneDNN-fused blocks).
        model_fps: frames per second of the model alone (median run).
        model_seconds: seconds per frame of every timed run.
        end_to_end_fps: frames per second of decode → model → encode, or None if not measured.
        gflops_per_frame: model GFLOPs per frame (streaming cost where the model caches features).
        achieved_gflops: ``gflops_per_frame · model_fps``.
        roofline_gflops: the dense 3×3 convolution roofline in the same precision.
        roofline_ratio: ``achieved_gflops / roofline_gflops``.
    """

    width: int
    height: int
    precision: str
    backend: str
    model_fps: float
    model_seconds: tuple[float, ...]
    end_to_end_fps: float | None
    gflops_per_frame: float
    achieved_gflops: float
    roofline_gflops: float
    roofline_ratio: float


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)`` (width, height).

    Raises:
        UserError: not WIDTHxHEIGHT with positive integers.
    """
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UserError(f"Sizes are WIDTHxHEIGHT, e.g. 1280x720; got '{text}'.") from None
    if width < 1 or height < 1:
        raise UserError(f"Sizes must be positive, got '{text}'.")
    return width, height


def measure_rooflines(precisions: Sequence[str], size: tuple[int, int], runs: int) -> dict[str, Roofline]:
    """The convolution roofline of each precision at ``size`` (width, height)."""
    return {name: conv_roofline(size[1], size[0], PRECISIONS[name], runs) for name in precisions}


# The torch backend with the inference engine's fused blocks turned off (vdeblur.infer.fusion): their gain.
PLAIN_BLOCKS = "torch, plain blocks"


def measure_speed(
    model: nn.Module,
    sizes: Sequence[tuple[int, int]],
    precisions: Sequence[str],
    backends: Sequence[str],
    rooflines: dict[str, Roofline],
    runs: int,
    frames_per_run: int = 8,
    end_to_end: bool = False,
    progress: bool = True,
    plain_blocks: Sequence[str] = (),
) -> list[SpeedRow]:
    """Measure every size × precision × backend (ONNX Runtime in fp32 only).

    Args:
        model: a torch model (the onnxruntime backend exports it).
        sizes: (width, height) pairs.
        precisions: names from :data:`PRECISIONS`.
        backends: names from :data:`~vdeblur.infer.backends.BACKENDS`.
        rooflines: per precision, from :func:`measure_rooflines`.
        runs: timed runs per measurement (after one warm-up run).
        frames_per_run: frames per stream.
        end_to_end: also time decode → model → encode on a generated video.
        progress: show a progress bar.
        plain_blocks: precisions in which to time :data:`PLAIN_BLOCKS` too, with the others of each size.
    """
    combos = [(b, p) for b in backends for p in precisions if not (b == "onnxruntime" and p != "fp32")]
    prepared = {backend: prepare_model(model, backend) for backend in {b for b, _ in combos}}
    combos += [(PLAIN_BLOCKS, p) for p in plain_blocks]
    prepared[PLAIN_BLOCKS] = model
    fuse = {PLAIN_BLOCKS: False}  # the others: the engine's default
    rows = []
    for width, height in tqdm(sizes, desc="bench", unit="size", disable=not progress):
        gflops = gflops_per_frame(model, height, width)
        # The combinations of one size are timed in turn, run by run, so load changes hit them alike.
        runners = {
            (backend, precision): stream_runner(
                prepared[backend], height, width, PRECISIONS[precision], frames_per_run, compile=backend == "compile",
                fuse=fuse.get(backend),
            )
            for backend, precision in combos
        }
        timings = time_interleaved(runners, runs)
        for backend, precision in combos:
            seconds = timings[backend, precision].per_item(frames_per_run)
            e2e = (
                end_to_end_timing(
                    prepared[backend], height, width, PRECISIONS[precision], runs, frames_per_run,
                    compile=backend == "compile", fuse=fuse.get(backend),
                ).median
                if end_to_end else None
            )
            fps = 1.0 / seconds.median
            roof = rooflines[precision].gflops_per_second
            rows.append(SpeedRow(
                width, height, precision, backend, fps, seconds.seconds, None if e2e is None else 1.0 / e2e,
                gflops, gflops * fps, roof, gflops * fps / roof,
            ))
    return rows
