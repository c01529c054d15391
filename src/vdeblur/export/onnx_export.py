"""Writing a model's graphs to ONNX files, with their :class:`~vdeblur.export.graphs.GraphInfo` as metadata.

This uses torch's TorchScript-based exporter (``dynamo=False``): on torch 2.13 it exports every vdeblur model
with free batch, height and width axes and needs no extra package, whereas the torch.export-based exporter
needs ``onnxscript``. The graphs are traced, so they hold no Python branch on the input size; the caller pads
to ``size_multiple`` (see :mod:`vdeblur.export.graphs`).
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from vdeblur.errors import UserError
from vdeblur.export.graphs import GraphInfo, GraphPlan, part_path, plan_graphs
from vdeblur.export.writing import write_bytes

METADATA_KEY = "vdeblur"
OPSET = 17


def graph_to_onnx(plan: GraphPlan) -> onnx.ModelProto:
    """Trace one planned graph into an ONNX model carrying its ``GraphInfo`` under the metadata key ``vdeblur``."""
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about every shape check it freezes and about the exporter's deprecation; the
        # frozen checks only validate shapes, and the tests compare the exported graphs at other sizes.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            plan.module, plan.example, buffer, dynamo=False, opset_version=OPSET, input_names=plan.input_names,
            output_names=plan.output_names, dynamic_axes=plan.dynamic_axes, do_constant_folding=True,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(plan.info.to_dict(), sort_keys=True)
    return proto


def export_onnx(
    model: nn.Module, path: str | os.PathLike, height: int, width: int, streaming: bool = False
) -> list[Path]:
    """Export ``model`` to ONNX: ``path`` holds the window graph; ``streaming`` adds the encoder and decoder.

    Args:
        model: a deblurring model (put in eval mode here).
        path: the window graph's file; the halves go beside it as ``<stem>.encoder.onnx`` and
            ``<stem>.decoder.onnx``.
        height: example height, a multiple of the model's ``size_multiple``.
        width: example width, likewise.
        streaming: also export ``encode_frame`` and ``decode_window``.

    Returns:
        The files written, window graph first.

    Raises:
        UserError: a bad size, ``streaming`` without feature caching, or an unwritable path.
    """
    plans = plan_graphs(model.eval(), height, width, streaming)
    protos = [graph_to_onnx(plan) for plan in plans]  # all traced before anything is written
    written = []
    for plan, proto in zip(plans, protos, strict=True):
        target = part_path(path, plan.info.role)
        write_bytes(target, proto.SerializeToString())
        written.append(target)
    return written


def read_onnx_info(proto: onnx.ModelProto, path: str | os.PathLike) -> GraphInfo:
    """The ``GraphInfo`` stored in an exported ONNX model.

    Raises:
        UserError: the model was not exported by vdeblur.
    """
    for entry in proto.metadata_props:
        if entry.key == METADATA_KEY:
            return GraphInfo.from_dict(json.loads(entry.value))
    raise UserError(f"{path} is an ONNX model without vdeblur metadata; export it with `vdeblur export`.")
