"""Choosing the torch device: automatic by default, overridable by name."""

from __future__ import annotations

import torch

from vdeblur.errors import UserError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def select_device(name: str = "auto") -> torch.device:
    """Return the device named, or for ``"auto"`` the best available one (CUDA, then MPS, then CPU).

    Args:
        name: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Raises:
        UserError: the device is unknown or not available on this machine.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"Unknown device '{name}'; use one of {', '.join(DEVICE_CHOICES)}.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("Device 'cuda' was requested but no CUDA GPU is available; use --device cpu or auto.")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("Device 'mps' was requested but Apple MPS is not available; use --device cpu or auto.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"Unsupported device '{name}'; use one of {', '.join(DEVICE_CHOICES)}.")
    return device
