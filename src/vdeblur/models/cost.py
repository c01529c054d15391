"""Parameters and FLOPs of the registered models, counted on the ``meta`` device (no memory, no compute).

``torch.utils.flop_counter.FlopCounterMode`` counts from the shapes of each op, so a full 1280×720 frame can be
measured on meta tensors in well under a second. It counts matmuls and convolutions (2 FLOPs per
multiply-add), not element-wise ops, which are a few percent here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from vdeblur.models.registry import create_model
from vdeblur.models.streaming import streams


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
        frames = model.num_frames
        clip = torch.empty(1, frames, 3, height, width)
        with torch.no_grad():
            window = _gflops(lambda: model(clip))
            streaming = None
            if streams(model):
                multiple = model.size_multiple
                frame = torch.empty(1, 3, -(-height // multiple) * multiple, -(-width // multiple) * multiple)
                holder: list[tuple[torch.Tensor, ...]] = []
                encode = _gflops(lambda: holder.append(model.encode_frame(frame)))
                decode = _gflops(lambda: model.decode_window(holder * frames, frame))
                streaming = encode + decode
    parameters = sum(p.numel() for p in model.parameters())
    return ModelCost(name, parameters, frames, window, streaming)
