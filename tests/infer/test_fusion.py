"""oneDNN-fused inference blocks: the same function as the plain model, with the fusions really taking place."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vdeblur.infer.engine import WindowEngine
from vdeblur.infer.fusion import (
    FusedLocalFusion,
    FusedResidualConvBlock,
    FusedResidualDenseBlock,
    fuse_for_cpu_inference,
    fusion_available,
)
from vdeblur.models import create_model
from vdeblur.models.layers import LocalFusion, ResidualDenseBlock

CPU = torch.device("cpu")
pytestmark = pytest.mark.skipif(not fusion_available(CPU, None), reason="this torch build has no oneDNN fusion ops")


class _OpCounter(TorchDispatchMode):
    """Counts the operators that reach the dispatcher (oneDNN's fused convolutions included)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.aten_conv_dims: Counter[int] = Counter()  # aten convolutions by weight rank (4: 2-D)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        name = func.overloadpacket.__name__
        self.calls[name] += 1
        if name == "convolution":
            self.aten_conv_dims[args[1].dim()] += 1
        return func(*args, **(kwargs or {}))


def _model() -> torch.nn.Module:
    """A small STANet with every fusable block: three-layer dense blocks, local fusion at two levels, a detail
    branch at half resolution, Fourier branches at two levels."""
    torch.manual_seed(0)
    model = create_model(
        "sta-wide", width=(8, 8, 16), growth=(4, 6, 4), num_layers=3, num_spatial=2, num_temporal=2,
        num_frames=3, local_fusion_levels=(0, 1), detail_width=4, detail_scale=2, fourier_levels=(0, 2),
    ).eval()
    with torch.no_grad():  # non-zero biases, so that a bias added twice (or never) would show
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.uniform_(-0.2, 0.2)
        model.detail.out[0].weight.normal_(0.0, 0.1)  # zero when new: the branch would add only its bias
        for branch in [*model.encoder_fourier.values(), *model.decoder_fourier.values()]:
            branch.mix2.weight.normal_(0.0, 0.1)
    return model


def test_fused_copy_computes_the_models_function_in_float32() -> None:
    model = _model()
    before = {name: p.clone() for name, p in model.state_dict().items()}
    fused = fuse_for_cpu_inference(model, None)
    assert any(isinstance(m, FusedResidualDenseBlock) for m in fused.modules())
    assert any(isinstance(m, FusedLocalFusion) for m in fused.modules())
    assert any(isinstance(m, FusedResidualConvBlock) for m in fused.modules())
    # The model given is untouched: same block types, same weights.
    assert not any(isinstance(m, (FusedResidualDenseBlock, FusedLocalFusion)) for m in model.modules())
    assert all(torch.equal(before[name], p) for name, p in model.state_dict().items())
    clip = torch.rand(1, 3, 3, 48, 80)
    with torch.no_grad():
        torch.testing.assert_close(fused(clip), model(clip), atol=1e-5, rtol=1e-5)
        frames = [model.encode_frame(clip[:, t]) for t in range(3)]
        fused_frames = [fused.encode_frame(clip[:, t]) for t in range(3)]
        for ours, theirs in zip(fused_frames, frames, strict=True):
            for a, b in zip(ours, theirs, strict=True):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fused.decode_window(fused_frames, clip[:, 1]),
                                   model.decode_window(frames, clip[:, 1]), atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not fusion_available(CPU, torch.bfloat16), reason="oneDNN has no bf16 on this CPU")
def test_fused_bf16_block_stays_within_bf16_rounding() -> None:
    torch.manual_seed(1)
    block = ResidualDenseBlock(channels=32, growth=16, num_layers=3).eval()
    x = torch.randn(1, 32, 24, 40).to(torch.bfloat16)
    fused = FusedResidualDenseBlock(block, torch.bfloat16)
    with torch.no_grad():
        exact = block.double()(x.double())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            plain = block.float()(x)
            ours = fused(x)
        # Where a model turns autocast off, the fused block computes in float32 like the plain one.
        torch.testing.assert_close(fused(x.float()), block(x.float()), atol=1e-5, rtol=1e-5)
    assert ours.dtype == torch.bfloat16
    # Both round to bf16 along the way; the fused chain is no further from the exact block than autocast is.
    plain_error = (plain.double() - exact).abs().mean().item()
    fused_error = (ours.double() - exact).abs().mean().item()
    assert fused_error < 1.5 * plain_error


@pytest.mark.parametrize("size", [(16, 16), (180, 320)], ids=["small", "large"])
def test_fused_blocks_run_as_onednn_calls_without_the_concatenations(size: tuple[int, int]) -> None:
    torch.manual_seed(2)
    block = ResidualDenseBlock(channels=8, growth=4, num_layers=3).eval()
    local = LocalFusion(channels=8, num_frames=3).eval()
    x = torch.rand(1, 8, *size)
    frames = [torch.rand(1, 8, *size) for _ in range(3)]
    counts, outputs = {}, {}
    for name, (b, lf) in {
        "plain": (block, local), "fused": (FusedResidualDenseBlock(block, torch.float32),
                                           FusedLocalFusion(local, torch.float32)),
    }.items():
        with torch.no_grad(), _OpCounter() as counter:
            outputs[name] = (b(x), lf(frames, base=x))
        counts[name] = counter.calls
    for ours, theirs in zip(outputs["fused"], outputs["plain"], strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    # Plain: a concatenation before each of layers 2 and 3 and the 1×1 fusion, one of the frames; separate ReLUs
    # (3 + 2) and additions (2). Fused: no ReLUs or additions of their own, and no concatenations before the 3×3
    # layers; the 1×1 convolutions (block fusion, local mix) concatenate on small maps and chain on large ones.
    assert counts["plain"]["cat"] == 4 and counts["plain"]["relu_"] == 5 and counts["plain"]["add"] == 2
    assert counts["fused"]["relu_"] == counts["fused"]["relu"] == counts["fused"]["add"] == 0
    assert counts["fused"]["convolution"] == 0
    chained = size[0] * size[1] >= 320 * 180
    assert counts["fused"]["cat"] == (0 if chained else 2)
    # Layer i is a chain of i + 1 calls (1 + 2 + 3); the block's fusion 4 calls or 1, the mix 3 or 1; then
    # spread and refine.
    assert counts["fused"]["_convolution_pointwise"] == 6 + (4 + 3 if chained else 2) + 2


def test_fused_blocks_refuse_gradients() -> None:
    fused = FusedResidualDenseBlock(ResidualDenseBlock(channels=4, growth=2, num_layers=2), torch.float32)
    with pytest.raises(RuntimeError, match="no_grad"):
        fused(torch.rand(1, 4, 8, 8))


@pytest.mark.skipif(not fusion_available(CPU, torch.bfloat16), reason="oneDNN has no bf16 on this CPU")
def test_fused_bf16_engine_with_tiles_of_several_shapes_matches_the_plain_one() -> None:
    model = _model()
    frames = [torch.rand(3, 200, 300) for _ in range(3)]
    outputs = {}
    smallest = WindowEngine(model, CPU, tile=0, fuse=False).smallest_tile
    for fuse in (False, True):  # the smallest tiles the model accepts (with their context): several shapes
        engine = WindowEngine(model, CPU, dtype=torch.bfloat16, tile=smallest, fuse=fuse, scene_cuts=False)
        assert len({(t.height, t.width) for t in engine.plan(200, 300).tiles.tiles}) > 2
        outputs[fuse] = torch.stack(list(engine.run(frames)))
    difference = (outputs[True] - outputs[False]).abs()
    assert difference.mean().item() < 2e-3 and difference.max().item() < 0.05


def test_engine_falls_back_to_the_plain_model_when_it_cannot_be_copied() -> None:
    model = _model()
    model.lock = threading.Lock()  # deepcopy cannot copy a lock
    with pytest.warns(RuntimeWarning, match="plain model"):
        engine = WindowEngine(model, CPU, tile=0)
    assert not engine.fused
    with pytest.raises(TypeError):
        WindowEngine(model, CPU, tile=0, fuse=True)
    with pytest.raises(ValueError, match="exclude"):
        WindowEngine(_model(), CPU, tile=0, fuse=True, compile=True)


def test_blocks_with_hooks_stay_plain_and_their_hooks_run() -> None:
    model = _model()
    calls = []
    model.encoder_blocks[0].layers[1].register_forward_hook(lambda *_: calls.append(1))
    fused = fuse_for_cpu_inference(model, None)
    assert isinstance(fused.encoder_blocks[0], ResidualDenseBlock)  # kept, with its hooked convolution
    assert isinstance(fused.encoder_blocks[1], FusedResidualDenseBlock)
    clip = torch.rand(1, 3, 3, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(fused(clip), model(clip), atol=1e-5, rtol=1e-5)
    assert len(calls) == 2  # once in each model


def test_the_cpu_engine_streams_through_the_fused_copy_by_default() -> None:
    model = _model()
    frames = [torch.rand(3, 40, 72) for _ in range(4)]
    default = WindowEngine(model, CPU, tile=0, scene_cuts=False)  # noise frames would all be scene cuts
    plain = WindowEngine(model, CPU, tile=0, fuse=False, scene_cuts=False)
    assert default.fused and not plain.fused
    assert not WindowEngine(model, CPU, tile=0, compile=True).fused  # Inductor fuses the plain graph itself
    assert isinstance(default.model.encoder_blocks[0], ResidualDenseBlock)  # probes still see the model's modules
    with _OpCounter() as counter:
        outputs = list(default.run(frames))
    assert counter.calls["_convolution_pointwise"] > 0
    # Every 2-D convolution went to oneDNN; only the attention's temporal Conv1d is left to aten.
    assert counter.aten_conv_dims[4] == 0 and counter.aten_conv_dims[3] > 0
    for a, b in zip(outputs, plain.run(frames), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
