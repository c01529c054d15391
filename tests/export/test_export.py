"""Exported graphs compute what the PyTorch model computes, at sizes other than the one traced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from vdeblur.export import export_model
from vdeblur.export.graphs import DECODER, ENCODER, part_path
from vdeblur.export.runtime import OnnxRuntimeModel
from vdeblur.export.torchscript_export import load_torchscript
from vdeblur.infer.engine import WindowEngine
from vdeblur.models import create_model, streams

MODELS = ("sta-cpu", "single-frame", "dblrnet-cpu")
TOLERANCE = 1e-4
TRACE_H, TRACE_W = 16, 24  # the example size for tracing
TEST_H, TEST_W = 24, 40  # another multiple of 8, so the tests see free height and width axes


def perturbed_model(name: str) -> torch.nn.Module:
    """The preset with every parameter perturbed, so zero-initialised output convs are not the identity."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model


@pytest.fixture(scope="module", params=MODELS)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    model = perturbed_model(request.param)
    folder = tmp_path_factory.mktemp(request.param)
    onnx_files = export_model(model, folder / "m.onnx", "onnx", TRACE_H, TRACE_W, streaming=streams(model))
    script_files = export_model(model, folder / "m.pt", "torchscript", TRACE_H, TRACE_W, streaming=streams(model))
    clip = torch.rand(2, model.num_frames, 3, TEST_H, TEST_W, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = model(clip)
    return dict(model=model, onnx=onnx_files, script=script_files, clip=clip, expected=expected)


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.slow
def test_onnx_runtime_matches_pytorch(exported: dict) -> None:
    clip, expected, model = exported["clip"], exported["expected"], exported["model"]
    (window_out,) = _session(exported["onnx"][0]).run(None, {"clip": clip.numpy()})
    np.testing.assert_allclose(window_out, expected.numpy(), atol=TOLERANCE, rtol=0)
    if not streams(model):
        assert len(exported["onnx"]) == 1
        return
    encoder, decoder = _session(exported["onnx"][1]), _session(exported["onnx"][2])
    leaves = [encoder.run(None, {"frame": clip[:, t].numpy()}) for t in range(model.num_frames)]
    feed = {"reference": clip[:, model.num_frames // 2].numpy()}
    feed |= {f"frame{t}_features_{i}": leaf for t, frame in enumerate(leaves) for i, leaf in enumerate(frame)}
    wanted = {node.name for node in decoder.get_inputs()}
    (streamed,) = decoder.run(None, {name: value for name, value in feed.items() if name in wanted})
    np.testing.assert_allclose(streamed, expected.numpy(), atol=TOLERANCE, rtol=0)


@pytest.mark.slow
def test_torchscript_matches_pytorch(exported: dict) -> None:
    clip, expected, model = exported["clip"], exported["expected"], exported["model"]
    window, info = load_torchscript(exported["script"][0])
    assert info.model == model.model_name and info.num_frames == model.num_frames
    with torch.no_grad():
        torch.testing.assert_close(window(clip), expected, atol=TOLERANCE, rtol=0)
        if streams(model):
            encoder, decoder = load_torchscript(exported["script"][1])[0], load_torchscript(exported["script"][2])[0]
            leaves = [leaf for t in range(model.num_frames) for leaf in encoder(clip[:, t])]
            streamed = decoder(clip[:, model.num_frames // 2], *leaves)
            torch.testing.assert_close(streamed, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.slow
def test_onnx_files_carry_model_metadata(exported: dict) -> None:
    model = exported["model"]
    proto = onnx.load(str(exported["onnx"][0]))
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert f'"model": "{model.model_name}"' in metadata["vdeblur"]
    if streams(model):
        window = exported["onnx"][0]
        assert exported["onnx"][1:] == [part_path(window, ENCODER), part_path(window, DECODER)]


@pytest.mark.slow
def test_onnx_runtime_model_streams_like_torch_engine(exported: dict) -> None:
    """The backend pads odd sizes and caches features as the torch engine does; the outputs agree."""
    model = exported["model"]
    runtime = OnnxRuntimeModel.load(exported["onnx"][0])
    assert runtime.supports_feature_cache == streams(model)
    generator = torch.Generator().manual_seed(5)
    frames = [torch.rand(3, 21, 35, generator=generator) for _ in range(model.num_frames + 2)]
    # Noise frames would all be scene cuts, and every window one repeated frame.
    torch_out = list(WindowEngine(model, torch.device("cpu"), tile=0, scene_cuts=False).run(frames))
    runtime_out = list(WindowEngine(runtime, torch.device("cpu"), tile=0, scene_cuts=False).run(frames))
    assert len(runtime_out) == len(frames)
    for a, b in zip(runtime_out, torch_out, strict=True):
        torch.testing.assert_close(a, b, atol=TOLERANCE, rtol=0)
