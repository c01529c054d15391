"""The execution backends a benchmark can compare: torch itself, or ONNX Runtime on an export of the model."""

from __future__ import annotations

from torch import nn

from vdeblur.errors import UserError

BACKENDS = ("torch", "onnxruntime")


def prepare_model(model: nn.Module, backend: str) -> nn.Module:
    """``model`` itself for ``torch``; for ``onnxruntime`` an :class:`OnnxRuntimeModel` of its export.

    Raises:
        UserError: unknown backend, or onnxruntime not installed.
    """
    if backend == "torch":
        return model
    if backend == "onnxruntime":
        try:
            from vdeblur.export.runtime import OnnxRuntimeModel
        except ImportError as exc:
            raise UserError(
                "The onnxruntime backend needs onnx and onnxruntime: pip install 'vdeblur[export]'."
            ) from exc
        return OnnxRuntimeModel.from_module(model)
    raise UserError(f"Unknown backend '{backend}'; use one of {', '.join(BACKENDS)}.")
