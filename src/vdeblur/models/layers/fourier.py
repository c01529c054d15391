"""A residual branch that mixes a feature map's channels frequency by frequency (DeepRFT's FFT block)."""

from __future__ import annotations

import torch
from torch import nn


class FourierBranch(nn.Module):
    """Feature map → 2-D real FFT → 1×1 conv, ReLU, 1×1 conv over the real and imaginary parts → inverse FFT.

    Undoing a blur takes filters as long as the blur, with ringing lobes (a Wiener inverse of an 11-pixel line
    spans tens of pixels); 3×3 convolutions stacked a few deep reach that far only through many layers. Here every
    output pixel depends on the whole map in one branch. The 1×1 mixes are the same at every frequency, so alone
    they would only mix channels; what depends on frequency comes through the ReLU, which passes or stops each
    bin's mixed values by their sign (DeepRFT's "frequency selection": Mao et al., "Deep Residual Fourier
    Transformation for Single Image Deblurring"; AAAI 2023 "Intriguing Findings of Frequency Selection for Image
    Deblurring"). It is not a learnt per-frequency gain such as a Wiener inverse 1/H(k). The transform is
    orthonormal, and the part of the rectified spectrum common to all bins is removed, so that nothing in the
    output grows with the map's size.

    The branch spans the whole map: a model with it computes different frames when run in tiles than on whole
    frames, and the padding to a size multiple reaches every pixel.

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
        # No biases: a bias adds the same value to every frequency bin, which the inverse transform turns into a
        # spike at pixel (0, 0) growing with the map's size (as √(H·W) with the orthonormal transform).
        self.mix1 = nn.Conv2d(2 * channels, 2 * channels, kernel_size=1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.mix2 = nn.Conv2d(2 * channels, 2 * channels, kernel_size=1, bias=False)
        nn.init.zeros_(self.mix2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The branch's term; see the class docstring for shapes."""
        height, width = x.shape[-2:]
        spectrum = torch.fft.rfft2(x.float(), norm="ortho")
        y = torch.cat([spectrum.real, spectrum.imag], dim=1).to(x.dtype)
        hidden = self.act(self.mix1(y))
        # The ReLU leaves every bin a positive part whatever the input's phase; the part common to all bins would
        # come back as a spike at pixel (0, 0) growing with the map's size, so it is taken out.
        hidden = hidden - hidden.mean(dim=(-2, -1), keepdim=True)
        real, imag = self.mix2(hidden).float().chunk(2, dim=1)
        return torch.fft.irfft2(torch.complex(real, imag), s=(height, width), norm="ortho").to(x.dtype)
