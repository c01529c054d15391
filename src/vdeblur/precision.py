"""Precision: the float format a model runs in (``fp32`` or ``bf16`` autocast; ``fp16`` for CUDA training),
chosen for the hardware by ``auto`` and overridable. The one place precision names become dtypes.

``auto`` picks bf16 only where it is faster than float32:

- a CUDA GPU with bf16 support;
- an x86 CPU with AMX (bf16 matrix units);
- an x86 CPU with AVX-512 BF16 but no AMX only if the cached measurement (:func:`vdeblur.hardware.conv_speed`)
  found bf16 convolutions faster there: on the development machine they ran at half float32's speed;
- float32 everywhere else (AVX2 and older x86, Arm, Apple, MPS).
"""

from __future__ import annotations

import contextlib

import torch

from vdeblur.errors import UserError
from vdeblur.hardware import ConvSpeed, CpuFeatures

_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# bf16 must beat float32 by this factor on an AVX-512 BF16 CPU before auto takes it (measurement noise).
BF16_MARGIN = 1.1


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a resolved precision: None for ``fp32``, else ``torch.bfloat16``/``torch.float16``.

    Raises:
        UserError: an unknown name (``auto`` must be resolved first).
    """
    if precision not in _DTYPES:
        raise UserError(f"Unknown precision '{precision}'; use {', '.join(_DTYPES)}.")
    return _DTYPES[precision]


def precision_name(dtype: torch.dtype | None) -> str:
    """The name of an autocast dtype (None: ``fp32``)."""
    return next(name for name, value in _DTYPES.items() if value == dtype)


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast on ``device`` in a resolved ``precision``, or a no-op for ``fp32``."""
    dtype = autocast_dtype(precision)
    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)


def needs_measurement(device_type: str, cpu: CpuFeatures) -> bool:
    """Whether ``auto`` on this device needs :func:`vdeblur.hardware.conv_speed` to decide (flags undecided)."""
    return device_type == "cpu" and cpu.has_avx512_bf16 and not cpu.has_amx


def choose_precision(
    requested: str, device_type: str, cpu: CpuFeatures, cuda_bf16: bool = False, measured: ConvSpeed | None = None
) -> str:
    """``fp32`` or ``bf16`` for ``requested`` (``auto``, ``fp32`` or ``bf16``): a pure function of the hardware.

    Args:
        requested: the user's choice; anything but ``auto`` is returned as it is.
        device_type: ``cpu``, ``cuda`` or ``mps``.
        cpu: the CPU's features as oneDNN sees them (:func:`vdeblur.hardware.read_cpu_features`).
        cuda_bf16: whether the CUDA device supports bf16.
        measured: the probe convolution's speed, where :func:`needs_measurement` says it decides.
    """
    if requested != "auto":
        return requested
    if device_type == "cuda":
        return "bf16" if cuda_bf16 else "fp32"
    if device_type != "cpu":
        return "fp32"
    if cpu.has_amx:
        return "bf16"
    if cpu.has_avx512_bf16 and measured is not None and measured.bf16 is not None:
        return "bf16" if measured.bf16 > BF16_MARGIN * measured.fp32 else "fp32"
    return "fp32"


def resolve_precision(requested: str, device: torch.device) -> str:
    """:func:`choose_precision` for ``device`` on this machine, measuring (once, cached) where flags do not decide.

    Raises:
        UserError: ``requested`` is neither ``auto`` nor a precision name (``fp32``, ``bf16``, ``fp16``).
    """
    if requested != "auto":
        autocast_dtype(requested)  # checks the name
        return requested
    from vdeblur.hardware import conv_speed, read_cpu_features

    cpu = read_cpu_features()
    cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    measured = conv_speed(cpu) if needs_measurement(device.type, cpu) else None
    return choose_precision(requested, device.type, cpu, cuda_bf16, measured)
