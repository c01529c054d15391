"""Input checks with messages that name the expected shape, size-argument checks, and padding to a size multiple."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from vdeblur.errors import ConfigError


def check_sizes(minimum: int = 1, **sizes: Any) -> None:
    """Raise ``ConfigError`` unless every keyword is an integer of at least ``minimum``.

    Torch builds layers with zero channels without complaint (they fail only in ``forward``) and reports
    negative or fractional sizes in its own terms, without the argument's name; hence the check up front.
    """
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{name} must be an integer of at least {minimum}, got {value!r}")


def check_clip(clip: torch.Tensor, num_frames: int, channels: int = 3) -> None:
    """Raise ``ValueError`` unless ``clip`` is ``(B, num_frames, channels, H, W)`` with an odd frame count.

    Args:
        clip: the tensor a model's ``forward`` received.
        num_frames: the T the model was built for.
        channels: colour channels expected per frame.
    """
    expected = f"(B, T={num_frames}, C={channels}, H, W)"
    if clip.dim() != 5:
        raise ValueError(f"expected a clip of shape {expected}, got a {clip.dim()}-D tensor {tuple(clip.shape)}")
    if clip.shape[1] % 2 == 0:
        raise ValueError(
            f"expected a clip of shape {expected} with an odd number of frames, got T={clip.shape[1]}"
        )
    if clip.shape[1] != num_frames or clip.shape[2] != channels:
        raise ValueError(f"expected a clip of shape {expected}, got {tuple(clip.shape)}")


def stack_frames(frames: list[torch.Tensor]) -> torch.Tensor:
    """Stack T per-frame feature maps ``(B, C, H, W)`` into ``(B, T, C, H, W)`` with each frame channels-last.

    That is the layout the shared encoder gives the B·T frames of a clip, so a model fuses cached features in
    the same layout as in training, and the attention reads every frame as ``(H·W, C)`` tokens without a copy.
    (``torch.stack`` of channels-last maps would interleave the frames' channels instead.)
    """
    return torch.stack([frame.permute(0, 2, 3, 1) for frame in frames], dim=1).permute(0, 1, 4, 2, 3)


def check_frame(frame: torch.Tensor, channels: int = 3, size_multiple: int = 1) -> None:
    """Raise ``ValueError`` unless ``frame`` is ``(B, channels, H, W)`` with H and W multiples of ``size_multiple``."""
    expected = f"(B, C={channels}, H, W) with H and W multiples of {size_multiple}"
    if frame.dim() != 4 or frame.shape[1] != channels:
        raise ValueError(f"expected a frame of shape {expected}, got {tuple(frame.shape)}")
    if frame.shape[-2] % size_multiple or frame.shape[-1] % size_multiple:
        raise ValueError(f"expected a frame of shape {expected}, got {tuple(frame.shape)}; pad it first")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the last two dimensions on the bottom/right up to multiples of ``multiple``.

    Replicate padding (not reflect) so that any size works, even one smaller than the padding.

    Args:
        x: tensor of shape ``(..., H, W)``.
        multiple: the size multiple needed.

    Returns:
        The padded tensor and the original ``(H, W)`` to crop back to.
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h == 0 and pad_w == 0:
        return x, (height, width)
    lead = x.shape[:-3]
    flat = x.reshape(-1, *x.shape[-3:])
    padded = F.pad(flat, (0, pad_w, 0, pad_h), mode="replicate")
    return padded.reshape(*lead, *padded.shape[-3:]), (height, width)
