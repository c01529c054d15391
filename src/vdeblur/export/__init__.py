"""Exporting models to ONNX and TorchScript, and running ONNX exports with ONNX Runtime.

``export_model`` writes a model's window graph and, for feature-caching models, its encoder and decoder
graphs; :class:`~vdeblur.export.runtime.OnnxRuntimeModel` (in ``vdeblur.export.runtime``, which imports
onnxruntime) runs them behind the model interface of ``docs/INTERFACES.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from vdeblur.errors import UserError

FORMATS = ("onnx", "torchscript")


def export_model(
    model: nn.Module, path: str | os.PathLike, fmt: str, height: int, width: int, streaming: bool = False
) -> list[Path]:
    """Export ``model`` in format ``fmt`` (``onnx`` or ``torchscript``); see ``export_onnx`` for the rest.

    Returns:
        The files written, window graph first.

    Raises:
        UserError: unknown format or a missing exporter package, and the errors of the exporter.
    """
    if fmt == "torchscript":
        from vdeblur.export.torchscript_export import export_torchscript

        return export_torchscript(model, path, height, width, streaming)
    if fmt == "onnx":
        try:
            from vdeblur.export.onnx_export import export_onnx
        except ImportError as exc:
            raise UserError("ONNX export needs the onnx package: pip install 'vdeblur[export]'.") from exc
        return export_onnx(model, path, height, width, streaming)
    raise UserError(f"Unknown export format '{fmt}'; use one of {', '.join(FORMATS)}.")
