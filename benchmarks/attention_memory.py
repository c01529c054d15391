"""Peak memory and time of the non-local block against factorized attention, as the frame size grows.

Every measurement runs in a fresh subprocess, so peak memory is the process's peak resident set size
(``VmHWM`` in /proc/self/status) minus its resident size just before the block's forward pass: what the block
itself allocates. Times are medians of several forward passes (the machine is shared, single runs are noisy).

Sizes grow until the full non-local block passes the memory target (8 GB by default); a size whose predicted
affinity matrices would not fit in the memory currently available is skipped rather than run.

Usage:
    python benchmarks/attention_memory.py            # writes benchmarks/results/ and a BENCHMARKS.md section
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Attention memory: factorized vs non-local"
FRAMES, CHANNELS, SPATIAL, TEMPORAL = 5, 64, 8, 8
BLOCKS = ("factorized", "non-local (ref. queries)", "non-local")
SIZES = (16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 256)
GIB = 1024**3


@dataclass
class Measurement:
    block: str
    size: int
    peak_bytes: int
    median_seconds: float
    runs: int


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("MemAvailable missing from /proc/meminfo")


def _load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def predicted_bytes(block: str, size: int) -> int:
    """Bytes of the float32 affinity matrix and its softmax (the dominant allocations of a non-local block)."""
    positions = size * size
    if block == "factorized":
        return 0
    queries = positions if block.startswith("non-local (ref") else FRAMES * positions
    return 2 * 4 * queries * FRAMES * positions


def worker(block_name: str, size: int, runs: int) -> Measurement:
    """Measure one block at one size in this (fresh) process."""
    import torch

    from vdeblur.models import FactorizedSTAttention, NonLocalBlock

    torch.set_num_threads(2)
    torch.manual_seed(0)
    if block_name == "factorized":
        block = FactorizedSTAttention(CHANNELS, SPATIAL, TEMPORAL)
    else:
        block = NonLocalBlock(CHANNELS, reference_only=block_name.startswith("non-local (ref"))
    x = torch.randn(1, FRAMES, CHANNELS, size, size)
    ref = FRAMES // 2
    with torch.inference_mode():
        # A tiny warm-up pass loads kernels and thread pools, so neither the baseline nor the first timing
        # includes one-time library set-up.
        block(torch.randn(1, FRAMES, CHANNELS, 8, 8), ref)
        baseline = _status_kib("VmRSS")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            block(x, ref)
            times.append(time.perf_counter() - start)
        peak = _status_kib("VmHWM")
    return Measurement(block_name, size, (peak - baseline) * 1024, statistics.median(times), runs)


def measure(block: str, size: int) -> Measurement:
    """Run :func:`worker` in a subprocess and return its measurement."""
    runs = 5 if predicted_bytes(block, size) < GIB else 3
    command = [sys.executable, __file__, "--worker", block, str(size), str(runs)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return Measurement(**json.loads(result.stdout.strip().splitlines()[-1]))


def run_all(target_bytes: int, headroom: float) -> list[Measurement]:
    """Measure every block at growing sizes until the full non-local block passes ``target_bytes``."""
    from tqdm import tqdm

    results: list[Measurement] = []
    active = set(BLOCKS)
    with tqdm(total=len(SIZES) * len(BLOCKS), desc="attention memory", unit="run") as progress:
        for size in SIZES:
            for block in BLOCKS:
                progress.update()
                if block not in active:
                    continue
                if predicted_bytes(block, size) > headroom * _available_bytes():
                    progress.write(f"{block} at {size}x{size}: would not fit in available memory; stopping it")
                    active.discard(block)
                    continue
                measurement = measure(block, size)
                results.append(measurement)
                if block != "factorized" and measurement.peak_bytes > target_bytes:
                    active.discard(block)
            if "non-local" not in active and "non-local (ref. queries)" not in active:
                break
    return results


def markdown_table(results: list[Measurement]) -> str:
    """One row per size: peak memory (MiB) and median time (ms) of each block, and the memory ratio."""
    sizes = sorted({m.size for m in results})
    by_key = {(m.block, m.size): m for m in results}
    header = "| H=W | " + " | ".join(f"{b} MiB | {b} ms" for b in BLOCKS) + " | non-local / factorized memory |"
    lines = [header, "|" + "---|" * (2 + 2 * len(BLOCKS))]
    for size in sizes:
        cells = []
        for block in BLOCKS:
            m = by_key.get((block, size))
            cells += [f"{m.peak_bytes / 2**20:.1f}", f"{m.median_seconds * 1e3:.1f}"] if m else ["–", "–"]
        factorized, non_local = by_key.get(("factorized", size)), by_key.get(("non-local", size))
        ratio = f"{non_local.peak_bytes / max(factorized.peak_bytes, 1):.0f}×" if factorized and non_local else "–"
        lines.append(f"| {size} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def plot(results: list[Measurement], path: Path) -> None:
    """Memory and time against H=W on log axes, one line per block, written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vdeblur.io.atomic import atomic_output

    figure, (memory_axis, time_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for block in BLOCKS:
        rows = sorted((m for m in results if m.block == block), key=lambda m: m.size)
        sizes = [m.size for m in rows]
        memory_axis.plot(sizes, [max(m.peak_bytes, 2**16) / 2**20 for m in rows], marker="o", label=block)
        time_axis.plot(sizes, [m.median_seconds * 1e3 for m in rows], marker="o", label=block)
    for axis, label in ((memory_axis, "peak memory above baseline (MiB)"), (time_axis, "median forward time (ms)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("H = W (T=5, C=64)")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    memory_axis.legend()
    figure.suptitle("Factorized spatio-temporal attention (M=N=8) vs embedded-Gaussian non-local, CPU fp32")
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, dpi=110)
    plt.close(figure)


def summary(results: list[Measurement]) -> str:
    """The sentences that state the measured memory ratio."""
    pairs = {
        m.size: (m, f)
        for m in results
        if m.block == "non-local"
        for f in results
        if f.block == "factorized" and f.size == m.size
    }
    largest = max(pairs)
    non_local, factorized = pairs[largest]
    return (
        f"At H=W={largest} (T=5, C=64) the non-local block peaked at {non_local.peak_bytes / 1e9:.2f} GB and "
        f"took {non_local.median_seconds:.2f} s; factorized attention (M=N=8) peaked at "
        f"{factorized.peak_bytes / 2**20:.1f} MiB and took {factorized.median_seconds * 1e3:.1f} ms: "
        f"{non_local.peak_bytes / max(factorized.peak_bytes, 1):.0f}× less memory and "
        f"{non_local.median_seconds / factorized.median_seconds:.0f}× less time."
    )


def write_section(results: list[Measurement], benchmarks_md: Path, load: str) -> None:
    """Replace (or append) this benchmark's section of BENCHMARKS.md, leaving other sections untouched."""
    from vdeblur.io.atomic import atomic_output

    body = "\n".join(
        [
            SECTION,
            "",
            "`python benchmarks/attention_memory.py` — one forward pass of each block on features of T=5 frames, "
            "C=64 channels, H=W pixels, fp32 on the 2-core CPU. Memory: peak resident set size of a fresh "
            "subprocess (`VmHWM`) minus its resident size just before the forward pass. Time: median of 5 runs "
            "(3 above 1 GiB). 'non-local' is Wang et al.'s block as published (every T·H·W position attends to "
            "every position); 'non-local (ref. queries)' computes only the reference frame's responses, which "
            "is all a deblurring network needs and is T times smaller. The machine is shared: times are "
            f"noisy (1-minute load average {load}), and below a few hundred ms they measure other jobs' load "
            "more than the blocks; the memory figures do not depend on load.",
            "",
            summary(results),
            "",
            markdown_table(results),
            "",
            "![attention memory](benchmarks/results/attention_memory.png)",
            "",
        ]
    )
    text = benchmarks_md.read_text() if benchmarks_md.exists() else "# Benchmarks\n"
    if SECTION in text:
        start = text.index(SECTION)
        following = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[following + 1 :] if following != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    with atomic_output(benchmarks_md) as tmp:
        tmp.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("BLOCK", "SIZE", "RUNS"), help=argparse.SUPPRESS)
    parser.add_argument("--target-gb", type=float, default=8.0, help="stop once non-local passes this (GB)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--benchmarks-md", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--from-json", action="store_true", help="re-render tables and plot from saved results")
    args = parser.parse_args()
    if args.worker:
        block, size, runs = args.worker
        print(json.dumps(asdict(worker(block, int(size), int(runs)))))
        return 0

    from vdeblur.io.atomic import atomic_output

    saved = args.output / "attention_memory.json"
    if args.from_json:
        record = json.loads(saved.read_text())
        results = [Measurement(**m) for m in record["measurements"]]
    else:
        load_before = _load_average()
        results = run_all(int(args.target_gb * 1e9), headroom=0.8)
        record = {"load_average": f"{load_before} before, {_load_average()} after the run"}
        record["measurements"] = [asdict(m) for m in results]
        with atomic_output(saved) as tmp:
            tmp.write_text(json.dumps(record, indent=1))
    with atomic_output(args.output / "attention_memory.md") as tmp:
        tmp.write_text(summary(results) + "\n\n" + markdown_table(results) + "\n")
    plot(results, args.output / "attention_memory.png")
    write_section(results, args.benchmarks_md, record["load_average"])
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
