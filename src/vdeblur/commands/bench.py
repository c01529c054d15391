"""``vdeblur bench``: frames per second, GFLOP/s against a convolution roofline, and peak memory on this machine,
optionally under several oneDNN instruction-set caps (``--isa``), each measured in a process of its own."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from vdeblur.commands.argtypes import positive_int
from vdeblur.hardware import ISA_CAPS, ISA_ENV, CpuFeatures

# The quality model and the small one that --model auto falls back to (vdeblur.infer.model_choice).
DEFAULT_MODELS = "sta-wide,sta-fast"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``."""
    parser.add_argument("--model", default=DEFAULT_MODELS,
                        help="comma-separated model names, run directories or .safetensors files (default: "
                             "%(default)s, the quality model and the fast one); a model name without shipped "
                             "weights is benchmarked with random weights, since speed does not depend on weight "
                             "values")
    parser.add_argument("--sizes", default="640x360,1280x720,1920x1080",
                        help="comma-separated WIDTHxHEIGHT frame sizes (default: %(default)s)")
    parser.add_argument("--runs", type=positive_int, default=5,
                        help="timed runs per measurement, after one untimed warm-up run; the median is reported "
                             "(default: %(default)s)")
    parser.add_argument("--frames", type=positive_int, default=8,
                        help="frames per run (each frame is encoded once and decoded once, as in streaming "
                             "inference; default: %(default)s)")
    parser.add_argument("--precision", default=None,
                        help="comma-separated fp32,bf16,auto (default: both where the CPU has bf16 instructions, "
                             "else fp32; auto: what vdeblur deblur would choose)")
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
    parser.add_argument("--isa", default="native",
                        help=f"comma-separated oneDNN instruction-set caps to measure under, each in a process of "
                             f"its own ({ISA_ENV}): {', '.join(ISA_CAPS)}, native (no cap) or all (every cap this "
                             f"CPU has; default: %(default)s). A CPU with AMX reports what CPUs without it get")
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
    """Run the measurements (under each ``--isa`` cap), print tables, optionally write JSON."""
    from vdeblur.infer.outputs import check_new_file

    if args.json is not None:
        check_new_file(args.json, args.overwrite)  # before minutes of measuring
    caps = isa_caps(args.isa)
    report = measure_here(args) if caps == ["native"] else {"isa_runs": [measure_under(cap, args) for cap in caps]}
    if args.json is not None:
        _write_json(args.json, report)
    return 0


def isa_caps(text: str) -> list[str]:
    """The caps ``--isa`` names, ``all`` expanded to the caps of this CPU (weakest first).

    Raises:
        UserError: an unknown cap, or one above this CPU's instruction set.
    """
    from vdeblur.errors import UserError
    from vdeblur.hardware import read_cpu_features

    native = read_cpu_features().isa
    supported = list(ISA_CAPS[: ISA_CAPS.index(native) + 1]) if native in ISA_CAPS else []
    if text.strip() == "all":
        return supported or ["native"]
    caps = _choices(text.upper().replace("NATIVE", "native"), (*ISA_CAPS, "native"), "ISA cap")
    above = [cap for cap in caps if cap != "native" and cap not in supported]
    if above:
        raise UserError(f"This CPU has no {above[0]} (its best is {native}); use --isa with "
                        f"{', '.join(supported + ['native'])}.")
    return caps


def measure_under(cap: str, args: argparse.Namespace) -> dict:
    """This command's measurements in a child process under ``ONEDNN_MAX_CPU_ISA=cap`` (oneDNN reads it once,
    before its first convolution, so each cap needs a fresh process); its tables go to stdout as they come."""
    from vdeblur.errors import UserError

    print(f"\n== {ISA_ENV}={cap}", flush=True)
    with tempfile.TemporaryDirectory(prefix="vdeblur-bench-") as folder:
        out = Path(folder) / "report.json"
        child = [sys.executable, "-m", "vdeblur", "bench", "--json", str(out), *_child_options(args)]
        environment = {**os.environ, ISA_ENV: cap} if cap != "native" else os.environ
        if subprocess.run(child, env=environment, check=False).returncode != 0:
            raise UserError(f"The measurement under {ISA_ENV}={cap} failed (its error is above).")
        return {"cap": cap, **json.loads(out.read_text(encoding="utf-8"))}


def _child_options(args: argparse.Namespace) -> list[str]:
    options = ["--model", args.model, "--sizes", args.sizes, "--runs", str(args.runs), "--frames", str(args.frames),
               "--backend", args.backend, "--memory-frames", str(args.memory_frames),
               "--roofline-size", args.roofline_size]
    options += ["--precision", args.precision] if args.precision else []
    options += ["--threads", str(args.threads)] if args.threads else []
    return options + [flag for flag, on in (("--end-to-end", args.end_to_end), ("--memory", args.memory),
                                            ("--quiet", args.quiet)) if on]


def measure_here(args: argparse.Namespace) -> dict:
    """Every model's measurements in this process; prints the tables and returns the JSON report."""
    import torch

    from vdeblur.infer.backends import BACKENDS
    from vdeblur.bench.memory import measure_peak_memory
    from vdeblur.bench.suite import measure_rooflines, measure_speed, parse_size
    from vdeblur.bench.timing import load_verdict
    from vdeblur.errors import UserError
    from vdeblur.export.model_spec import model_for_tooling
    from vdeblur.hardware import read_cpu_features

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes:
        raise UserError(f"--sizes '{args.sizes}' names no size; give e.g. 640x360,1280x720.")
    models = [m.strip() for m in args.model.split(",") if m.strip()]
    if not models:
        raise UserError(f"--model '{args.model}' names no model.")
    cpu = read_cpu_features()
    precisions = _precisions(args.precision, cpu)
    backends = _choices(args.backend, BACKENDS, "backend")
    load_before = os.getloadavg()
    rooflines = measure_rooflines(precisions, parse_size(args.roofline_size), args.runs)
    rows, memory = {}, {}
    for name in models:
        rows[name] = measure_speed(model_for_tooling(name, random_init=None), sizes, precisions, backends, rooflines,
                                   args.runs, args.frames, args.end_to_end, progress=not args.quiet)
        memory[name] = [
            measure_peak_memory(name, height, width, args.memory_frames, precision, backend)
            for width, height in sizes for backend in backends for precision in precisions
            if not (backend == "onnxruntime" and precision != "fp32")
        ] if args.memory else []
    load_after = os.getloadavg()

    print(f"{cpu.model or 'CPU'}, oneDNN ISA {cpu.isa}; {torch.get_num_threads()} torch threads; "
          f"{load_verdict(load_before[0], load_after[0], os.cpu_count())}")
    for name, roof in rooflines.items():
        print(f"roofline {name}: {roof.gflops_per_second:.1f} GFLOP/s (3x3 conv {roof.channels}->{roof.channels} "
              f"at {roof.width}x{roof.height}, {'NHWC' if roof.channels_last else 'NCHW'})")
    print(f"{'model':>12} {'size':>10} {'prec':>5} {'backend':>11} {'model fps':>10} {'e2e fps':>8} "
          f"{'GFLOP/frame':>12} {'GFLOP/s':>8} {'of roofline':>11}")
    for name in models:
        for row in rows[name]:
            e2e = f"{row.end_to_end_fps:8.2f}" if row.end_to_end_fps is not None else f"{'-':>8}"
            print(f"{name[-12:]:>12} {row.width:>5}x{row.height:<4} {row.precision:>5} {row.backend:>11} "
                  f"{row.model_fps:10.2f} {e2e} {row.gflops_per_frame:12.1f} {row.achieved_gflops:8.1f} "
                  f"{row.roofline_ratio:11.0%}")
        for m in memory[name]:
            print(f"memory {name} {m.width}x{m.height} {m.precision} {m.backend}: peak {m.peak_bytes / 2**20:.0f} "
                  f"MiB (model loaded: {m.model_bytes / 2**20:.0f} MiB) over {m.frames} frames")
    return {
        "model": args.model, "cpu": cpu.model, "isa": cpu.isa, "torch": torch.__version__, "runs": args.runs,
        "frames_per_run": args.frames,
        "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": load_after,
        "rooflines": {k: asdict(v) for k, v in rooflines.items()},
        "speed": [{"model": name, **asdict(r)} for name in models for r in rows[name]],
        "memory": [{"model": name, **asdict(m)} for name in models for m in memory[name]],
    }


def _precisions(text: str | None, cpu: CpuFeatures) -> list[str]:
    """``--precision`` as names; ``auto`` resolved as ``vdeblur deblur`` would resolve it on the CPU."""
    import torch

    from vdeblur.precision import resolve_precision

    names = _choices(text or ("fp32,bf16" if cpu.has_bf16 else "fp32"), ("fp32", "bf16", "auto"), "precision")
    resolved = [resolve_precision(n, torch.device("cpu")) if n == "auto" else n for n in names]
    return list(dict.fromkeys(resolved))


def _write_json(path: Path, report: dict) -> None:
    from vdeblur.errors import UserError
    from vdeblur.io.atomic import atomic_output

    try:
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
