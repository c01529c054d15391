"""The ONNX Runtime backend gives the torch backend's outputs; it runs on the CPU in float32 only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .conftest import tiny_model
from vdeblur.cli import main
from vdeblur.errors import UserError
from vdeblur.infer.deblurrer import Deblurrer

pytest.importorskip("onnxruntime")


def test_onnxruntime_backend_agrees_with_torch_on_a_clip_and_a_stream() -> None:
    torch.manual_seed(1)
    frames = [torch.rand(3, 45, 67) for _ in range(5)]  # odd size: both pad and crop back
    # Noise frames would all be scene cuts, and every window one repeated frame.
    by_torch = Deblurrer(tiny_model(), device="cpu", precision="fp32", scene_cuts=False)
    by_onnx = Deblurrer(tiny_model(), device="auto", backend="onnxruntime", scene_cuts=False)
    assert by_onnx.device.type == "cpu" and by_onnx.engine.dtype is None
    assert by_onnx.engine.cache_features  # the stream goes through the exported encoder and decoder graphs
    for a, b in zip(by_torch.deblur_frames(frames), by_onnx.deblur_frames(frames), strict=True):
        torch.testing.assert_close(b, a, atol=1e-4, rtol=0)
    clip = torch.stack(frames[:3])[None]  # the window graph
    torch.testing.assert_close(by_onnx.deblur_clip(clip), by_torch.deblur_clip(clip), atol=1e-4, rtol=0)


def test_onnxruntime_backend_refuses_bf16_and_unknown_backends(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    with pytest.raises(UserError, match="Unknown backend"):
        Deblurrer(tiny_model(), device="cpu", backend="tensorrt")
    args = ["deblur", str(tmp_path), "-o", str(tmp_path / "o"), "--model", str(tiny_weights), "--quiet"]
    (tmp_path / "f.png").write_bytes(b"")  # never read: the backend is refused first
    assert main([*args, "--backend", "onnxruntime", "--bf16"]) == 2
    assert "float32 only" in capsys.readouterr().err
