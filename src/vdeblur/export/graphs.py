"""The graphs an exporter traces: a model's full window pass and, for feature-caching models, its two halves.

Exported graphs take tensors only, so each half is wrapped in a module with a flat signature: the encoder
returns the leaves of ``encode_frame``'s output, and the decoder takes the reference frame followed by the
leaves of the T frames' features, frame after frame. Every graph takes frames whose height and width are
multiples of the model's ``size_multiple``: padding depends on the size through Python branches that a tracer
would freeze at the example size, so the caller pads (:class:`vdeblur.export.runtime.OnnxRuntimeModel` does).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree  # the flattening torch.export itself uses; no public equivalent yet

from vdeblur.errors import UserError
from vdeblur.models.streaming import streams

WINDOW, ENCODER, DECODER = "window", "encoder", "decoder"


@dataclass(frozen=True)
class GraphInfo:
    """What a runtime needs to know about an exported graph; stored in the exported file.

    Attributes:
        role: ``window`` (clip -> frame), ``encoder`` (frame -> feature leaves) or ``decoder``
            (reference frame + T frames' feature leaves -> frame).
        model: registered model name (None for a model not made by ``create_model``).
        model_kwargs: its constructor arguments.
        num_frames: T.
        size_multiple: H and W of every input must be multiples of this.
        feature_leaves: tensors per frame in the cached features (0 for a model without feature caching).
    """

    role: str
    model: str | None
    model_kwargs: dict[str, Any]
    num_frames: int
    size_multiple: int
    feature_leaves: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphInfo:
        """Rebuild from :meth:`to_dict`'s output."""
        return cls(**data)


class WindowGraph(nn.Module):
    """``forward(clip) -> frame``: the model's full pass on a clip ``(B, T, 3, H, W)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """The restored reference frame ``(B, 3, H, W)``."""
        return self.model(clip)


class EncoderGraph(nn.Module):
    """``forward(frame) -> leaves``: ``encode_frame`` with its features flattened to a tuple of tensors."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, frame: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The leaves of ``encode_frame(frame)``, in pytree order."""
        return tuple(pytree.tree_leaves(self.model.encode_frame(frame)))


class DecoderGraph(nn.Module):
    """``forward(reference, *leaves) -> frame``: ``decode_window`` on flattened features.

    Args:
        model: a feature-caching model.
        feature_spec: the pytree structure of one frame's features (from :func:`feature_structure`).
    """

    def __init__(self, model: nn.Module, feature_spec: pytree.TreeSpec) -> None:
        super().__init__()
        self.model = model
        self.feature_spec = feature_spec
        self.leaves_per_frame = feature_spec.num_leaves

    def forward(self, reference: torch.Tensor, *leaves: torch.Tensor) -> torch.Tensor:
        """Restore ``reference`` from the T frames' feature leaves, frame after frame."""
        k = self.leaves_per_frame
        features = [
            pytree.tree_unflatten(list(leaves[t * k : (t + 1) * k]), self.feature_spec)
            for t in range(len(leaves) // k)
        ]
        return self.model.decode_window(features, reference)


def feature_structure(model: nn.Module, frame: torch.Tensor) -> tuple[pytree.TreeSpec, list[torch.Tensor]]:
    """The pytree structure and leaves of ``model.encode_frame(frame)``."""
    with torch.no_grad():
        leaves, spec = pytree.tree_flatten(model.encode_frame(frame))
    return spec, leaves


def graph_info(model: nn.Module, role: str, feature_leaves: int) -> GraphInfo:
    """The :class:`GraphInfo` of one of ``model``'s graphs."""
    return GraphInfo(
        role=role,
        model=getattr(model, "model_name", None),
        model_kwargs=dict(getattr(model, "model_kwargs", {}) or {}),
        num_frames=int(getattr(model, "num_frames", 1)),
        size_multiple=int(getattr(model, "size_multiple", 1)),
        feature_leaves=feature_leaves,
    )


def example_size(model: nn.Module, height: int, width: int) -> tuple[int, int]:
    """Check an export size: positive multiples of the model's ``size_multiple``.

    Raises:
        UserError: a size that is not a positive multiple.
    """
    multiple = int(getattr(model, "size_multiple", 1))
    for name, value in (("height", height), ("width", width)):
        if value < 1 or value % multiple:
            raise UserError(f"The export {name} must be a positive multiple of {multiple} for this model, got {value}.")
    return height, width


@dataclass
class GraphPlan:
    """One graph to export: the module, an example input, tensor names and which axes may vary.

    Attributes:
        info: what the exported file records about the graph.
        module: the flat-signature module to trace.
        example: example inputs (tensors) for tracing.
        input_names: one name per example input.
        output_names: one name per output.
        dynamic_axes: for each tensor name, ``{axis: symbolic name}`` of the axes that may vary.
    """

    info: GraphInfo
    module: nn.Module
    example: tuple[torch.Tensor, ...]
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]


def _image_axes(ndim: int, prefix: str = "") -> dict[int, str]:
    # Batch and the two spatial axes vary; channel counts (and T) are fixed by the architecture.
    return {0: "batch", ndim - 2: f"{prefix}height", ndim - 1: f"{prefix}width"}


def plan_graphs(model: nn.Module, height: int, width: int, streaming: bool) -> list[GraphPlan]:
    """The graphs to export for ``model``: always the window graph, and with ``streaming`` the two halves.

    Args:
        model: a deblurring model in eval mode.
        height: example height, a multiple of ``size_multiple`` (the graphs accept other multiples).
        width: example width, likewise.
        streaming: also plan the encoder and decoder graphs.

    Returns:
        The window graph's plan, then (with ``streaming``) the encoder's and the decoder's.

    Raises:
        UserError: a bad size, ``streaming`` for a model without feature caching, or a model with a
            deconvolution front (its tiling branches on the frame's size, and the ONNX exporter has no FFT).
    """
    if getattr(model, "front", None) is not None:
        raise UserError("Models with a deconvolution front (deconv_kernel) cannot be exported yet; run them in "
                        "PyTorch.")
    height, width = example_size(model, height, width)
    frames = int(getattr(model, "num_frames", 1))
    generator = torch.Generator().manual_seed(0)
    clip = torch.rand(1, frames, 3, height, width, generator=generator)
    plans = [
        GraphPlan(
            graph_info(model, WINDOW, 0), WindowGraph(model), (clip,), ["clip"], ["frame"],
            {"clip": _image_axes(5), "frame": _image_axes(4)},
        )
    ]
    if not streaming:
        return plans
    if not streams(model):
        raise UserError(
            f"Model '{getattr(model, 'model_name', type(model).__name__)}' has no feature caching, so it cannot be "
            "split into an encoder and a decoder; export it without --streaming."
        )
    frame = clip[:, frames // 2]
    spec, leaves = feature_structure(model, frame)
    # Each frame's own features, so that no two example inputs are the same tensor object.
    window_leaves = [leaf for t in range(frames) for leaf in feature_structure(model, clip[:, t])[1]]
    leaf_names = [f"features_{i}" for i in range(len(leaves))]
    leaf_axes = {name: _image_axes(leaf.dim(), f"{name}_") for name, leaf in zip(leaf_names, leaves, strict=True)}
    plans.append(
        GraphPlan(
            graph_info(model, ENCODER, len(leaves)), EncoderGraph(model), (frame,), ["frame"], leaf_names,
            {"frame": _image_axes(4), **leaf_axes},
        )
    )
    window_names = [f"frame{t}_{name}" for t in range(frames) for name in leaf_names]
    decoder_axes = {f"frame{t}_{name}": axes for t in range(frames) for name, axes in leaf_axes.items()}
    plans.append(
        GraphPlan(
            graph_info(model, DECODER, len(leaves)), DecoderGraph(model, spec), (frame, *window_leaves),
            ["reference", *window_names], ["frame"],
            {"reference": _image_axes(4), "frame": _image_axes(4), **decoder_axes},
        )
    )
    return plans


def part_path(path: str | os.PathLike, role: str) -> Path:
    """Where the graph of ``role`` goes for an export to ``path``: ``m.onnx`` -> ``m.encoder.onnx``."""
    path = Path(path)
    return path if role == WINDOW else path.with_name(f"{path.stem}.{role}{path.suffix}")
