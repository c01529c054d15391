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
- how far bf16 output is from fp32 output (PSNR), and from the ground truth when a benchmark set is given;
- under each oneDNN instruction-set cap this CPU has (``--isa``; ``ONEDNN_MAX_CPU_ISA``, one process per cap,
  so that a CPU with AMX also reports what CPUs without it get): the roofline, and the quality and fast models
  (model alone and end to end at 1280x720, fp32 and bf16), in the section "Speed per instruction set";
- what limits the speed: a torch.profiler profile of the model by op group (each 3x3 convolution shape, 1x1
  convolutions, attention, element-wise, layout copies and casts) and the time of each stage of the end-to-end
  pipeline (decode, conversion, model, encode) alone against the whole.

The load average is recorded before and after: on a busy machine the timings mean little.

Usage:
    python benchmarks/speed.py                 # full run (tens of minutes on 2 cores); writes the results
    python benchmarks/speed.py --quick         # tiny sizes, to check the tooling; writes to /tmp only
    python benchmarks/speed.py --no-profile    # without the "What limits it" profiles
    python benchmarks/speed.py --isa-only      # only the per-ISA table (minutes per cap)
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

from vdeblur.allocator import keep_freed_memory
from vdeblur.bench.memory import MemoryResult, measure_peak_memory
from vdeblur.bench.suite import PRECISIONS, SpeedRow, measure_rooflines, measure_speed, parse_size
from vdeblur.bench.timing import load_verdict
from vdeblur.checkpoint import DEFAULT_MODEL
from vdeblur.export.model_spec import model_for_tooling
from vdeblur.hardware import read_cpu_features
from vdeblur.commands import bench as bench_command
from vdeblur.io.atomic import atomic_output

from benchlib.fidelity import bf16_fidelity
from benchlib.markdown import write_section
from benchlib.profile import STAGES, profile_model, profile_pipeline
from benchlib.speedups import VariantResult, measure_speedups

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Speed on a CPU"
ISA_SECTION = "## Speed per instruction set"
DEFAULT_DATA = Path("/work/data/vdeblur-bench")
QUICK_DIR = Path("/tmp/vdeblur-speed-quick")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--sizes", default="640x360,1280x720,1920x1080")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=8, help="frames per timed run")
    parser.add_argument("--roofline-size", default="1280x720")
    parser.add_argument("--memory-frames", default="100,1000", help="stream lengths for peak memory")
    parser.add_argument("--large-size", default="3840x2160", help="the size measured with tiling")
    parser.add_argument("--large-tile", type=int, default=512, help="tile side at --large-size")
    parser.add_argument("--speedup-size", default="640x360", help="size of the speed-up comparison")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the torch.compile backend and speed-up (their warm-ups take minutes)")
    parser.add_argument("--profile-sizes", default="640x360,1280x720",
                        help="sizes of the 'What limits it' profiles (model op groups and pipeline stages)")
    parser.add_argument("--no-profile", action="store_true", help="skip the 'What limits it' profiles")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark set for bf16 vs ground truth")
    parser.add_argument("--isa", default="all",
                        help="oneDNN caps for the per-ISA table (see vdeblur bench --isa; default: every cap this CPU "
                             "has); 'none' skips it")
    parser.add_argument("--isa-models", default=bench_command.DEFAULT_MODELS, help="models of the per-ISA table")
    parser.add_argument("--isa-size", default="1280x720", help="frame size of the per-ISA table")
    parser.add_argument("--isa-only", action="store_true", help="measure and write only the per-ISA table")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few runs to check the tooling; outputs go to " + str(QUICK_DIR))
    parser.add_argument("--results", type=Path, default=None, help="folder for speed.json and plots")
    parser.add_argument("--benchmarks-md", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.frames, args.roofline_size = "160x90,320x180", 2, 3, "160x90"
        args.memory_frames, args.large_size, args.large_tile, args.speedup_size = "5,15", "640x360", 128, "96x64"
        args.profile_sizes = "96x64,160x90"
        args.isa_size = "160x90"
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
    cpu = read_cpu_features()
    precisions = ["fp32", "bf16"] if cpu.has_bf16 else ["fp32"]
    default_precision = precisions[-1]
    print(f"load average {load_before[0]:.2f} on {os.cpu_count()} CPUs; measuring {args.model} ...", flush=True)

    rooflines = measure_rooflines(precisions, parse_size(args.roofline_size), args.runs)
    speed = measure_speed(model, sizes, precisions, ["torch", "onnxruntime"], rooflines, args.runs, args.frames,
                          end_to_end=True, plain_blocks=[default_precision])
    if not args.no_compile:  # in the default precision only: each size and precision compiles anew
        try:
            speed += measure_speed(model, sizes, [default_precision], ["compile"], rooflines, args.runs,
                                   args.frames, end_to_end=True)
        except Exception as exc:  # e.g. no C++ compiler: report it and keep the other measurements
            print(f"torch.compile backend skipped: {type(exc).__name__}: {exc}", flush=True)
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
    limits = None if args.no_profile else measure_limits(model, args, precisions)
    return {
        "model": args.model, "random_weights": random_weights, "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(), "torch": torch.__version__, "isa": cpu.isa,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "runs": args.runs, "frames_per_run": args.frames, "default_precision": default_precision,
        "rooflines": {k: asdict(v) for k, v in rooflines.items()},
        "speed": [asdict(r) for r in speed], "memory": [asdict(m) for m in memory],
        "speedup_size": args.speedup_size,
        "speedups": {k: [asdict(v) for v in variants] for k, variants in speedups.items()},
        "fidelity": asdict(fidelity) if fidelity is not None else None,
        "limits": limits,
    }


def measure_limits(model: torch.nn.Module, args: argparse.Namespace, precisions: list[str]) -> dict:
    """The "What limits it" profiles: the model's op groups in the default precision, and the pipeline's
    stages in every precision, at each of ``--profile-sizes``."""
    sizes = [parse_size(s) for s in args.profile_sizes.split(",")]
    models, pipelines = [], []
    for width, height in sizes:
        print(f"profile {width}x{height} ...", flush=True)
        models.append(asdict(profile_model(model, height, width, PRECISIONS[precisions[-1]], args.frames)))
        pipelines += [
            asdict(profile_pipeline(model, height, width, PRECISIONS[p], args.frames, args.runs)) for p in precisions
        ]
    if not args.no_compile:  # the compiled kernels at the largest size: what limits the faster backend
        width, height = sizes[-1]
        print(f"profile {width}x{height} compiled ...", flush=True)
        models.append(asdict(profile_model(model, height, width, PRECISIONS[precisions[-1]], args.frames,
                                           compile=True)))
    return {"model": models, "pipeline": pipelines}


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
        f"{report['torch']}, {report['threads']} threads. **1-minute "
        f"{load_verdict(load[0], load[1], report['cpus'])}** (the figure after includes the benchmark's own "
        "threads).",
        "",
        f"Frames/s: median of {report['runs']} runs of {report['frames_per_run']} frames after a warm-up run. "
        "*Model* streams frames already in memory through the inference engine (each frame encoded once and "
        "its features cached; one decode per output frame); *end to end* is `Deblurrer.deblur_video` on a "
        "generated H.264 video (decode → model → H.264 encode). GFLOP/frame counts convolutions and matmuls "
        "(FlopCounterMode, streaming cost); the roofline is the best of 3×3 convolutions (32, 64, 128 channels, "
        "NCHW and NHWC) "
        f"on a {roof['width']}×{roof['height']} map in the same precision.",
        "",
        "| ISA | size | precision | backend | model frames/s | end-to-end frames/s | GFLOP/frame | GFLOP/s | "
        "of roofline |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in (SpeedRow(**{**r, "model_seconds": tuple(r["model_seconds"])}) for r in report["speed"]):
        lines.append(
            f"| {report.get('isa', '?')} | {row.width}×{row.height} | {row.precision} | {row.backend} | "
            f"{row.model_fps:.2f} | "
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
                     f"{_db(fidelity['bf16_vs_sharp'])}." if fidelity["fp32_vs_sharp"] is not None else ""),
                  ""]
        if fidelity.get("fused"):
            lines += [f"The engine's oneDNN-fused blocks (the default on the CPU) against the plain blocks, both bf16: "
                      f"{_db(fidelity['fused_vs_plain'])}"
                      + (f"; against the sharp frames: fused {_db(fidelity['bf16_vs_sharp'])}, plain "
                         f"{_db(fidelity['plain_vs_sharp'])}." if fidelity["plain_vs_sharp"] is not None else ".")]
        else:
            lines += ["The engine's fused blocks did not run in bf16 on this machine (oneDNN without bf16)."]
    if report.get("limits"):
        lines += ["", *limits_markdown(report["limits"], report["rooflines"], report["runs"])]
    lines += [""] + [f"![{name}](benchmarks/results/{name})" for name in plot_names]
    return "\n".join(lines)


_COMPILED_NOTE = (
    ", `--backend compile` (Inductor's kernels profiled by name: generated kernels that include a "
    "concatenation count as layout copies, the others as element-wise; a oneDNN convolution's time includes the "
    "activation and addition fused into it)"
)

# Op groups below this share of the time are folded into one row per category in the markdown (the JSON has all).
_FOLD_SHARE = 0.01


def limits_markdown(limits: dict, rooflines: dict, runs: int) -> list[str]:
    """The "What limits it" tables: op groups of the model per size, then the pipeline's stages."""
    lines = ["### What limits it", ""]
    for profile in limits["model"]:
        roof = rooflines[profile["precision"]]["gflops_per_second"]
        lines += [
            f"Model alone at {profile['width']}×{profile['height']}, {profile['precision']}"
            f"{_COMPILED_NOTE if profile.get('backend') == 'compile' else ''}: self CPU time by op "
            f"group (torch.profiler, one stream of {profile['frames']} frames after a warm-up; "
            f"{profile['wall_ms_per_frame']:.1f} ms/frame under the profiler). FLOPs from the {profile['flop_source']}"
            f"; *of roofline* against the {profile['precision']} roofline above. Groups under {_FOLD_SHARE:.0%} of "
            "the time are folded together.",
            "",
            "| op group | calls/frame | ms/frame | share | GFLOP/frame | GFLOP/s | of roofline |",
            "|---|---|---|---|---|---|---|",
        ]
        for group in _fold_small_groups(profile["groups"]):
            rate = group["gflops_per_second"]
            lines.append(
                f"| {group['label']} | {group['calls_per_frame']:.0f} | {group['ms_per_frame']:.2f} | "
                f"{group['share']:.1%} | {group['gflop_per_frame']:.2f} | {'–' if rate is None else f'{rate:.0f}'} | "
                f"{'–' if rate is None else f'{rate / roof:.0%}'} |"
            )
        lines.append("")
    lines += [
        f"End-to-end pipeline by stage, each stage alone on the same generated H.264 video (median of {runs} runs "
        "after a warm-up): ms per frame, and in brackets the cores it kept busy (process CPU time ÷ wall time). "
        "*Stages added* is what the full pipeline would take with no overlap; the reader and writer threads of "
        "`deblur_video` should bring the *full pipeline* below it. *Model in pipeline* is the model's own calls "
        "timed inside the full pipeline: above the *model* stage, the video threads slowed the model down.",
        "",
        "| size | precision | " + " | ".join(STAGES)
        + " | stages added | full pipeline | full ÷ added | model in pipeline |",
        "|---|---|" + "---|" * (len(STAGES) + 4),
    ]
    for pipeline in limits["pipeline"]:
        stages = {s["stage"]: s for s in pipeline["stages"]}
        added = sum(stages[name]["seconds_per_frame"] for name in STAGES)
        full = stages["full pipeline"]
        cells = [_stage_cell(stages[name]) for name in STAGES] + [f"{added * 1e3:.1f}", _stage_cell(full)]
        lines.append(f"| {pipeline['width']}×{pipeline['height']} | {pipeline['precision']} | "
                     + " | ".join(cells) + f" | {full['seconds_per_frame'] / added:.2f} | "
                     f"{pipeline['model_seconds_in_pipeline'] * 1e3:.1f} |")
    return lines


def _stage_cell(stage: dict) -> str:
    return f"{stage['seconds_per_frame'] * 1e3:.1f} ({stage['cpu_seconds_per_frame'] / stage['seconds_per_frame']:.1f})"


def _fold_small_groups(groups: list[dict]) -> list[dict]:
    """``groups`` with those under :data:`_FOLD_SHARE` of the time summed into one row per category."""
    kept = [g for g in groups if g["share"] >= _FOLD_SHARE]
    folded: dict[str, list[dict]] = {}
    for group in groups:
        if group["share"] < _FOLD_SHARE:
            folded.setdefault(group["category"], []).append(group)
    for category, small in folded.items():
        if len(small) == 1:
            kept.append(small[0])
            continue
        seconds = sum(g["ms_per_frame"] for g in small) / 1e3
        gflop = sum(g["gflop_per_frame"] for g in small)
        kept.append({
            "label": f"{category}: {len(small)} shapes under {_FOLD_SHARE:.0%} each",
            "calls_per_frame": sum(g["calls_per_frame"] for g in small), "ms_per_frame": seconds * 1e3,
            "share": sum(g["share"] for g in small), "gflop_per_frame": gflop,
            "gflops_per_second": gflop / seconds if gflop and seconds else None,
        })
    return kept


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


def measure_isas(args: argparse.Namespace) -> list[dict]:
    """The per-ISA reports of ``vdeblur bench`` (one child process per cap): roofline, and each of
    ``--isa-models`` alone and end to end at ``--isa-size``."""
    bench_args = argparse.Namespace(
        model=args.isa_models, sizes=args.isa_size, runs=args.runs, frames=args.frames, backend="torch",
        # fp32, and bf16 where the cap has bf16 instructions: without them oneDNN's bf16 convolutions ran at a
        # few GFLOP/s, minutes per 1280x720 frame.
        memory_frames=1, roofline_size=args.roofline_size, precision=None, threads=None, end_to_end=True,
        memory=False, quiet=True,
    )
    return [bench_command.measure_under(cap, bench_args) for cap in bench_command.isa_caps(args.isa)]


def isa_markdown(runs: list[dict]) -> str:
    """The "Speed per instruction set" section: one row per cap × model × precision."""
    first, roof = runs[0], next(iter(runs[0]["rooflines"].values()))
    row = first["speed"][0]
    lines = [
        "`python benchmarks/speed.py --isa-only`: each cap in a process of its own (`ONEDNN_MAX_CPU_ISA`), on "
        f"{first['cpu']} with {first['threads']} threads, torch {first['torch']}; {row['width']}×{row['height']} "
        f"frames, medians of {len(row['model_seconds'])} runs of {first.get('frames_per_run', '?')} frames. *Of "
        "roofline*: the model's GFLOP/s against the best dense 3×3 convolution (32–128 channels, NCHW or NHWC) "
        f"on a {roof['width']}×{roof['height']} map, measured under the same cap and precision just before the "
        "models. bf16 only where the cap has bf16 instructions. The load average says how busy the machine was.",
        "",
        "| ISA | model | precision | roofline GFLOP/s | model frames/s | end-to-end frames/s | GFLOP/frame | "
        "of roofline | load before/after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        load = f"{run['load_average_before'][0]:.1f} / {run['load_average_after'][0]:.1f}"
        for row in run["speed"]:
            lines.append(
                f"| {run['isa']} | {row['model']} | {row['precision']} | {row['roofline_gflops']:.0f} | "
                f"{row['model_fps']:.2f} | {_fps(row['end_to_end_fps'])} | {row['gflops_per_frame']:.1f} | "
                f"{row['roofline_ratio']:.0%} | {load} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keep_freed_memory()  # measure what the vdeblur command runs with
    if args.isa != "none":
        runs = measure_isas(args)
        args.results.mkdir(parents=True, exist_ok=True)
        with atomic_output(args.results / "speed_isa.json") as tmp:
            tmp.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
        write_section(args.benchmarks_md, ISA_SECTION, isa_markdown(runs))
        print(isa_markdown(runs))
    if args.isa_only:
        return 0
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
