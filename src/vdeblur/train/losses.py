"""Content losses between a restored frame and its sharp target."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vdeblur.train.config import LossConfig


def charbonnier(output: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Mean of ``sqrt((output - target)² + eps²)``: L1 away from zero, smooth at zero."""
    return torch.sqrt((output - target) ** 2 + eps * eps).mean()


def psnr_loss(output: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Minus the mean over the batch of each frame's PSNR (peak 1): ``mean_b 10·log10(MSE_b + eps)``."""
    mse = ((output - target) ** 2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(mse + eps).mean()


def fft_l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the real and imaginary parts of the 2-D FFTs (over H, W)."""
    diff = torch.fft.rfft2(output.float()) - torch.fft.rfft2(target.float())
    return torch.view_as_real(diff).abs().mean()


class ContentLoss(nn.Module):
    """The configured pixel loss (L1, Charbonnier, MSE or PSNR) plus an optional weighted frequency loss.

    Shape:
        output, target: ``(B, 3, H, W)``; returns a scalar. Computed in float32 even under autocast.
    """

    def __init__(self, config: LossConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        output, target = output.float(), target.float()
        kind = self.config.kind
        if kind == "l1":
            loss = F.l1_loss(output, target)
        elif kind == "mse":
            loss = F.mse_loss(output, target)
        elif kind == "psnr":
            loss = psnr_loss(output, target)
        else:
            loss = charbonnier(output, target, self.config.charbonnier_eps)
        if self.config.fft_weight > 0:
            loss = loss + self.config.fft_weight * fft_l1(output, target)
        return loss
