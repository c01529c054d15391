"""How large a tile fits in memory: free memory on the device and a model's activation bytes per pixel.

The activation estimate runs the model once on a small probe clip while forward hooks track the tensors that
module outputs keep alive (released ones are subtracted when Python frees them); the peak of that live set,
divided by the probe's pixel count, is the model's bytes per pixel. It misses temporaries inside a module's
own forward, hence the safety factor applied by the caller.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch
from torch import nn

PROBE_SIDE = 64  # probe size in pixels; small enough to be instant, large enough that all levels exist


def available_bytes(device: torch.device) -> int:
    """Memory that can still be allocated on ``device`` (MemAvailable for CPU, free memory for CUDA)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3  # unknown (macOS, Windows): assume a modest 4 GiB


def tensors_in(value: object) -> list[torch.Tensor]:
    """Every tensor in a (nested) tensor, list, tuple or dict."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def peak_live_bytes(model: nn.Module, run: Callable[[], object]) -> int:
    """Peak bytes held by module outputs while ``run()`` executes ``model`` (see the module docstring)."""
    live: dict[int, int] = {}
    peak = 0

    def hook(_module: nn.Module, _inputs: object, output: object) -> None:
        nonlocal peak
        for tensor in tensors_in(output):
            key = tensor.untyped_storage().data_ptr()
            if key in live:
                continue
            live[key] = tensor.untyped_storage().nbytes()
            weakref.finalize(tensor, live.pop, key, None)
        peak = max(peak, sum(live.values()))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return peak


def activation_bytes_per_pixel(
    model: nn.Module, num_frames: int, device: torch.device, dtype: torch.dtype | None
) -> float:
    """Estimated peak activation bytes per input pixel for one forward pass on a ``num_frames`` clip."""
    probe = torch.rand(1, num_frames, 3, PROBE_SIDE, PROBE_SIDE, device=device)

    def run() -> object:
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            return model(probe)

    return peak_live_bytes(model, run) / PROBE_SIDE**2
