"""The streaming contract: a model whose per-frame features can be computed once and reused across windows.

In a sliding window over a video every frame belongs to T windows. A model that encodes each frame on its own
and fuses the T frames' features afterwards lets the engine encode each frame once and run only the fusion and
decoder per output frame (docs/DESIGN.md §7). :class:`StreamingModel` states what such a model provides, and
:func:`streams` is the one test the engine, the exporters and the cost counter use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class StreamingModel(Protocol):
    """What the engine needs to cache features: ``forward(clip)`` must equal
    ``decode_window([encode_frame(clip[:, t]) for t in range(T)], clip[:, T // 2])``.

    Attributes:
        num_frames: T, the frames per window (odd; the reference frame is ``T // 2``).
        size_multiple: H and W given to ``encode_frame`` must be multiples of it (the caller pads).
        supports_feature_cache: whether this instance can stream. A class may have the methods and still say
            no: an ONNX Runtime model exported without its encoder and decoder graphs.
    """

    num_frames: int
    size_multiple: int
    supports_feature_cache: bool

    def encode_frame(self, frame: torch.Tensor) -> Any:
        """One frame's features ``(B, 3, H, W)`` -> any pytree of tensors, computed once per frame."""
        ...

    def decode_window(self, features: Sequence[Any], reference_frame: torch.Tensor) -> torch.Tensor:
        """The T frames' features in time order and the blurry reference frame -> the restored frame."""
        ...


def streams(model: object) -> bool:
    """Whether ``model`` follows :class:`StreamingModel` and says it can stream.

    Example:
        >>> from vdeblur.models import create_model
        >>> streams(create_model("sta-cpu")), streams(create_model("dblrnet-cpu"))
        (True, False)
    """
    return isinstance(model, StreamingModel) and bool(model.supports_feature_cache)
