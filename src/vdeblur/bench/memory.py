"""Peak resident memory of streaming inference, each measurement in a fresh process.

A process's peak resident set size (``VmHWM``) never goes down, so measurements must not share a process. The
worker (``python -m vdeblur.bench.memory``) loads the model, records its resident size, deblurs a lazily made
stream of frames with :meth:`vdeblur.Deblurrer.deblur_frames` and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from vdeblur.allocator import keep_freed_memory


@dataclass(frozen=True)
class MemoryResult:
    """One peak-memory measurement.

    Attributes:
        height: frame height.
        width: frame width.
        frames: frames deblurred.
        precision: ``fp32`` or ``bf16``.
        backend: ``torch``, ``compile`` or ``onnxruntime``.
        tile: tile side (0: whole frames; None: chosen from free memory).
        peak_bytes: the process's peak resident set size.
        model_bytes: its resident size once the model was loaded, before the first frame.
        seconds: wall time of the stream (noisy; the memory is the point here).
    """

    height: int
    width: int
    frames: int
    precision: str
    backend: str
    tile: int | None
    peak_bytes: int
    model_bytes: int
    seconds: float


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} missing from /proc/self/status")


def measure_peak_memory(
    model: str, height: int, width: int, frames: int, precision: str = "fp32", backend: str = "torch",
    tile: int | None = 0, timeout: float | None = None,
) -> MemoryResult:
    """Run the worker in a subprocess and return its measurement.

    Args:
        model: ``--model`` spec (a registered name without shipped weights gets random weights).
        height: frame height.
        width: frame width.
        frames: stream length.
        precision: ``fp32`` or ``bf16``.
        backend: ``torch``, ``compile`` or ``onnxruntime`` (fp32 only).
        tile: tile side; 0 never tiles; None chooses from free memory.
        timeout: seconds before the worker is killed.

    Raises:
        RuntimeError: the worker failed (its stderr is in the message).
    """
    command = [
        sys.executable, "-m", "vdeblur.bench.memory", "--model", model, "--height", str(height), "--width",
        str(width), "--frames", str(frames), "--precision", precision, "--backend", backend,
        *(["--tile", str(tile)] if tile is not None else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory worker failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return MemoryResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def _worker(argv: Sequence[str] | None = None) -> int:
    keep_freed_memory()  # before anything allocates, as the vdeblur command does, so the peak is the command's
    from vdeblur.infer.backends import BACKENDS, prepare_model

    parser = argparse.ArgumentParser(description="one peak-memory measurement (run by measure_peak_memory)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--backend", choices=BACKENDS, default="torch")
    parser.add_argument("--tile", type=int, default=None)
    args = parser.parse_args(argv)

    from vdeblur.bench.frames import pattern_frames
    from vdeblur.export.model_spec import model_for_tooling
    from vdeblur.infer.compiled import compile_failures_raise
    from vdeblur.infer.deblurrer import Deblurrer

    model = prepare_model(model_for_tooling(args.model, random_init=None), args.backend)
    deblurrer = Deblurrer(
        model, "cpu", tile=args.tile, precision=args.precision,
        backend="compile" if args.backend == "compile" else "torch",  # the ONNX model is prepared above
    )
    model_bytes = _status_bytes("VmRSS")
    start = time.perf_counter()
    with compile_failures_raise():  # a compile row that ran eagerly would report eager memory
        for _ in deblurrer.deblur_frames(pattern_frames(args.frames, args.height, args.width)):
            pass
    result = MemoryResult(
        args.height, args.width, args.frames, args.precision, args.backend, args.tile, _status_bytes("VmHWM"),
        model_bytes, time.perf_counter() - start,
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(_worker())
