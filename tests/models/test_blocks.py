"""The NAFNet and Fourier building blocks against direct implementations of their formulas."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vdeblur.models.layers import ChannelLayerNorm, FourierBranch, NAFBlock


@torch.no_grad()
def test_channel_layer_norm_normalises_each_pixel_like_a_loop() -> None:
    torch.manual_seed(0)
    norm = ChannelLayerNorm(5)
    nn.init.normal_(norm.norm.weight)
    nn.init.normal_(norm.norm.bias)
    x = torch.randn(2, 5, 3, 4).contiguous(memory_format=torch.channels_last) * 3 + 1
    expected = torch.empty_like(x)
    for b in range(2):
        for i in range(3):
            for j in range(4):
                v = x[b, :, i, j].double()
                normalised = (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + 1e-6)
                expected[b, :, i, j] = (normalised * norm.norm.weight.double() + norm.norm.bias.double()).float()
    torch.testing.assert_close(norm(x), expected, rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_naf_block_is_the_identity_when_new_and_follows_its_formula_when_trained() -> None:
    torch.manual_seed(0)
    block = NAFBlock(4)
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(block(x), x)  # residual scales start at zero
    for parameter in (block.beta, block.gamma):
        nn.init.normal_(parameter)

    def gate(t: torch.Tensor) -> torch.Tensor:
        return t[:, :4] * t[:, 4:]

    def layer_norm(t: torch.Tensor, norm: ChannelLayerNorm) -> torch.Tensor:
        mean = t.mean(dim=1, keepdim=True)
        var = t.var(dim=1, unbiased=False, keepdim=True)
        weight, bias = norm.norm.weight.view(1, -1, 1, 1), norm.norm.bias.view(1, -1, 1, 1)
        return (t - mean) / torch.sqrt(var + 1e-6) * weight + bias

    y = x + block.beta * block.project(gate(block.depthwise(block.expand(layer_norm(x, block.norm1)))))
    expected = y + block.gamma * block.ffn_project(gate(block.ffn_expand(layer_norm(y, block.norm2))))
    torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_fourier_branch_adds_nothing_when_new_and_mixes_each_frequency_like_numpy_when_trained() -> None:
    torch.manual_seed(0)
    branch = FourierBranch(3)
    x = torch.randn(2, 3, 6, 7)  # an odd width: the inverse transform must restore it
    assert not branch(x).any()
    nn.init.normal_(branch.mix2.weight, std=0.3)
    # numpy's FFT, float64 and the 1×1 convolutions as matrix products over channels: an independent reference.
    spectrum = np.fft.rfft2(x.double().numpy(), norm="ortho")
    parts = np.concatenate([spectrum.real, spectrum.imag], axis=1)

    def mix(conv: nn.Conv2d, v: np.ndarray) -> np.ndarray:
        return np.einsum("oc,bchw->bohw", conv.weight[:, :, 0, 0].double().numpy(), v)

    hidden = np.maximum(mix(branch.mix1, parts), 0.0)
    mixed = mix(branch.mix2, hidden - hidden.mean(axis=(2, 3), keepdims=True))
    expected = np.fft.irfft2(mixed[:, :3] + 1j * mixed[:, 3:], s=(6, 7), norm="ortho")
    torch.testing.assert_close(branch(x), torch.from_numpy(expected).float(), rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_fourier_branch_output_does_not_grow_with_the_map() -> None:
    # A value common to every frequency bin inverts to a spike at pixel (0, 0) of height ∝ √(H·W); crops in
    # training and whole frames at inference would then see different outputs.
    torch.manual_seed(0)
    branch = FourierBranch(4)
    nn.init.normal_(branch.mix2.weight, std=0.3)
    assert not branch(torch.zeros(1, 4, 64, 64)).any()
    peaks = [branch(torch.randn(1, 4, size, size)).abs().max().item() for size in (16, 64, 256)]
    assert max(peaks) < 2 * min(peaks), peaks
