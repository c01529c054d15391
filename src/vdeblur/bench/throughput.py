"""Seconds per frame of a model alone (streaming, as inference runs it) and end to end on a video file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from typing import Any
from pathlib import Path

import torch
from torch import nn

from vdeblur.bench.frames import pattern_frames, write_test_video
from vdeblur.bench.timing import Timing, time_runs
from vdeblur.infer.compiled import compile_failures_raise
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.infer.engine import WindowEngine
from vdeblur.precision import precision_name

CPU = torch.device("cpu")


def stream_runner(
    model: nn.Module, height: int, width: int, dtype: torch.dtype | None, frames_per_run: int = 8, tile: int = 0,
    compile: bool | Mapping[str, Any] = False, fuse: bool | None = None,
) -> Callable[[], None]:
    """A callable that streams ``frames_per_run`` frames through the model, as ``vdeblur deblur`` does.

    The stream goes through :class:`~vdeblur.infer.engine.WindowEngine`, so with a feature-caching model each
    frame is encoded once and decoded once; the frames are already tensors in memory, so no video decoding or
    encoding is counted.

    Args:
        model: the model (torch, or :class:`~vdeblur.export.runtime.OnnxRuntimeModel`).
        height: frame height.
        width: frame width.
        dtype: ``torch.bfloat16`` for bf16 autocast, None for float32.
        frames_per_run: frames per stream.
        tile: tile side (0: whole frames).
        compile: run the model through torch.compile (True, or a mapping of Inductor options); a failed
            compilation raises instead of falling back, so an eager run is never timed as a compiled one.
        fuse: oneDNN-fused inference blocks (:mod:`vdeblur.infer.fusion`); None: the engine's default.
    """
    engine = WindowEngine(model, CPU, dtype=dtype, tile=tile, compile=compile, fuse=fuse)
    frames = [torch.from_numpy(f).permute(2, 0, 1).float() / 255 for f in pattern_frames(frames_per_run, height, width)]

    def run() -> None:
        with compile_failures_raise():
            for _ in engine.run(frames):
                pass

    return run


def end_to_end_timing(
    model: nn.Module, height: int, width: int, dtype: torch.dtype | None, runs: int, frames_per_run: int = 8,
    tile: int = 0, compile: bool = False, fuse: bool | None = None,
) -> Timing:
    """Seconds per frame of ``Deblurrer.deblur_video`` (decode, model, encode to H.264) on a generated video.

    Arguments as :func:`stream_runner`; the video is written once to a temporary folder, outside the timing.
    """
    deblurrer = Deblurrer(model, CPU, precision=precision_name(dtype), tile=tile, backend="compile" if compile else "torch",
                          fuse=fuse)
    with tempfile.TemporaryDirectory(prefix="vdeblur-bench-") as folder:
        source = write_test_video(Path(folder) / "input.mp4", frames_per_run, height, width)
        target = Path(folder) / "output.mp4"

        def run() -> None:
            with compile_failures_raise():
                deblurrer.deblur_video(source, target, overwrite=True, progress=False)

        return time_runs(run, runs).per_item(frames_per_run)
