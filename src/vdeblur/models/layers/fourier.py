"""A residual branch that mixes a feature map's channels frequency by frequency (DeepRFT's FFT block)."""

from __future__ import annotations

import torch
from torch import nn


class FourierBranch(nn.Module):
    """Feature map → 2-D real FFT → 1×1 conv, ReLU, 1×1 conv over the real and imaginary parts → inverse FFT.

    Undoing a blur takes filters as long as the blur, with ringing lobes (a Wiener inverse of an 11-pixel line
    spans tens of pixels); 3×3 convolutions stacked a few deep learn such filters slowly. In the Fourier domain
    a 1×1 convolution acts on every frequency at once, so one learnt mix reaches across the whole map, and the
    ReLU between the two mixes lets it treat frequencies unequally (Mao et al., "Deep Residual Fourier
    Transformation for Single Image Deblurring"; AAAI 2023 "Intriguing Findings of Frequency Selection for Image
    Deblurring"). The transform is orthonormal, so the spectrum's scale does not grow with the map's size, and
    the same weights apply to training crops and whole frames.

    The last mix starts at zero, so the branch adds nothing until it is trained: a model grown by it from trained
    weights computes what those weights did. The FFTs run in float32 (CPU FFTs take no bf16); the mixes run in
    the input's dtype.

    Args:
        channels: width C of the feature map.

    Shape:
        - x: ``(B, C, H, W)``
        - output: ``(B, C, H, W)``, the branch's term alone (the caller adds it to x).

    Example:
        >>> FourierBranch(8)(torch.rand(2, 8, 6, 10)).shape
        torch.Size([2, 8, 6, 10])
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mix1 = nn.Conv2d(2 * channels, 2 * channels, kernel_size=1)
        self.act = nn.ReLU(inplace=True)
        self.mix2 = nn.Conv2d(2 * channels, 2 * channels, kernel_size=1)
        nn.init.zeros_(self.mix2.weight)
        nn.init.zeros_(self.mix2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The branch's term; see the class docstring for shapes."""
        height, width = x.shape[-2:]
        spectrum = torch.fft.rfft2(x.float(), norm="ortho")
        y = torch.cat([spectrum.real, spectrum.imag], dim=1).to(x.dtype)
        real, imag = self.mix2(self.act(self.mix1(y))).float().chunk(2, dim=1)
        return torch.fft.irfft2(torch.complex(real, imag), s=(height, width), norm="ortho").to(x.dtype)
