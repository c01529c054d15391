"""Convolutional blocks: the residual dense block and the local (aligned) fusion of neighbour features."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ResidualDenseBlock(nn.Module):
    """L densely connected 3×3 convs, a 1×1 fusion back to the input width, and a local residual.

    Layer i sees the block input and the outputs of layers 0..i-1 concatenated and adds ``growth`` channels.

    Args:
        channels: input and output width.
        growth: channels each conv layer adds (g).
        num_layers: number of 3×3 conv layers (L).

    Shape:
        - x: ``(B, channels, H, W)``
        - output: same as x.
    """

    def __init__(self, channels: int, growth: int, num_layers: int) -> None:
        super().__init__()
        # Read by the fused inference copy (infer/fusion.py) to split the concatenations into their parts.
        self.channels = channels
        self.growth = growth
        self.layers = nn.ModuleList(
            nn.Conv2d(channels + i * growth, growth, kernel_size=3, padding=1) for i in range(num_layers)
        )
        self.fuse = nn.Conv2d(channels + num_layers * growth, channels, kernel_size=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block; see the class docstring for shapes."""
        features = [x]
        for layer in self.layers:
            # torch.cat copies even a single tensor, and these copies are the block's main cost on a CPU.
            stacked = torch.cat(features, dim=1) if len(features) > 1 else x
            features.append(self.act(layer(stacked)))
        return x + self.fuse(torch.cat(features, dim=1))


class LocalFusion(nn.Module):
    """Spatially aligned fusion: the T frames' features concatenated and mixed by convolutions.

    Factorized attention hands every reference pixel a mixture of *global* descriptors, so it cannot move a
    neighbour's detail to the same place in the reference frame (docs/DESIGN.md §3.1). This block can: within its
    receptive field (two 3×3 convs, ±2 positions at its scale) a neighbour's features at and around a pixel feed
    that pixel directly. It returns a correction to add to the reference features, or, given ``base``, the sum.

    Args:
        channels: feature width C of every frame.
        num_frames: T.

    Shape:
        - frames: T tensors ``(B, C, H, W)``, in time order.
        - base: optional ``(B, C, H, W)``, the features the correction is added to.
        - output: ``(B, C, H, W)``, the correction, or ``base`` plus the correction.
    """

    def __init__(self, channels: int, num_frames: int) -> None:
        super().__init__()
        # Read by the fused inference copy (infer/fusion.py) to split the frames' concatenation.
        self.channels = channels
        self.num_frames = num_frames
        self.mix = nn.Conv2d(num_frames * channels, channels, kernel_size=1)
        self.spread = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.refine = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, frames: Sequence[torch.Tensor], base: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the block; see the class docstring for shapes."""
        # Frame-major channels, as flatten(1, 2) of the stacked frames would give. Concatenating the frames
        # themselves copies them once and keeps their layout (channels-last stays channels-last).
        if isinstance(frames, torch.Tensor):  # list() of a tensor would split it along the batch
            raise TypeError("LocalFusion takes a sequence of T frames (B, C, H, W), not one tensor; use .unbind(1)")
        mixed = self.act(self.mix(torch.cat(list(frames), dim=1)))
        correction = self.refine(self.act(self.spread(mixed)))
        # Taking the sum here lets a fused inference copy add ``base`` inside the last convolution.
        return correction if base is None else base + correction


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of a ``(B, C, H, W)`` map, each pixel normalised on its own.

    The map is viewed as ``(B, H, W, C)``: for channels-last storage that view is contiguous, so torch's fused
    layer-norm kernel runs in place of the mean/variance arithmetic that NAFNet writes out by hand (which made
    its blocks 1.75× slower per step on a CPU here).

    Shape:
        - x: ``(B, C, H, W)``
        - output: same as x.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise every pixel's channel vector; see the class docstring for shapes."""
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class NAFBlock(nn.Module):
    """NAFNet's block (Chen et al., ECCV 2022) without its channel attention: two gated residual branches.

    Branch 1: LayerNorm, 1×1 conv to 2C, depthwise 3×3, SimpleGate (the two halves multiplied), 1×1 conv.
    Branch 2: LayerNorm, 1×1 conv to 2C, SimpleGate, 1×1 conv. Each branch is added with a learnt per-channel
    scale that starts at zero, so a new block is the identity and deep stacks train at high learning rates.

    NAFNet's simplified channel attention (a global average over the map) is left out on purpose: a global pool
    trained on crops and run on whole frames shifts its statistics (NAFNet's own TLC fix exists for that), and
    vdeblur runs on frames 5–15× larger than its training crops.

    Args:
        channels: input and output width C.
        expansion: the width of both branches before the gate, as a multiple of C.

    Shape:
        - x: ``(B, C, H, W)``
        - output: same as x.

    Example:
        >>> NAFBlock(16)(torch.rand(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(self, channels: int, expansion: int = 2) -> None:
        super().__init__()
        hidden = channels * expansion
        self.norm1 = ChannelLayerNorm(channels)
        self.expand = nn.Conv2d(channels, hidden, kernel_size=1)
        self.depthwise = nn.Conv2d(hidden, hidden, kernel_size=3, padding=1, groups=hidden)
        self.project = nn.Conv2d(hidden // 2, channels, kernel_size=1)
        self.norm2 = ChannelLayerNorm(channels)
        self.ffn_expand = nn.Conv2d(channels, hidden, kernel_size=1)
        self.ffn_project = nn.Conv2d(hidden // 2, channels, kernel_size=1)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    @staticmethod
    def _gate(x: torch.Tensor) -> torch.Tensor:
        first, second = x.chunk(2, dim=1)
        return first * second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block; see the class docstring for shapes."""
        y = self.project(self._gate(self.depthwise(self.expand(self.norm1(x)))))
        x = x + self.beta * y
        y = self.ffn_project(self._gate(self.ffn_expand(self.norm2(x))))
        return x + self.gamma * y


class NAFStack(nn.Sequential):
    """``num_blocks`` NAF blocks in a row: the per-level unit of a NAF-style STANet.

    Shape:
        - x: ``(B, C, H, W)``
        - output: same as x.
    """

    def __init__(self, channels: int, num_blocks: int) -> None:
        super().__init__(*(NAFBlock(channels) for _ in range(num_blocks)))
