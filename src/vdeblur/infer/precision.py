"""Whether to run inference under bfloat16 autocast on this device."""

from __future__ import annotations

import torch


def bf16_supported(device: torch.device) -> bool:
    """True where bf16 convolutions are fast: CUDA GPUs with bf16, CPUs with AVX-512 BF16 or AMX.

    On CPUs without native bf16 the oneDNN kernels emulate it and run slower than float32, so the default
    there is float32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_has_native_bf16()
    return False


def _cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def autocast_dtype(device: torch.device, bf16: bool | None) -> torch.dtype | None:
    """The autocast dtype to use: bf16 if asked (or, for None, if the device supports it), else None (fp32)."""
    if bf16 is None:
        bf16 = bf16_supported(device)
    return torch.bfloat16 if bf16 else None
