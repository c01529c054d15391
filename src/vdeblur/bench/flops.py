"""FLOPs per output frame of a model as streaming inference runs it, counted on the ``meta`` device."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def _count(run: object) -> float:
    with FlopCounterMode(display=False) as counter:
        run()  # type: ignore[operator]
    return float(counter.get_total_flops())


def gflops_per_frame(model: nn.Module, height: int, width: int, cached: bool = True) -> float:
    """GFLOPs to restore one frame of ``height × width``.

    With ``cached`` and a feature-caching model that is one ``encode_frame`` and one ``decode_window`` (the
    streaming cost); otherwise one ``forward`` on a full window. Convolutions and matmuls count 2 FLOPs per
    multiply-add; element-wise ops are not counted (see :mod:`vdeblur.models.cost`).

    Args:
        model: a torch model (copied to the meta device; the model itself is untouched).
        height: frame height (padded to ``size_multiple`` as inference does).
        width: frame width.
        cached: count the streaming cost where the model supports feature caching.
    """
    meta = copy.deepcopy(model).to("meta").eval()
    frames = int(getattr(meta, "num_frames", 1))
    with torch.no_grad():
        if cached and getattr(meta, "supports_feature_cache", False):
            multiple = int(meta.size_multiple)
            padded = (-(-height // multiple) * multiple, -(-width // multiple) * multiple)
            frame = torch.empty(1, 3, *padded, device="meta")
            features: list[object] = []
            flops = _count(lambda: features.append(meta.encode_frame(frame)))
            flops += _count(lambda: meta.decode_window(features * frames, frame))
        else:
            clip = torch.empty(1, frames, 3, height, width, device="meta")
            flops = _count(lambda: meta(clip))
    return flops / 1e9
