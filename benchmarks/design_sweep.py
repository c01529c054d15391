"""How close model shapes come to the convolution roofline: a sweep of STANet arguments, streaming at 1280×720.

For each variant (a JSON object of constructor overrides of ``--model``) it prints parameters, GFLOPs per
streamed frame, seconds per frame (``encode_frame`` of one new frame plus ``decode_window`` of one window, as
the inference engine streams; median after a warm-up), frames/s, and achieved GFLOP/s as a share of the dense
3×3 convolution roofline measured in the same run and precision (``vdeblur.bench.roofline``). Random weights:
speed does not depend on them. This is how ``sta-wide`` was chosen (BENCHMARKS.md):

    python benchmarks/design_sweep.py --model sta-cpu \\
        --variant '{}' --variant '{"unshuffle": 4, "width": [128, 128, 128], "growth": [96, 64, 64]}'

``--compile`` adds each variant once more through torch.compile (Inductor, freezing), as ``--backend compile``
runs it.
"""

from __future__ import annotations

import argparse
import json

import torch

from vdeblur.allocator import keep_freed_memory
from vdeblur.bench.roofline import conv_roofline
from vdeblur.bench.suite import parse_size
from vdeblur.bench.timing import time_runs
from vdeblur.infer.compiled import compile_failures_raise, engine_calls
from vdeblur.layout import to_channels_last
from vdeblur.models import create_model
from vdeblur.models.cost import measure_cost
from vdeblur.precision import autocast_dtype


def seconds_per_frame(model: torch.nn.Module, height: int, width: int, dtype: torch.dtype | None, runs: int,
                      compile: bool) -> float:
    """Median seconds to stream one frame: encode the new frame, decode one window of cached features."""
    to_channels_last(model)
    calls = engine_calls(model, compile)
    frame = torch.rand(1, 3, height, width).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None), \
            compile_failures_raise():
        window = [calls.encode_frame(frame) for _ in range(model.num_frames)]

        def stream_one_frame() -> None:
            calls.encode_frame(frame)
            calls.decode_window(window, frame)

        return time_runs(stream_one_frame, runs).median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sta-cpu", help="the preset the variants override")
    parser.add_argument("--variant", action="append", required=True, metavar="JSON", help="overrides (repeat)")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="also time each variant through torch.compile")
    args = parser.parse_args()
    keep_freed_memory()  # as the vdeblur command runs

    width, height = parse_size(args.size)
    dtype = autocast_dtype(args.precision)
    roofline = conv_roofline(height, width, dtype, args.runs).gflops_per_second
    print(f"roofline ({args.precision}, 3x3 convolutions at {args.size}): {roofline:.0f} GFLOP/s")
    print(f"{'variant':<90} {'params':>8} {'GFLOP':>7} {'ms':>6} {'fps':>6} {'GFLOP/s':>8} {'roof':>5}")
    for variant in args.variant:
        kwargs = json.loads(variant)
        model = create_model(args.model, **kwargs).eval()
        multiple = model.size_multiple
        h, w = height // multiple * multiple, width // multiple * multiple  # the engine pads; we crop
        cost = measure_cost(args.model, h, w, kwargs)
        for compiled in (False, True) if args.compile else (False,):
            # Each variant is a new model for the same compiled methods: without a reset, Dynamo's cache would
            # fill up over the sweep and hit its recompile limit.
            torch._dynamo.reset()
            seconds = seconds_per_frame(model, h, w, dtype, args.runs, compiled)
            rate = cost.streaming_gflops / seconds
            label = json.dumps(kwargs) + (" compiled" if compiled else "")
            print(f"{label:<90} {cost.parameters / 1e6:7.2f}M {cost.streaming_gflops:7.1f} {seconds * 1e3:6.0f} "
                  f"{1 / seconds:6.2f} {rate:8.0f} {rate / roofline:5.0%}", flush=True)


if __name__ == "__main__":
    main()
