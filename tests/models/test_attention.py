"""Factorized attention against a direct loop implementation of docs/DESIGN.md §2 equations 1–6, and the non-local
block against its own loop reference (Wang et al. 2018)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vdeblur.models import FactorizedSTAttention, NonLocalBlock
from vdeblur.models.layers import stack_frames
from vdeblur.models.stanet import windowed_attention


def _randomise(module: torch.nn.Module) -> None:
    # Zero-initialised parts (W_o, W_z) would otherwise hide errors in everything behind them.
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0.0, 0.7)


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def _conv_at(weight: torch.Tensor, bias: torch.Tensor, image: torch.Tensor, out: int, h: int, w: int) -> float:
    """One output value of a zero-padded, stride-1 2D convolution with an odd square kernel."""
    half = weight.shape[-1] // 2
    total = float(bias[out])
    for c in range(image.shape[0]):
        for dy in range(-half, half + 1):
            for dx in range(-half, half + 1):
                y, x = h + dy, w + dx
                if 0 <= y < image.shape[1] and 0 <= x < image.shape[2]:
                    total += float(weight[out, c, dy + half, dx + half]) * float(image[c, y, x])
    return total


@torch.no_grad()
def loop_aggregate(block: FactorizedSTAttention, x: torch.Tensor, ref: int) -> torch.Tensor:
    """Equations 1–6 for one sample ``x`` of shape (T, C, H, W), written as plain loops."""
    frames, channels, height, width = x.shape
    m_count, n_count = block.num_spatial, block.num_temporal
    pixels = [(h, w) for h in range(height) for w in range(width)]
    # The learnt scale of spatial_temperature multiplies the spatial logits; 1 without it, as in the paper.
    scale = 1.0 if block.log_spatial_scale is None else math.exp(float(block.log_spatial_scale))
    # (1) spatial maps, softmax over all pixels of a frame; (2) spatial squeeze.
    g_s = [[[0.0] * channels for _ in range(m_count)] for _ in range(frames)]
    for t in range(frames):
        for m in range(m_count):
            a_s = _softmax([scale * _conv_at(block.f_s.weight, block.f_s.bias, x[t], m, h, w) for h, w in pixels])
            for c in range(channels):
                g_s[t][m][c] = sum(a * float(x[t, c, h, w]) for a, (h, w) in zip(a_s, pixels))
    # (3) temporal maps: Conv1d over T (kernel 3, zero padding 1) on the spatial means, softmax over T.
    means = [[float(x[t, c].mean()) for c in range(channels)] for t in range(frames)]
    a_t = []
    for n in range(n_count):
        logits = []
        for t in range(frames):
            total = float(block.f_t.bias[n])
            for k in range(3):
                source = t + k - 1
                if 0 <= source < frames:
                    total += sum(float(block.f_t.weight[n, c, k]) * means[source][c] for c in range(channels))
            logits.append(total)
        a_t.append(_softmax(logits))
    # (4) temporal squeeze into M·N descriptors, k = m·N + n.
    g_st = [[sum(g_s[t][m][c] * a_t[n][t] for t in range(frames)) for c in range(channels)]
            for m in range(m_count) for n in range(n_count)]
    # (5) pixel maps on the reference frame, softmax over the M·N descriptors; (6) distribution.
    y = torch.zeros(channels, height, width, dtype=torch.float64)
    for h, w in pixels:
        a_p = _softmax([_conv_at(block.f_p.weight, block.f_p.bias, x[ref], k, h, w) for k in range(len(g_st))])
        for c in range(channels):
            y[c, h, w] = sum(a_p[k] * g_st[k][c] for k in range(len(g_st)))
    return y


@pytest.fixture
def block() -> FactorizedSTAttention:
    block = FactorizedSTAttention(channels=3, num_spatial=2, num_temporal=3).double()
    _randomise(block)
    return block


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("ref", [0, 1, 2])
def test_aggregate_equals_loop_implementation_of_equations(
    block: FactorizedSTAttention, ref: int, channels_last: bool
) -> None:
    x = torch.randn(2, 3, 3, 3, 4, dtype=torch.float64)
    if channels_last:  # each frame NHWC, as the inference engine and the trainer hold features
        x = stack_frames([x[:, t].contiguous(memory_format=torch.channels_last) for t in range(x.shape[1])])
    got = block.aggregate(x, ref)
    for sample in range(x.shape[0]):
        expected = loop_aggregate(block, x[sample], ref)
        assert (got[sample] - expected).abs().max().item() <= 1e-9


def test_attention_maps_normalise_along_hw_t_and_mn(block: FactorizedSTAttention) -> None:
    x = torch.randn(2, 3, 3, 5, 4, dtype=torch.float64)
    a_s, a_t, a_p = block.attention_maps(x, ref=1)
    assert a_s.shape == (2, 3, 2, 20) and a_t.shape == (2, 3, 3) and a_p.shape == (2, 6, 20)
    for maps, dim in ((a_s, -1), (a_t, -1), (a_p, 1)):
        assert torch.allclose(maps.sum(dim=dim), torch.ones((), dtype=torch.float64), atol=1e-12)
        assert (maps > 0).all()


def test_new_gated_block_is_identity_on_reference_features() -> None:
    block = FactorizedSTAttention(channels=8, num_spatial=2, num_temporal=2)
    x = torch.randn(2, 5, 8, 6, 7)
    assert torch.equal(block(x, ref=2), x[:, 2])


def test_gated_output_matches_formula(block: FactorizedSTAttention) -> None:
    x = torch.randn(1, 3, 3, 4, 4, dtype=torch.float64)
    y = block.aggregate(x, 2)
    gate = torch.sigmoid(torch.nn.functional.conv2d(torch.cat([x[:, 2], y], 1), block.gate.weight, block.gate.bias))
    expected = x[:, 2] + gate * torch.nn.functional.conv2d(y, block.out.weight, block.out.bias)
    assert torch.allclose(block(x, 2), expected, atol=1e-12)


def test_normalised_attention_is_the_equations_on_layer_normalised_features() -> None:
    block = FactorizedSTAttention(channels=3, num_spatial=2, num_temporal=3, normalize=True).double()
    _randomise(block)  # the LayerNorm's scale and shift too
    x = torch.randn(1, 3, 3, 3, 4, dtype=torch.float64)
    norm = block.norm.norm
    normalised = torch.empty_like(x)
    for t in range(3):
        for h in range(3):
            for w in range(4):
                values = [float(v) for v in x[0, t, :, h, w]]
                mean = sum(values) / 3
                variance = sum((v - mean) ** 2 for v in values) / 3
                for c in range(3):
                    scaled = (values[c] - mean) / math.sqrt(variance + norm.eps)
                    normalised[0, t, c, h, w] = scaled * float(norm.weight[c]) + float(norm.bias[c])
    y = block.aggregate(x, 1)
    assert (y[0] - loop_aggregate(block, normalised[0], 1)).abs().max().item() <= 1e-9
    # The gate and the residual take the raw reference features.
    gate = torch.sigmoid(F.conv2d(torch.cat([x[:, 1], y], 1), block.gate.weight, block.gate.bias))
    assert torch.allclose(block(x, 1), x[:, 1] + gate * F.conv2d(y, block.out.weight, block.out.bias), atol=1e-12)
    # So the maps no longer depend on the features' scale, which in the shipped weights kept them uniform.
    # (LayerNorm's eps aside, which matters a little for a pixel of 3 nearly equal channels).
    for small, full in zip(block.attention_maps(0.1 * x, 1), block.attention_maps(x, 1)):
        assert torch.allclose(small, full, atol=1e-3)
    plain = FactorizedSTAttention(channels=3, num_spatial=2, num_temporal=3).double()
    plain.load_state_dict({k: v for k, v in block.state_dict().items() if not k.startswith("norm.")})
    assert not torch.allclose(plain.attention_maps(0.1 * x, 1)[0], plain.attention_maps(x, 1)[0], atol=1e-2)


def test_spatial_temperature_scales_the_spatial_logits_by_a_learnt_factor() -> None:
    block = FactorizedSTAttention(channels=3, num_spatial=2, num_temporal=3, spatial_temperature=4.0).double()
    _randomise(block)
    with torch.no_grad():
        block.log_spatial_scale.fill_(math.log(6.0))  # any learnt value, not only the starting one
    x = torch.randn(1, 3, 3, 3, 4, dtype=torch.float64)
    assert (block.aggregate(x, 1)[0] - loop_aggregate(block, x[0], 1)).abs().max().item() <= 1e-9
    # Only the spatial maps change: the temporal and pixel maps are those of the block without the scale.
    plain = FactorizedSTAttention(channels=3, num_spatial=2, num_temporal=3).double()
    plain.load_state_dict({k: v for k, v in block.state_dict().items() if k != "log_spatial_scale"})
    scaled_maps, plain_maps = block.attention_maps(x, 1), plain.attention_maps(x, 1)
    assert not torch.allclose(scaled_maps[0], plain_maps[0])
    assert torch.equal(scaled_maps[1], plain_maps[1]) and torch.equal(scaled_maps[2], plain_maps[2])
    # The scale is trained: the loss reaches it through the spatial maps.
    block.aggregate(x, 1).square().sum().backward()
    assert block.log_spatial_scale.grad is not None and block.log_spatial_scale.grad.abs().item() > 0
    new = FactorizedSTAttention(channels=3, num_spatial=2, num_temporal=3, spatial_temperature=4.0)
    assert new.log_spatial_scale.exp().item() == pytest.approx(4.0)


@torch.no_grad()
def loop_non_local(block: NonLocalBlock, x: torch.Tensor, ref: int) -> torch.Tensor:
    """Embedded-Gaussian non-local response at the reference frame, for one sample (T, C, H, W)."""
    frames, channels, height, width = x.shape
    positions = [(t, h, w) for t in range(frames) for h in range(height) for w in range(width)]

    def embed(conv: torch.nn.Conv2d, t: int, h: int, w: int) -> list[float]:
        return [_conv_at(conv.weight, conv.bias, x[t], o, h, w) for o in range(conv.out_channels)]

    phi = [embed(block.phi, *p) for p in positions]
    g = [embed(block.g, *p) for p in positions]
    out = x[ref].clone()
    for h in range(height):
        for w in range(width):
            theta = embed(block.theta, ref, h, w)
            weights = _softmax([sum(a * b for a, b in zip(theta, key)) for key in phi])
            y = [sum(wt * value[i] for wt, value in zip(weights, g)) for i in range(len(theta))]
            for c in range(channels):
                out[c, h, w] += float(block.out.bias[c]) + sum(float(block.out.weight[c, i, 0, 0]) * y[i]
                                                              for i in range(len(y)))
    return out


@pytest.mark.parametrize("reference_only", [False, True])
def test_non_local_equals_loop_reference(reference_only: bool) -> None:
    block = NonLocalBlock(channels=4, inner_channels=3, reference_only=reference_only).double()
    _randomise(block)
    x = torch.randn(2, 3, 4, 2, 3, dtype=torch.float64)
    got = block(x, ref=1)
    for sample in range(2):
        assert (got[sample] - loop_non_local(block, x[sample], 1)).abs().max().item() <= 1e-9


def test_new_non_local_block_is_identity_on_reference_features() -> None:
    x = torch.randn(1, 3, 8, 4, 4)
    assert torch.equal(NonLocalBlock(8)(x, ref=1), x[:, 1])


@pytest.mark.parametrize("shape", [(1, 3, 5, 4, 4), (1, 3, 4, 4)])
def test_attention_rejects_features_of_the_wrong_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"expected features of shape \(B, T, C=4, H, W\)"):
        FactorizedSTAttention(4, 2, 2)(torch.randn(*shape), ref=1)


@torch.no_grad()
@pytest.mark.parametrize("size", [(8, 12), (7, 10)], ids=["tiles fit", "edge padded"])
def test_windowed_attention_equals_attention_on_each_tile_in_a_loop(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    block = FactorizedSTAttention(6, num_spatial=2, num_temporal=3)
    nn.init.normal_(block.out.weight)  # a new block is the identity on x_R; make y_R visible
    x = torch.rand(2, 3, 6, *size)
    window = 4
    height, width = size
    # The reference: replicate-pad to whole tiles, then one attention call per tile.
    padded = F.pad(x.flatten(0, 1), (0, -width % window, 0, -height % window), mode="replicate")
    padded = padded.unflatten(0, (2, 3))
    expected = torch.zeros(2, 6, padded.shape[-2], padded.shape[-1])
    for top in range(0, padded.shape[-2], window):
        for left in range(0, padded.shape[-1], window):
            tile = padded[..., top : top + window, left : left + window]
            expected[..., top : top + window, left : left + window] = block(tile, ref=1)
    got = windowed_attention(block, x, ref=1, window=window)
    torch.testing.assert_close(got, expected[..., :height, :width], rtol=1e-5, atol=1e-6)
