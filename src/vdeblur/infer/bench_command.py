"""``vdeblur bench``: frames per second, GFLOP/s against a convolution roofline, and peak memory on this machine."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

from vdeblur.argtypes import positive_int
from vdeblur.checkpoint import DEFAULT_MODEL


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model name, run directory or .safetensors file (default: %(default)s); a model name "
                             "without shipped weights is benchmarked with random weights, since speed does not "
                             "depend on weight values")
    parser.add_argument("--sizes", default="640x360,1280x720,1920x1080",
                        help="comma-separated WIDTHxHEIGHT frame sizes (default: %(default)s)")
    parser.add_argument("--runs", type=positive_int, default=5,
                        help="timed runs per measurement, after one untimed warm-up run; the median is reported "
                             "(default: %(default)s)")
    parser.add_argument("--frames", type=positive_int, default=8,
                        help="frames per run (each frame is encoded once and decoded once, as in streaming "
                             "inference; default: %(default)s)")
    parser.add_argument("--precision", default=None,
                        help="comma-separated fp32,bf16 (default: both where the CPU has native bf16, else fp32)")
    parser.add_argument("--backend", default="torch",
                        help="comma-separated torch,compile,onnxruntime (compile: torch.compile, whose first "
                             "run of each size compiles; onnxruntime runs an ONNX export, fp32 only; "
                             "default: %(default)s)")
    parser.add_argument("--end-to-end", action="store_true",
                        help="also time decode -> model -> H.264 encode on a generated video of each size")
    parser.add_argument("--memory", action="store_true",
                        help="also measure peak resident memory at each size (a fresh process per measurement)")
    parser.add_argument("--memory-frames", type=positive_int, default=100,
                        help="frames streamed per memory measurement (default: %(default)s)")
    parser.add_argument("--roofline-size", default="1280x720",
                        help="feature-map size of the dense 3x3 convolution roofline (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _choices(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    from vdeblur.errors import UserError

    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise UserError(f"Unknown {what} '{','.join(unknown) or text}'; use {', '.join(allowed)}.")
    return values


def run(args: argparse.Namespace) -> int:
    """Run the measurements, print a table, optionally write JSON."""
    import torch

    from vdeblur.bench.backends import BACKENDS
    from vdeblur.bench.memory import measure_peak_memory
    from vdeblur.bench.suite import PRECISIONS, measure_rooflines, measure_speed, parse_size
    from vdeblur.bench.timing import load_verdict
    from vdeblur.errors import UserError
    from vdeblur.export.model_spec import model_for_tooling
    from vdeblur.infer.outputs import check_new_file
    from vdeblur.infer.precision import bf16_supported
    from vdeblur.io.atomic import atomic_output

    if args.json is not None:
        check_new_file(args.json, args.overwrite)  # before minutes of measuring
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes:
        raise UserError(f"--sizes '{args.sizes}' names no size; give e.g. 640x360,1280x720.")
    default_precision = "fp32,bf16" if bf16_supported(torch.device("cpu")) else "fp32"
    precisions = _choices(args.precision or default_precision, tuple(PRECISIONS), "precision")
    backends = _choices(args.backend, BACKENDS, "backend")
    model = model_for_tooling(args.model, random_init=None)
    load_before = os.getloadavg()
    rooflines = measure_rooflines(precisions, parse_size(args.roofline_size), args.runs)
    rows = measure_speed(model, sizes, precisions, backends, rooflines, args.runs, args.frames, args.end_to_end,
                         progress=not args.quiet)
    memory = [
        measure_peak_memory(args.model, height, width, args.memory_frames, precision, backend)
        for width, height in sizes for backend in backends for precision in precisions
        if not (backend == "onnxruntime" and precision != "fp32")
    ] if args.memory else []
    load_after = os.getloadavg()

    print(f"model {args.model}; {torch.get_num_threads()} torch threads; "
          f"{load_verdict(load_before[0], load_after[0], os.cpu_count())}")
    for name, roof in rooflines.items():
        print(f"roofline {name}: {roof.gflops_per_second:.1f} GFLOP/s (3x3 conv {roof.channels}->{roof.channels} "
              f"at {roof.width}x{roof.height}, {'NHWC' if roof.channels_last else 'NCHW'})")
    print(f"{'size':>10} {'prec':>5} {'backend':>11} {'model fps':>10} {'e2e fps':>8} {'GFLOP/frame':>12} "
          f"{'GFLOP/s':>8} {'of roofline':>11}")
    for row in rows:
        e2e = f"{row.end_to_end_fps:8.2f}" if row.end_to_end_fps is not None else f"{'-':>8}"
        print(f"{row.width:>5}x{row.height:<4} {row.precision:>5} {row.backend:>11} {row.model_fps:10.2f} {e2e} "
              f"{row.gflops_per_frame:12.1f} {row.achieved_gflops:8.1f} {row.roofline_ratio:11.0%}")
    for m in memory:
        print(f"memory {m.width}x{m.height} {m.precision} {m.backend}: peak {m.peak_bytes / 2**20:.0f} MiB "
              f"(model loaded: {m.model_bytes / 2**20:.0f} MiB) over {m.frames} frames")
    if args.json is not None:
        report = {
            "model": args.model, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "load_average_before": load_before, "load_average_after": load_after,
            "rooflines": {k: asdict(v) for k, v in rooflines.items()},
            "speed": [asdict(r) for r in rows], "memory": [asdict(m) for m in memory],
        }
        try:
            with atomic_output(args.json) as tmp:
                tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"Cannot write {args.json}: {exc.strerror or exc}.") from exc
    return 0
