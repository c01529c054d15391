"""The execution backends: torch itself (eager), torch.compile, or ONNX Runtime on an export of the model."""

from __future__ import annotations

from torch import nn

from vdeblur.errors import UserError

BACKENDS = ("torch", "compile", "onnxruntime")


def prepare_model(model: nn.Module, backend: str) -> nn.Module:
    """``model`` itself for ``torch`` and ``compile`` (the inference engine compiles its calls, see
    :mod:`vdeblur.infer.compiled`); for ``onnxruntime`` an :class:`OnnxRuntimeModel` of its export.

    Raises:
        UserError: unknown backend, or onnxruntime not installed.
    """
    if backend in ("torch", "compile"):
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
