"""PSNR and SSIM by the protocol of the published video-deblurring tables.

The protocol (docs/DESIGN.md §6): RGB images, the output quantised to 8 bits, data range 255, no border crop; SSIM with
a Gaussian window (σ = 1.5, truncated at 3.5σ, i.e. 11×11), population covariance, computed per channel and
averaged — the same numbers as scikit-image's
``structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=255)``. Scores are averaged per frame within a sequence; :class:`MetricTable` reports both the mean over
all frames and the mean over sequences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

DATA_RANGE = 255.0
SSIM_SIGMA = 1.5
# scikit-image truncates its Gaussian window at 3.5 sigma, which gives an 11x11 window for sigma = 1.5.
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def to_uint8(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """Quantise an image to 8 bits the way a saved PNG would be, as ``(H, W, 3)`` uint8.

    Args:
        image: uint8 ``(H, W, C)`` (returned unchanged), a float array ``(H, W, C)`` in [0, 1], or a float tensor
            ``(C, H, W)`` in [0, 1]. Values outside [0, 1] are clipped.
    """
    if isinstance(image, torch.Tensor):
        if image.ndim != 3:
            raise ValueError(f"expected a (C, H, W) tensor, got shape {tuple(image.shape)}")
        image = image.detach().float().cpu().permute(1, 2, 0).numpy()
    if image.dtype == np.uint8:
        return image
    return np.round(np.clip(image.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def _check_pair(output: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = to_uint8(output).astype(np.float64), to_uint8(target).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"output {a.shape} and target {b.shape} differ in shape")
    return a, b


def psnr(output: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two 8-bit RGB images (``inf`` when they are equal).

    Args:
        output, target: images accepted by :func:`to_uint8`; floats are quantised to 8 bits first.
    """
    a, b = _check_pair(output, target)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(DATA_RANGE**2 / mse)


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of one channel; the map's border of half a window is left out, as scikit-image does."""

    def blur(x: np.ndarray) -> np.ndarray:
        # mode="reflect" is scipy's half-sample symmetric padding, the one scikit-image uses here.
        return gaussian_filter(x, sigma=SSIM_SIGMA, truncate=SSIM_TRUNCATE, mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    pad = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
    return float(ssim_map[pad:-pad, pad:-pad].mean())


def ssim(output: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Structural similarity of two 8-bit RGB images, per channel and averaged (scikit-image's numbers).

    Args:
        output, target: images accepted by :func:`to_uint8`; at least 11×11 pixels.
    """
    a, b = _check_pair(output, target)
    if min(a.shape[:2]) < 2 * int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5) + 1:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {a.shape[1]}x{a.shape[0]}")
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))


@dataclass
class MetricTable:
    """Per-frame PSNR/SSIM grouped by sequence, with frame-mean and sequence-mean summaries."""

    scores: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def add(self, sequence: str, psnr_value: float, ssim_value: float) -> None:
        """Record one frame's scores under its sequence."""
        self.scores.setdefault(sequence, []).append((psnr_value, ssim_value))

    def add_frame(self, sequence: str, output: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> None:
        """Score one output frame against its target and record it."""
        self.add(sequence, psnr(output, target), ssim(output, target))

    @property
    def num_frames(self) -> int:
        """How many frames have been scored."""
        return sum(len(v) for v in self.scores.values())

    def summary(self) -> dict[str, Any]:
        """``psnr``/``ssim`` (means over all frames), ``sequence_mean`` and per-sequence ``sequences``."""
        if not self.scores:
            raise ValueError("no frames were scored")
        per_sequence = {
            name: {
                "psnr": float(np.mean([p for p, _ in values])),
                "ssim": float(np.mean([s for _, s in values])),
                "frames": len(values),
            }
            for name, values in self.scores.items()
        }
        every = [score for values in self.scores.values() for score in values]
        return {
            "psnr": float(np.mean([p for p, _ in every])),
            "ssim": float(np.mean([s for _, s in every])),
            "frames": len(every),
            "sequence_mean": {
                "psnr": float(np.mean([v["psnr"] for v in per_sequence.values()])),
                "ssim": float(np.mean([v["ssim"] for v in per_sequence.values()])),
            },
            "sequences": per_sequence,
        }
