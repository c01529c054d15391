"""Writing a model's graphs as traced TorchScript files, with their ``GraphInfo`` as an extra file.

``torch.jit.trace`` records shape arithmetic as graph operations, so the traced graphs run at other sizes
(multiples of ``size_multiple``; see :mod:`vdeblur.export.graphs`). It is deprecated in torch 2.13 but still
the way to produce a file that C++ (libtorch) loads without Python.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from vdeblur.export.graphs import GraphInfo, GraphPlan, part_path, plan_graphs
from vdeblur.export.writing import write_with

INFO_FILE = "vdeblur.json"


def trace_graph(plan: GraphPlan) -> torch.jit.ScriptModule:
    """Trace one planned graph."""
    with torch.no_grad(), warnings.catch_warnings():
        # Shape checks frozen by the tracer only validate shapes; the deprecation is known (module docstring).
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.trace(plan.module, plan.example, check_trace=False)


def export_torchscript(
    model: nn.Module, path: str | os.PathLike, height: int, width: int, streaming: bool = False
) -> list[Path]:
    """Export ``model`` as TorchScript; the arguments and file naming are those of ``export_onnx``.

    Returns:
        The files written, window graph first.

    Raises:
        UserError: a bad size, ``streaming`` without feature caching, or an unwritable path.
    """
    plans = plan_graphs(model.eval(), height, width, streaming)
    traced = [trace_graph(plan) for plan in plans]
    written = []
    for plan, module in zip(plans, traced, strict=True):
        target = part_path(path, plan.info.role)
        extra = {INFO_FILE: json.dumps(plan.info.to_dict(), sort_keys=True)}
        write_with(target, lambda tmp, module=module, extra=extra: _save(module, tmp, extra))
        written.append(target)
    return written


def _save(module: torch.jit.ScriptModule, path: Path, extra: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(module, str(path), _extra_files=extra)


def load_torchscript(path: str | os.PathLike) -> tuple[torch.jit.ScriptModule, GraphInfo]:
    """Load an exported TorchScript graph and its ``GraphInfo``."""
    extra = {INFO_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), _extra_files=extra)
    return module, GraphInfo.from_dict(json.loads(extra[INFO_FILE]))
