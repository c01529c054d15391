"""Checking an export: run its graphs and the PyTorch model on the same random clip and compare."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from vdeblur.models.streaming import streams


def largest_difference(model: nn.Module, files: list[Path], fmt: str, height: int, width: int) -> float:
    """Largest absolute difference between ``model`` and its export on a random clip of ``height × width``.

    With the encoder and decoder exported too, their streamed result is compared as well; the larger
    difference is returned.

    Args:
        model: the exported model.
        files: the files ``export_model`` wrote, window graph first.
        fmt: ``onnx`` or ``torchscript``.
        height: clip height (a multiple of the model's ``size_multiple``).
        width: clip width.
    """
    frames = int(getattr(model, "num_frames", 1))
    clip = torch.rand(1, frames, 3, height, width, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model.eval()(clip)
        results = _run_onnx(files, clip) if fmt == "onnx" else _run_torchscript(files, clip)
    return max(float((out - expected).abs().max()) for out in results)


def _run_onnx(files: list[Path], clip: torch.Tensor) -> list[torch.Tensor]:
    from vdeblur.export.runtime import OnnxRuntimeModel

    runtime = OnnxRuntimeModel.load(files[0])
    results = [runtime(clip)]
    if streams(runtime):
        features = [runtime.encode_frame(clip[:, t]) for t in range(clip.shape[1])]
        results.append(runtime.decode_window(features, clip[:, clip.shape[1] // 2]))
    return results


def _run_torchscript(files: list[Path], clip: torch.Tensor) -> list[torch.Tensor]:
    from vdeblur.export.torchscript_export import load_torchscript

    window, _info = load_torchscript(files[0])
    results = [window(clip)]
    if len(files) == 3:
        encoder, decoder = load_torchscript(files[1])[0], load_torchscript(files[2])[0]
        leaves = [leaf for t in range(clip.shape[1]) for leaf in encoder(clip[:, t])]
        results.append(decoder(clip[:, clip.shape[1] // 2], *leaves))
    return results
