"""Process settings of the end-to-end pipeline against each other: threads, and the memory allocator.

``--compare threads``: ``vdeblur deblur`` runs the model on the main thread (torch's OpenMP pool) while a
reader thread decodes and a writer thread encodes. FFmpeg gives its decoder and x264 about one thread per core
by default, and OpenMP's threads spin while they wait at the end of each op, so on a small machine they all
compete for the cores. Compared: ``codec_threads`` (0 = FFmpeg's choice, 1) × ``OMP_WAIT_POLICY`` (unset,
PASSIVE).

``--compare allocator``: glibc's default (large blocks mmap'd and unmapped on free, so faulted in again for
every frame) against ``vdeblur.allocator.keep_freed_memory``, which the ``vdeblur`` command applies.

Both settings are read when a process starts, so every configuration runs in a fresh process, which times
``Deblurrer.deblur_video`` (decode -> model -> H.264) and the model alone; the rounds interleave the
configurations so that a change in the machine's load touches them all alike.

Usage:
    python benchmarks/pipeline_settings.py --compare threads|allocator [--model sta-cpu] [--size 1280x720]
        [--frames 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vdeblur.allocator import OPT_OUT, keep_freed_memory, user_configured_allocator

REPO = Path(__file__).resolve().parents[1]
COMPARISONS = {  # comparison -> label -> (codec_threads, environment overrides)
    "threads": {
        "codec threads FFmpeg default, OpenMP default": (0, {}),
        "codec threads 1, OpenMP default": (1, {}),
        "codec threads FFmpeg default, OMP_WAIT_POLICY=PASSIVE": (0, {"OMP_WAIT_POLICY": "PASSIVE"}),
        "codec threads 1, OMP_WAIT_POLICY=PASSIVE": (1, {"OMP_WAIT_POLICY": "PASSIVE"}),
    },
    "allocator": {
        "glibc default (large blocks returned to the system on free)": (0, {OPT_OUT: "0"}),
        "freed memory kept (what vdeblur sets)": (0, {}),
    },
}
_CONTROLLED = ("OMP_WAIT_POLICY", OPT_OUT)


def measure_once(video: Path, model: str, codec_threads: int) -> dict[str, float | bool]:
    """In this process: seconds per frame end to end and for the model alone, each after a warm-up run."""
    import torch

    from vdeblur.bench.throughput import stream_runner
    from vdeblur.infer.deblurrer import Deblurrer
    from vdeblur.io.video import probe_video

    kept = keep_freed_memory()  # as the vdeblur command does
    info = probe_video(video)
    frames = info.num_frames or 0
    deblurrer = Deblurrer(model, "cpu", precision="bf16", codec_threads=codec_threads)
    out = video.with_name(f"out-{os.getpid()}.mp4")
    timings: dict[str, float | bool] = {"freed_memory_kept": kept}
    for _ in range(2):  # the first run is the warm-up
        start = time.perf_counter()
        deblurrer.deblur_video(video, out, overwrite=True, progress=False)
        timings["end_to_end"] = (time.perf_counter() - start) / frames
    out.unlink()
    run = stream_runner(deblurrer.model, info.height, info.width, torch.bfloat16, frames_per_run=frames)
    for _ in range(2):
        start = time.perf_counter()
        run()
        timings["model_alone"] = (time.perf_counter() - start) / frames
    timings["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", choices=sorted(COMPARISONS), required=True)
    parser.add_argument("--model", default="sta-cpu", help="model name, run directory or weights file")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="JSON report (default: benchmarks/results/pipeline_COMPARE.json)")
    parser.add_argument("--child", nargs=2, metavar=("VIDEO", "CODEC_THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_once(Path(args.child[0]), args.model, int(args.child[1]))))
        return

    from vdeblur.bench.frames import write_test_video
    from vdeblur.io.atomic import atomic_output

    inherited = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
    if args.compare == "allocator" and user_configured_allocator(inherited):
        sys.exit("The environment already configures the allocator (MALLOC_*, GLIBC_TUNABLES or LD_PRELOAD); "
                 "unset it to compare.")
    configs = COMPARISONS[args.compare]
    out = args.out or REPO / "benchmarks" / "results" / f"pipeline_{args.compare}.json"
    width, height = (int(v) for v in args.size.split("x"))
    results: dict[str, list[dict[str, float]]] = {label: [] for label in configs}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vdeblur-threads-") as folder:
        video = write_test_video(Path(folder) / "input.mp4", args.frames, height, width)
        for round_index in range(args.rounds):
            for label, (codec_threads, overrides) in configs.items():
                env = inherited | overrides
                command = [sys.executable, __file__, "--compare", args.compare, "--model", args.model, "--child",
                           str(video), str(codec_threads)]
                line = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
                results[label].append(json.loads(line.strip().splitlines()[-1]))
                print(f"round {round_index + 1}: {label}: {results[label][-1]}", flush=True)
    report = {
        "compare": args.compare, "model": args.model, "size": args.size, "frames": args.frames, "rounds": args.rounds,
        "load_average_before": load_before, "load_average_after": os.getloadavg(), "cpus": os.cpu_count(),
        "results": results,
    }
    with atomic_output(out) as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))


def markdown(report: dict) -> str:
    """Median frames/s per configuration, end to end and model alone, and the peak resident memory."""
    lines = [
        f"| {report['model']}, {report['size']}, bf16, {report['frames']} frames, median of {report['rounds']} "
        "| end to end frames/s | model alone frames/s | peak RSS (MiB) |",
        "|---|---:|---:|---:|",
    ]
    for label, runs in report["results"].items():
        e2e = statistics.median(r["end_to_end"] for r in runs)
        alone = statistics.median(r["model_alone"] for r in runs)
        peak = statistics.median(r.get("peak_mib", float("nan")) for r in runs)
        lines.append(f"| {label} | {1 / e2e:.2f} | {1 / alone:.2f} | {peak:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
