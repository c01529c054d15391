"""Peak resident memory of streaming inference, each measurement in a fresh process.

A process's peak resident set size (``VmHWM``) never goes down, so measurements must not share a process. The
worker (``python -m vdeblur.bench.memory '<settings as JSON>'``) loads the model, records its resident size,
deblurs a lazily made stream of frames with :meth:`vdeblur.Deblurrer.deblur_frames` and prints one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
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
    settings = {"model": model, "height": height, "width": width, "frames": frames, "precision": precision,
                "backend": backend, "tile": tile}
    command = [sys.executable, "-m", "vdeblur.bench.memory", json.dumps(settings)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory worker failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return MemoryResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def _worker(model: str, height: int, width: int, frames: int, precision: str, backend: str, tile: int | None) -> int:
    """One measurement, printed as a JSON line (the arguments as :func:`measure_peak_memory`'s)."""
    keep_freed_memory()  # before anything allocates, as the vdeblur command does, so the peak is the command's
    from vdeblur.bench.frames import pattern_frames
    from vdeblur.export.model_spec import model_for_tooling
    from vdeblur.infer.compiled import compile_failures_raise
    from vdeblur.infer.backends import prepare_model
    from vdeblur.infer.deblurrer import Deblurrer

    deblurrer = Deblurrer(
        prepare_model(model_for_tooling(model, random_init=None), backend), "cpu", tile=tile, precision=precision,
        backend="compile" if backend == "compile" else "torch",  # the ONNX model is prepared above
    )
    model_bytes = _status_bytes("VmRSS")
    start = time.perf_counter()
    with compile_failures_raise():  # a compile row that ran eagerly would report eager memory
        for _ in deblurrer.deblur_frames(pattern_frames(frames, height, width)):
            pass
    result = MemoryResult(
        height, width, frames, precision, backend, tile, _status_bytes("VmHWM"), model_bytes,
        time.perf_counter() - start,
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(**json.loads(sys.argv[1])))
