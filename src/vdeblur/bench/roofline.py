"""A dense-convolution roofline: the GFLOP/s this machine reaches on a large 3×3 convolution.

A model's achieved GFLOP/s divided by this figure, measured in the same run and precision, says how much of the
hardware's convolution throughput the model uses; small, memory-bound layers and element-wise ops pull the
ratio down.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vdeblur.bench.timing import time_runs

# Channel widths tried; the best of them is the roofline.
ROOFLINE_CHANNELS = (32, 64, 128)


@dataclass(frozen=True)
class Roofline:
    """The best dense-convolution throughput found.

    Attributes:
        gflops_per_second: the best achieved GFLOP/s (2 FLOPs per multiply-add).
        channels: the channel width (in = out) that achieved it.
        height: feature map height.
        width: feature map width.
        channels_last: whether the best layout was NHWC (oneDNN's bf16 kernels are several times faster
            on it than on NCHW, which they reorder first).
    """

    gflops_per_second: float
    channels: int
    height: int
    width: int
    channels_last: bool


def conv_gflops(channels: int, height: int, width: int) -> float:
    """GFLOPs of one 3×3, stride-1, same-padded convolution ``channels -> channels`` on one ``height × width`` map."""
    return 2 * channels * channels * 9 * height * width / 1e9


def conv_roofline(height: int, width: int, dtype: torch.dtype | None, runs: int) -> Roofline:
    """Measure 3×3 convolutions of :data:`ROOFLINE_CHANNELS` widths, NCHW and NHWC, on a ``height × width`` map;
    keep the best.

    Args:
        height: map height (720 for the 720p roofline).
        width: map width.
        dtype: ``torch.bfloat16`` for bf16 tensors (what autocast hands the convolutions); None for float32.
        runs: timed runs per case (median).
    """
    best = None
    generator = torch.Generator().manual_seed(0)
    for channels in ROOFLINE_CHANNELS:
        for nhwc in (False, True):
            layout = torch.channels_last if nhwc else torch.contiguous_format
            x = torch.rand(1, channels, height, width, generator=generator).to(memory_format=layout)
            weight = (torch.randn(channels, channels, 3, 3, generator=generator) / (3 * channels**0.5)).to(
                memory_format=layout
            )
            if dtype is not None:  # cast once, outside the timing: the roofline is the convolution itself
                x, weight = x.to(dtype), weight.to(dtype)

            def run(x: torch.Tensor = x, weight: torch.Tensor = weight) -> object:
                with torch.no_grad():
                    return F.conv2d(x, weight, padding=1)

            rate = conv_gflops(channels, height, width) / time_runs(run, runs).median
            if best is None or rate > best.gflops_per_second:
                best = Roofline(rate, channels, height, width, nhwc)
    assert best is not None
    return best
