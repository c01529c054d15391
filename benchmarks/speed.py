"""Speed and memory of streaming inference on this machine: the "Speed on a CPU" section of BENCHMARKS.md.

Measures, for one model (default ``sta-cpu``; random weights where none ship, since speed does not depend on
weight values):

- frames/s of the model alone (streaming with the feature cache, as ``vdeblur deblur`` runs it) and end to end
  (H.264 decode -> model -> H.264 encode of a generated video), at several sizes, fp32 and bf16 autocast, and
  ONNX Runtime (fp32); medians of ``--runs`` runs after a warm-up run;
- achieved GFLOP/s against a dense 3x3 convolution roofline measured in the same run and precision;
- peak resident memory (a fresh process per measurement) at each size for short and long streams, and at
  3840x2160 with tiling;
- cheap speed-ups (channels_last, one thread, torch.compile, ONNX Runtime) at a small size against a baseline
  in the same run;
- how far bf16 output is from fp32 output (PSNR), and from the ground truth when a benchmark set is given.

The load average is recorded before and after: on a busy machine the timings mean little.

Usage:
    python benchmarks/speed.py                 # full run (tens of minutes on 2 cores); writes the results
    python benchmarks/speed.py --quick         # tiny sizes, to check the tooling; writes to /tmp only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from vdeblur.bench.fidelity import bf16_fidelity
from vdeblur.bench.markdown import write_section
from vdeblur.bench.memory import MemoryResult, measure_peak_memory
from vdeblur.bench.speedups import VariantResult, measure_speedups
from vdeblur.bench.suite import PRECISIONS, SpeedRow, measure_rooflines, measure_speed, parse_size
from vdeblur.export.model_spec import model_for_tooling
from vdeblur.infer.precision import bf16_supported
from vdeblur.io.atomic import atomic_output

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Speed on a CPU"
DEFAULT_DATA = Path("/work/data/vdeblur-bench")
QUICK_DIR = Path("/tmp/vdeblur-speed-quick")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="sta-cpu")
    parser.add_argument("--sizes", default="640x360,1280x720,1920x1080")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=8, help="frames per timed run")
    parser.add_argument("--roofline-size", default="1280x720")
    parser.add_argument("--memory-frames", default="100,1000", help="stream lengths for peak memory")
    parser.add_argument("--large-size", default="3840x2160", help="the size measured with tiling")
    parser.add_argument("--large-tile", type=int, default=512, help="tile side at --large-size")
    parser.add_argument("--speedup-size", default="640x360", help="size of the speed-up comparison")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (its warm-up takes minutes)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark set for bf16 vs ground truth")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few runs to check the tooling; outputs go to " + str(QUICK_DIR))
    parser.add_argument("--results", type=Path, default=None, help="folder for speed.json and plots")
    parser.add_argument("--benchmarks-md", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.frames, args.roofline_size = "160x90,320x180", 2, 3, "160x90"
        args.memory_frames, args.large_size, args.large_tile, args.speedup_size = "5,15", "640x360", 128, "96x64"
    base = QUICK_DIR if args.quick else REPO
    args.results = args.results or base / "benchmarks" / "results"
    args.benchmarks_md = args.benchmarks_md or base / "BENCHMARKS.md"
    return args


def run(args: argparse.Namespace) -> dict:
    """Every measurement; returns the JSON-serialisable report."""
    load_before = os.getloadavg()
    model = model_for_tooling(args.model, random_init=None)
    random_weights = not hasattr(model, "weights_metadata")
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    precisions = ["fp32", "bf16"] if bf16_supported(torch.device("cpu")) else ["fp32"]
    default_precision = precisions[-1]
    print(f"load average {load_before[0]:.2f} on {os.cpu_count()} CPUs; measuring {args.model} ...", flush=True)

    rooflines = measure_rooflines(precisions, parse_size(args.roofline_size), args.runs)
    speed = measure_speed(model, sizes, precisions, ["torch", "onnxruntime"], rooflines, args.runs, args.frames,
                          end_to_end=True)
    memory: list[MemoryResult] = []
    counts = [int(n) for n in args.memory_frames.split(",")]
    for count in counts:
        # Every size at the shortest length; the longer streams (which show that memory does not grow with
        # the video's length) at the smallest size only, to keep the benchmark's running time reasonable.
        for width, height in sizes if count == counts[0] else sizes[:1]:
            print(f"peak memory {width}x{height}, {count} frames ...", flush=True)
            memory.append(measure_peak_memory(args.model, height, width, count, default_precision, tile=0))
    width, height = parse_size(args.large_size)
    print(f"peak memory {width}x{height}, tile {args.large_tile} ...", flush=True)
    memory.append(measure_peak_memory(args.model, height, width, int(args.memory_frames.split(",")[0]),
                                      default_precision, tile=args.large_tile))
    width, height = parse_size(args.speedup_size)
    speedups = {
        precision: measure_speedups(model, height, width, PRECISIONS[precision], args.runs, args.frames,
                                    include_compile=not args.no_compile)
        for precision in precisions
    }
    fidelity = bf16_fidelity(model, args.data) if "bf16" in precisions else None
    return {
        "model": args.model, "random_weights": random_weights, "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "runs": args.runs, "frames_per_run": args.frames, "default_precision": default_precision,
        "rooflines": {k: asdict(v) for k, v in rooflines.items()},
        "speed": [asdict(r) for r in speed], "memory": [asdict(m) for m in memory],
        "speedup_size": args.speedup_size,
        "speedups": {k: [asdict(v) for v in variants] for k, variants in speedups.items()},
        "fidelity": asdict(fidelity) if fidelity is not None else None,
    }


def _fps(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _db(value: float | None) -> str:
    return "–" if value is None else ("identical" if math.isinf(value) else f"{value:.2f} dB")


def markdown(report: dict, plot_names: list[str]) -> str:
    """The BENCHMARKS.md section for ``report``."""
    load = report["load_average_before"][0], report["load_average_after"][0]
    roof = next(iter(report["rooflines"].values()))
    lines = [
        f"`python benchmarks/speed.py` — model `{report['model']}`"
        f"{' (random weights: speed does not depend on them)' if report['random_weights'] else ''}, torch "
        f"{report['torch']}, {report['threads']} threads on {report['cpus']} CPUs. **1-minute load average "
        f"{load[0]:.2f} before and {load[1]:.2f} after the run**: above the core count, other jobs shared the "
        "CPUs and the times are pessimistic and noisy.",
        "",
        f"Frames/s: median of {report['runs']} runs of {report['frames_per_run']} frames after a warm-up run. "
        "*Model* streams frames already in memory through the inference engine (each frame encoded once and "
        "its features cached; one decode per output frame); *end to end* is `Deblurrer.deblur_video` on a "
        "generated H.264 video (decode → model → H.264 encode). GFLOP/frame counts convolutions and matmuls "
        "(FlopCounterMode, streaming cost); the roofline is the best of 3×3 convolutions (32, 64, 128 channels, "
        "NCHW and NHWC) "
        f"on a {roof['width']}×{roof['height']} map in the same precision.",
        "",
        "| size | precision | backend | model frames/s | end-to-end frames/s | GFLOP/frame | GFLOP/s | of roofline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in (SpeedRow(**{**r, "model_seconds": tuple(r["model_seconds"])}) for r in report["speed"]):
        lines.append(
            f"| {row.width}×{row.height} | {row.precision} | {row.backend} | {row.model_fps:.2f} | "
            f"{_fps(row.end_to_end_fps)} | {row.gflops_per_frame:.1f} | {row.achieved_gflops:.1f} | "
            f"{row.roofline_ratio:.0%} |"
        )
    lines += ["", "Rooflines: " + "; ".join(
        f"{name} {roof['gflops_per_second']:.1f} GFLOP/s ({roof['channels']}→{roof['channels']} channels, "
        f"{'NHWC' if roof['channels_last'] else 'NCHW'})"
        for name, roof in report["rooflines"].items()
    ) + "."]
    lines += [
        "",
        f"Peak resident memory of a fresh process streaming frames through `Deblurrer.deblur_frames` "
        f"({report['default_precision']}); *model loaded* is its resident size before the first frame.",
        "",
        "| size | frames | tile | peak MiB | model loaded MiB |",
        "|---|---|---|---|---|",
    ]
    for m in (MemoryResult(**m) for m in report["memory"]):
        lines.append(f"| {m.width}×{m.height} | {m.frames} | {m.tile or 'none'} | {m.peak_bytes / 2**20:.0f} | "
                     f"{m.model_bytes / 2**20:.0f} |")
    lines += ["", f"Cheap speed-ups at {report['speedup_size']}, seconds per frame against the baseline of the "
              "same run (warm-up excluded; torch.compile's warm-up is its compile time):", "",
              "| precision | variant | s/frame | vs baseline | warm-up s/frame |", "|---|---|---|---|---|"]
    for precision, variants in report["speedups"].items():
        results = [VariantResult(**v) for v in variants]
        base = results[0].seconds_per_frame
        for v in results:
            if v.seconds_per_frame is None:
                lines.append(f"| {precision} | {v.name} | failed: {v.error} | | |")
                continue
            lines.append(f"| {precision} | {v.name} | {v.seconds_per_frame:.4f} | "
                         f"{base / v.seconds_per_frame:.2f}× | {v.warmup_seconds_per_frame:.3f} |")
    fidelity = report["fidelity"]
    if fidelity is not None:
        lines += ["", f"bf16 against fp32 output ({fidelity['clips']} clips, {fidelity['source']}; 8-bit PSNR): "
                  f"{_db(fidelity['bf16_vs_fp32'])}."
                  + (f" Against the sharp frames: fp32 {_db(fidelity['fp32_vs_sharp'])}, bf16 "
                     f"{_db(fidelity['bf16_vs_sharp'])}." if fidelity["fp32_vs_sharp"] is not None else "")]
    lines += [""] + [f"![{name}](benchmarks/results/{name})" for name in plot_names]
    return "\n".join(lines)


def plot(report: dict, folder: Path) -> list[str]:
    """Frames/s by size and configuration, and peak memory by size; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["speed"]
    sizes = sorted({(r["width"], r["height"]) for r in rows}, key=lambda s: s[0] * s[1])
    configs = sorted({(r["precision"], r["backend"]) for r in rows})
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    step = 0.8 / len(configs)
    for k, (precision, backend) in enumerate(configs):
        for key, axis in (("model_fps", axes[0]), ("end_to_end_fps", axes[1])):
            values = [next((r[key] or 0 for r in rows if (r["width"], r["height"]) == s
                            and r["precision"] == precision and r["backend"] == backend), 0) for s in sizes]
            axis.bar([i + k * step for i in range(len(sizes))], values, step, label=f"{precision} {backend}")
    for axis, title in zip(axes, ("model alone", "end to end"), strict=True):
        axis.set_xticks([i + 0.4 - step / 2 for i in range(len(sizes))], [f"{w}×{h}" for w, h in sizes])
        axis.set_ylabel("frames/s")
        axis.set_title(f"{report['model']}: {title} (load {report['load_average_before'][0]:.1f})")
        axis.legend()
    figure.tight_layout()
    names = ["speed.png", "speed_memory.png"]
    with atomic_output(folder / names[0]) as tmp:
        figure.savefig(tmp, dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 4))
    for count in sorted({m["frames"] for m in report["memory"]}):
        points = sorted((m["width"] * m["height"] / 1e6, m["peak_bytes"] / 2**20) for m in report["memory"]
                        if m["frames"] == count and not m["tile"])
        axis.plot(*zip(*points, strict=True), marker="o", label=f"{count} frames")
    for m in (m for m in report["memory"] if m["tile"]):
        axis.scatter([m["width"] * m["height"] / 1e6], [m["peak_bytes"] / 2**20], marker="s",
                     label=f"{m['width']}×{m['height']}, tile {m['tile']}")
    axis.set_xlabel("megapixels per frame")
    axis.set_ylabel("peak resident MiB")
    axis.set_title("peak memory of streaming inference")
    axis.legend()
    figure.tight_layout()
    with atomic_output(folder / names[1]) as tmp:
        figure.savefig(tmp, dpi=110)
    plt.close(figure)
    return names


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    args.results.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.results / "speed.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    names = plot(report, args.results)
    body = markdown(report, names)
    write_section(args.benchmarks_md, SECTION, body)
    print(body)
    print(f"\nwrote {args.results / 'speed.json'}, plots and the '{SECTION}' section of {args.benchmarks_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
