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
