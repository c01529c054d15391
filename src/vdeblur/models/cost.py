"""Parameters and FLOPs of models, by registered name or as objects, counted on the ``meta`` device (no memory,
no compute).

``torch.utils.flop_counter.FlopCounterMode`` counts from the shapes of each op, so a full 1280×720 frame can be
measured on meta tensors in well under a second. It counts matmuls and convolutions (2 FLOPs per
multiply-add), not element-wise ops, which are a few percent here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vdeblur.models.registry import create_model
from vdeblur.models.streaming import StreamingModel, streams


@dataclass(frozen=True)
class ModelCost:
    """What one model costs per output frame.

    Attributes:
        name: registered model name.
        parameters: number of parameters.
        num_frames: frames per window T.
        window_gflops: GFLOPs of one ``forward`` on a full window (every frame encoded).
        streaming_gflops: GFLOPs per output frame when each frame's encoder features are cached across
            windows (one ``encode_frame`` plus one ``decode_window``); None for models without caching.
    """

    name: str
    parameters: int
    num_frames: int
    window_gflops: float
    streaming_gflops: float | None


def _gflops(fn: Callable[[], object]) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9


def _window_gflops(model: nn.Module, height: int, width: int) -> float:
    """One ``forward`` on a full window; ``model`` lies on the meta device."""
    clip = torch.empty(1, int(getattr(model, "num_frames", 1)), 3, height, width, device="meta")
    return _gflops(lambda: model(clip))


def _streaming_gflops(model: StreamingModel, height: int, width: int) -> float:
    """One ``encode_frame`` and one ``decode_window`` at the padded size inference uses; ``model`` on meta."""
    multiple = int(model.size_multiple)
    frame = torch.empty(1, 3, -(-height // multiple) * multiple, -(-width // multiple) * multiple, device="meta")
    features: list[object] = []
    encode = _gflops(lambda: features.append(model.encode_frame(frame)))
    return encode + _gflops(lambda: model.decode_window(features * model.num_frames, frame))


def gflops_per_frame(model: nn.Module, height: int, width: int, cached: bool = True) -> float:
    """GFLOPs to restore one frame of ``height × width``, as streaming inference runs ``model``.

    With ``cached`` and a feature-caching model (:func:`~vdeblur.models.streaming.streams`) that is one
    ``encode_frame`` and one ``decode_window`` (the streaming cost); otherwise one ``forward`` on a full window.

    Args:
        model: a torch model (copied to the meta device; the model itself is untouched).
        height: frame height (padded to ``size_multiple`` as inference does).
        width: frame width.
        cached: count the streaming cost where the model supports feature caching.
    """
    meta = copy.deepcopy(model).to("meta").eval()
    with torch.no_grad():
        if cached and streams(meta):
            return _streaming_gflops(meta, height, width)
        return _window_gflops(meta, height, width)


def measure_cost(
    name: str, height: int = 720, width: int = 1280, model_kwargs: dict[str, Any] | None = None
) -> ModelCost:
    """Count parameters and FLOPs of model ``name`` for frames of ``height`` × ``width``.

    Args:
        name: a registered model name.
        height: frame height in pixels.
        width: frame width in pixels.
        model_kwargs: constructor arguments that differ from the preset (as a weights file records them).

    Returns:
        The model's :class:`ModelCost`.
    """
    with torch.device("meta"):
        model = create_model(name, **(model_kwargs or {})).eval()
        with torch.no_grad():
            window = _window_gflops(model, height, width)
            streaming = _streaming_gflops(model, height, width) if streams(model) else None
    parameters = sum(p.numel() for p in model.parameters())
    return ModelCost(name, parameters, model.num_frames, window, streaming)
