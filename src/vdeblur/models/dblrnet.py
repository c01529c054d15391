"""DBLRNet (3D convolutions, then 2D residual blocks) and the DBLRGAN discriminator (docs/DESIGN.md §4)."""

from __future__ import annotations

import contextlib

from collections.abc import Sequence

import torch
from torch import nn

from vdeblur.errors import ConfigError
from vdeblur.models.layers import check_clip, check_frame, check_sizes

# Full-range BT.601 (JPEG) RGB -> YCbCr with Cb, Cr centred on 0.5; the inverse is exact up to rounding.
_RGB_TO_YCBCR = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168735892, -0.331264108, 0.5], [0.5, -0.418687589, -0.081312411]]
)
_CHROMA_OFFSET = torch.tensor([0.0, 0.5, 0.5])


def rgb_to_ycbcr(image: torch.Tensor) -> torch.Tensor:
    """Full-range BT.601 YCbCr of an RGB image in [0, 1]; channels on dim -3."""
    matrix = _RGB_TO_YCBCR.to(image)
    return torch.einsum("ij,...jhw->...ihw", matrix, image) + _CHROMA_OFFSET.to(image)[:, None, None]


def ycbcr_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr`."""
    matrix = torch.linalg.inv(_RGB_TO_YCBCR.double()).to(image)
    return torch.einsum("ij,...jhw->...ihw", matrix, image - _CHROMA_OFFSET.to(image)[:, None, None])


class ResidualBlock(nn.Module):
    """conv3×3 – BN – ReLU – conv3×3 – BN, plus the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + body(x)``, same shape as x."""
        return x + self.body(x)


class DBLRNet(nn.Module):
    """DBLRNet: two 3D convolutions collapse 5 frames to one feature map, then 2D residual blocks.

    Args:
        color: ``"rgb"`` restores the three channels; ``"y"`` restores luma only (as in the paper) and
            re-attaches the centre frame's Cb and Cr.
        spatio_temporal_channels: width of the first Conv3d (16 in the paper).
        channels: width of the second Conv3d and of the residual blocks (64).
        num_blocks: residual blocks (15).
        head_channels: width of the two convs before the output conv (256).
        global_residual: add the blurry centre frame to the output (not in the paper).

    Shape:
        - clip: ``(B, 5, 3, H, W)``, any H and W.
        - output: ``(B, 3, H, W)``.

    Example:
        >>> DBLRNet(num_blocks=1, channels=8, head_channels=8)(torch.rand(1, 5, 3, 9, 11)).shape
        torch.Size([1, 3, 9, 11])
    """

    num_frames = 5
    size_multiple = 1  # no downsampling: any H and W as they are
    supports_feature_cache = False

    def __init__(
        self,
        color: str = "rgb",
        spatio_temporal_channels: int = 16,
        channels: int = 64,
        num_blocks: int = 15,
        head_channels: int = 256,
        global_residual: bool = False,
    ) -> None:
        super().__init__()
        if color not in ("rgb", "y"):
            raise ConfigError(f"color must be 'rgb' or 'y', got {color!r}")
        check_sizes(spatio_temporal_channels=spatio_temporal_channels, channels=channels, head_channels=head_channels)
        check_sizes(minimum=0, num_blocks=num_blocks)
        self.color = color
        self.global_residual = global_residual
        planes = 3 if color == "rgb" else 1
        # Padding (0, 1, 1): no padding in time, so T goes 5 -> 3 -> 1.
        self.conv3d_1 = nn.Conv3d(planes, spatio_temporal_channels, 3, padding=(0, 1, 1))
        self.conv3d_2 = nn.Conv3d(spatio_temporal_channels, channels, 3, padding=(0, 1, 1))
        self.act = nn.ReLU(inplace=True)
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(num_blocks)))
        self.head = nn.Sequential(
            nn.Conv2d(channels, head_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_channels, head_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_channels, planes, 3, padding=1),
        )

    def restore(self, planes: torch.Tensor) -> torch.Tensor:
        """The network on its working planes: ``(B, 5, P, H, W)`` -> ``(B, P, H, W)``, P = 3 (RGB) or 1 (Y)."""
        with _float32_conv3d_on_cpu(planes):
            x = self.act(self.conv3d_1(planes.transpose(1, 2).float()))  # Conv3d wants (B, P, T, H, W)
            x = self.act(self.conv3d_2(x)).squeeze(2)
        out = self.head(self.blocks(x) + x)
        if self.global_residual:
            out = out + planes[:, self.num_frames // 2]
        return out

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Restore the centre frame; see the class docstring for shapes."""
        check_clip(clip, self.num_frames)
        if self.color == "rgb":
            return self.restore(clip)
        ycbcr = rgb_to_ycbcr(clip)
        luma = self.restore(ycbcr[:, :, :1])
        chroma = ycbcr[:, self.num_frames // 2, 1:]
        return ycbcr_to_rgb(torch.cat([luma, chroma], dim=1))


def _float32_conv3d_on_cpu(x: torch.Tensor) -> contextlib.AbstractContextManager:
    """Turn CPU autocast off around the 3-D convolutions.

    In torch 2.13, oneDNN's bfloat16 Conv3d backward aborts the whole process on CPU ("double free or
    corruption", seen with 128×128 training patches). The two 3-D convolutions are a small share of DBLRNet's
    cost, so on CPU they run in float32 even under autocast; other devices are left alone.
    """
    if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        return torch.autocast("cpu", enabled=False)
    return contextlib.nullcontext()


class DBLRGANDiscriminator(nn.Module):
    """VGG-style discriminator: conv–BN–LeakyReLU stages, stride 2 at each width change, pooling, 2 linears.

    Args:
        widths: stage widths; the conv that changes the width has stride 2.
        hidden: width of the first linear layer.

    Shape:
        - frame: ``(B, 3, H, W)``
        - output: ``(B,)`` logits (higher = judged sharp/real).
    """

    def __init__(self, widths: Sequence[int] = (64, 128, 256, 512), hidden: int = 1024) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if not widths:
            raise ConfigError("widths must name at least one stage width")
        check_sizes(hidden=hidden, **{f"widths[{i}]": width for i, width in enumerate(widths)})
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        layers += self._unit(widths[0], widths[0], stride=1)
        for previous, width in zip(widths, widths[1:]):
            layers += self._unit(previous, width, stride=2) + self._unit(width, width, stride=1)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(widths[-1], hidden), nn.LeakyReLU(0.2, inplace=True), nn.Linear(hidden, 1)
        )

    @staticmethod
    def _unit(in_channels: int, out_channels: int, stride: int) -> list[nn.Module]:
        return [
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.2, inplace=True),
        ]

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        """One logit per frame; see the class docstring for shapes."""
        check_frame(frame)
        pooled = self.features(frame).mean(dim=(-2, -1))
        return self.classifier(pooled).squeeze(-1)
