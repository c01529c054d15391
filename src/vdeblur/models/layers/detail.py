"""A refinement branch at full (or half) resolution after a decoder that works at a coarser scale."""

from __future__ import annotations

import torch
from torch import nn


class ResidualConvBlock(nn.Module):
    """Two dense 3×3 convs with a ReLU between them and a residual: plain, and fast on a CPU at small widths.

    Shape:
        - x: ``(B, channels, H, W)``
        - output: same as x.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block; see the class docstring for shapes."""
        return x + self.conv2(self.act(self.conv1(x)))


class DetailBranch(nn.Module):
    """Refine a restored frame at a finer scale than the decoder's finest level.

    With a ×4 pixel-unshuffle the decoder's finest level is at 1/4 scale, and every full-resolution value comes
    out of one 3×3 conv and a pixel-shuffle; the bands that blur attenuates most (1/16–1/4 cycles per pixel) are
    the ones such models restore least (BENCHMARKS.md, "Where the gain lies"). This branch sees the blurry frame
    and the decoder's output at ``1 / scale`` of full resolution, together with the decoder's last features
    lifted there, and adds a correction. Its last conv starts at zero, so a model grown by this branch from
    trained weights starts out computing exactly what those weights did.

    Args:
        features: width of the decoder's finest level.
        width: the branch's channels.
        num_blocks: residual blocks in the branch.
        scale: the branch runs at ``1 / scale`` of full resolution (a divisor of ``coarse_scale``; 1 is full).
        coarse_scale: the scale divisor of the decoder's finest level (the model's pixel-unshuffle).

    Shape:
        - decoded: ``(B, features, H / coarse_scale, W / coarse_scale)``
        - blurry, restored: ``(B, 3, H, W)``
        - output: ``(B, 3, H, W)``, ``restored`` plus the correction.
    """

    def __init__(self, features: int, width: int, num_blocks: int, scale: int, coarse_scale: int) -> None:
        super().__init__()
        if scale < 1 or coarse_scale % scale:
            raise ValueError(f"the detail branch's scale ({scale}) must divide the model's unshuffle ({coarse_scale})")
        lift = coarse_scale // scale
        self.down = nn.PixelUnshuffle(scale)
        self.lift = nn.Sequential(nn.Conv2d(features, width * lift**2, kernel_size=1), nn.PixelShuffle(lift))
        self.embed = nn.Conv2d(6 * scale**2, width, kernel_size=3, padding=1)
        self.blocks = nn.Sequential(*(ResidualConvBlock(width) for _ in range(num_blocks)))
        self.out = nn.Sequential(nn.Conv2d(width, 3 * scale**2, kernel_size=3, padding=1), nn.PixelShuffle(scale))
        nn.init.zeros_(self.out[0].weight)
        nn.init.zeros_(self.out[0].bias)

    def forward(self, decoded: torch.Tensor, blurry: torch.Tensor, restored: torch.Tensor) -> torch.Tensor:
        """Refined frame; see the class docstring for shapes."""
        x = self.lift(decoded) + self.embed(self.down(torch.cat([blurry, restored], dim=1)))
        return restored + self.out(self.blocks(x))
