"""A learnt blind deconvolution front: estimate a blur kernel per tile, undo it with a Wiener filter.

Issue 15's measurements (BENCHMARKS.md, "Known blur against unknown blur") found that the networks learn one given
deconvolution quickly, and clean up after a Wiener filter by the true kernel to +3.6 dB, but do not learn to find
the blur and invert it themselves. This front supplies that step explicitly: a small network reads the blur from
the autocorrelation of a tile's gradients (natural images have nearly white gradients, so their autocorrelation
is about the kernel's own autocorrelation: a line blur of length L shows as a ridge of length 2L along its
direction), predicts a kernel, and a Wiener filter in linear light deconvolves the tile by it.

Everything is differentiable, but trained through the restoration loss alone the estimator does not learn to find
the kernel in the time of a CPU run (BENCHMARKS.md, "A learnt blind deconvolution front"): it is pretrained on
frames blurred by known kernels first (``benchmarks/front_pretrain.py``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vdeblur.errors import ConfigError

REGULARISERS = ("identity", "gradient")


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """The sRGB decoding curve (IEC 61966-2-1), for values in [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(1e-8) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """The sRGB encoding curve; values are clipped to [0, 1] first (a deconvolution overshoots)."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


def gradient_autocorrelation(grey: torch.Tensor, radius: int) -> torch.Tensor:
    """Autocorrelations of the horizontal and vertical differences of ``grey`` at lags up to ``radius``.

    Each is the sum over the tile of ``g(p) · g(p + lag)`` (no wrap-around: the FFT is zero-padded), divided by
    its value at lag zero, so that it reads the same for a dim and a bright tile.

    Shape:
        - grey: ``(N, H, W)``
        - output: ``(N, 2, 2·radius + 1, 2·radius + 1)``, lag ``(dy, dx)`` at index ``(radius + dy, radius + dx)``.
    """
    gx = grey[:, :, 1:] - grey[:, :, :-1]
    gy = grey[:, 1:, :] - grey[:, :-1, :]
    maps = []
    for g in (gx, gy):
        height, width = g.shape[-2:]
        size = (fft_size(height + radius + 1), fft_size(width + radius + 1))  # no lag ≤ radius wraps round
        spectrum = torch.fft.rfft2(g - g.mean(dim=(-2, -1), keepdim=True), s=size)
        correlation = torch.fft.irfft2(spectrum.real**2 + spectrum.imag**2, s=size)
        lags = 2 * radius + 1
        window = torch.roll(correlation, shifts=(radius, radius), dims=(-2, -1))[..., :lags, :lags]
        maps.append(window / window[..., radius : radius + 1, radius : radius + 1].clamp_min(1e-12))
    return torch.stack(maps, dim=1)


def wiener_deconvolve(tiles: torch.Tensor, kernels: torch.Tensor, noise_to_signal: torch.Tensor,
                      regulariser: str = "identity", autocorrelations: torch.Tensor | None = None) -> torch.Tensor:
    """Deconvolve each tile by its kernel: ``X = conj(K) · B / (|K|² + nsr · R)`` over the tile's periodic spectrum.

    ``R`` is 1 for the ``identity`` regulariser (the classic Wiener filter with a flat noise-to-signal ratio) and
    ``|Dx|² + |Dy|²``, the power of the horizontal and vertical differences, for ``gradient``. The second assumes
    the 1/f² spectrum of natural images: it damps the high frequencies, where noise dominates, and restores the
    low and middle ones almost fully. On noisy shake blur it is what makes the filter gain at all (BENCHMARKS.md,
    "A learnt blind deconvolution front").

    A kernel that is only known in distribution (an estimate) calls for ``conj(E[K]) · B / (E[|K|²] + nsr · R)``,
    which minimises the expected error ``E |K X - B|² + nsr · R |X|²``: where the kernels it could be disagree,
    the expected power exceeds the power of their mean and the filter amplifies less. ``autocorrelations`` gives
    ``E[|K|²]`` as the transform of the expected autocorrelation of the kernel (``kernels`` is then ``E[k]``);
    without it the kernel is taken as known.

    The kernel's centre sits at pixel (0, 0), so the output is aligned with the input; callers pad the tiles
    with context and crop it off, since the filter treats each tile as periodic.

    Shape:
        - tiles: ``(N, C, H, W)``
        - kernels: ``(N, k, k)``, k odd and at most H and W
        - noise_to_signal: ``(N,)``, positive
        - autocorrelations: ``(N, 2k - 1, 2k - 1)``, lag zero at the centre, 2k - 1 at most H and W
        - output: ``(N, C, H, W)``
    """
    height, width = tiles.shape[-2:]
    transfer = torch.fft.rfft2(centred_on_origin(kernels, height, width)).unsqueeze(1)
    blurred = torch.fft.rfft2(tiles)
    power = transfer.real**2 + transfer.imag**2
    if autocorrelations is not None:
        expected = torch.fft.rfft2(centred_on_origin(autocorrelations, height, width)).real.unsqueeze(1)
        # An estimated autocorrelation need not be an exact average of autocorrelations; the expected power can
        # never be below the power of the expected kernel (Jensen), nor can a power be negative.
        power = torch.maximum(expected, power)
    regularisation = noise_to_signal.view(-1, 1, 1, 1)
    if regulariser == "gradient":
        # |1 - exp(-2πif)|² = 2 - 2 cos(2πf) for a difference along each axis.
        rows = torch.fft.fftfreq(height, device=tiles.device, dtype=power.dtype)[:, None]
        columns = torch.fft.rfftfreq(width, device=tiles.device, dtype=power.dtype)[None, :]
        differences = 4 - 2 * torch.cos(2 * math.pi * rows) - 2 * torch.cos(2 * math.pi * columns)
        regularisation = regularisation * differences
    elif regulariser != "identity":
        raise ConfigError(f"Unknown regulariser '{regulariser}'; choose one of {', '.join(REGULARISERS)}.")
    restored = transfer.conj() * blurred / (power + regularisation)
    return torch.fft.irfft2(restored, s=(height, width))


def centred_on_origin(maps: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Odd-sized ``(N, s, s)`` maps zero-padded to ``(N, height, width)`` with their centre moved to pixel (0, 0),
    the layout of a periodic convolution's kernel."""
    size = maps.shape[-1]
    if size > min(height, width):
        raise ValueError(f"a {size} px map does not fit on a {height} × {width} grid")
    padded = F.pad(maps, (0, width - size, 0, height - size))
    return torch.roll(padded, shifts=(-(size // 2), -(size // 2)), dims=(-2, -1))


def kernel_autocorrelation(kernels: torch.Tensor) -> torch.Tensor:
    """``a(d) = Σ_p k(p) k(p + d)`` of ``(N, k, k)`` kernels, as ``(N, 2k - 1, 2k - 1)`` with lag zero at the
    centre: the inverse transform of the kernel's power spectrum, the same for a kernel and for it rotated by
    180°."""
    count, size = kernels.shape[0], kernels.shape[-1]
    padded = F.pad(kernels[None], (size - 1,) * 4)
    return F.conv2d(padded, kernels[:, None], groups=count)[0]


def taper_margin(tiles: torch.Tensor, margin: int) -> torch.Tensor:
    """Fade the outer ``margin`` pixels of each tile to its mean with raised-cosine ramps.

    The Wiener filter treats a tile as periodic, and the jump between its opposite edges rings through the whole
    tile wherever the blur's spectrum is near zero; a tile that fades to a constant has no jump. (Measured on a
    15-pixel line blur: the error of 128-pixel tiles with 42 pixels of context falls from 0.059 to 0.016 at a
    noise-to-signal ratio of 0.001.)

    Shape:
        - tiles: ``(N, C, H, W)``, H and W greater than ``2 · margin``
        - output: ``(N, C, H, W)``
    """
    steps = torch.arange(margin, device=tiles.device, dtype=tiles.dtype) + 0.5
    ramp = 0.5 - 0.5 * torch.cos(torch.pi * steps / margin)

    def window(length: int) -> torch.Tensor:
        flat = torch.ones(length - 2 * margin, device=tiles.device, dtype=tiles.dtype)
        return torch.cat([ramp, flat, ramp.flip(0)])

    mean = tiles.mean(dim=(-2, -1), keepdim=True)
    return mean + (tiles - mean) * torch.outer(window(tiles.shape[-2]), window(tiles.shape[-1]))


def fft_size(length: int) -> int:
    """The least size ≥ ``length`` with no prime factor above 5, where FFTs are fast (212 = 4 · 53 takes 1.6×
    the time of 216)."""
    size = length
    while True:
        rest = size
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return size
        size += 1


def tile_starts(length: int, tile: int) -> list[int]:
    """Starts of windows of ``tile`` pixels at half-tile steps covering ``[0, length)``, the last flush with the
    end; one window of the whole length when it is no longer than a tile."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, tile // 2))
    return starts if starts[-1] == length - tile else [*starts, length - tile]


def _zero_conv(width: int) -> nn.Conv2d:
    """A 1×1 convolution from ``width`` channels to one logit, started at zero (the prior alone at first)."""
    conv = nn.Conv2d(width, 1, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class KernelEstimate(NamedTuple):
    """What `KernelEstimator` reads from tiles: kernels ``(..., k, k)``, noise-to-signal ratios ``(...)``, and with
    ``power`` the kernels' expected autocorrelations ``(..., 2k - 1, 2k - 1)`` (else None)."""

    kernels: torch.Tensor
    noise_to_signal: torch.Tensor
    autocorrelations: torch.Tensor | None

    def map(self, function: Callable[[torch.Tensor], torch.Tensor]) -> KernelEstimate:
        """The estimate with ``function`` applied to each field that is present."""
        return KernelEstimate(*(None if field is None else function(field) for field in self))


def _softmax_map(logits: torch.Tensor) -> torch.Tensor:
    """A softmax over the pixels of each ``(N, h, w)`` map: non-negative, summing to one."""
    return torch.softmax(logits.flatten(1), dim=1).view_as(logits)


def _delta_prior(size: int) -> nn.Parameter:
    """Logits that put 90 % of a ``size × size`` softmax on its centre."""
    prior = torch.zeros(size, size)
    prior[size // 2, size // 2] = math.log(9.0 * (size**2 - 1))
    return nn.Parameter(prior)


class KernelEstimator(nn.Module):
    """Gradient autocorrelations of tiles → a blur kernel (non-negative, sum 1), a noise-to-signal ratio and,
    with ``power``, the kernel's expected autocorrelation (non-negative, sum 1) each.

    Dilated convolutions read the autocorrelation map (a ridge of twice the blur's length), its centre is cropped
    to the kernel's size, and a softmax over the kernel's pixels keeps it a blur. A learnt prior on the logits
    starts the kernel near a delta, so that the filter starts near the identity.

    The map cannot tell a kernel from it rotated by 180°, nor, for short or curled blur, much of its shape: an
    estimate is at best the mean of the kernels it could be (`benchmarks/front_pretrain.py`'s ``ce`` loss), and a
    Wiener filter by that mean alone amplifies the frequencies where they disagree. With ``power`` a second head
    estimates their mean autocorrelation over the whole map, whose transform is the expected power spectrum the
    filter's denominator needs (`wiener_deconvolve`).

    Shape:
        - grey: ``(N, H, W)`` linear tiles
        - output: `KernelEstimate` of ``(N, k, k)``, ``(N,)`` and ``(N, 2k - 1, 2k - 1)`` or None
    """

    def __init__(self, kernel_size: int, width: int = 32, power: bool = False) -> None:
        super().__init__()
        if kernel_size < 3 or kernel_size % 2 == 0:
            raise ConfigError(f"deconv_kernel must be an odd size of at least 3, got {kernel_size}")
        self.kernel_size = kernel_size
        layers: list[nn.Module] = [nn.Conv2d(2, width, 3, padding=1), nn.GELU()]
        # Dilations to a receptive field of 65 lags: the kernel's pixel at an offset r reads the ridge's end at 2r.
        for dilation in (2, 4, 8, 16, 1):
            layers += [nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation), nn.GELU()]
        self.body = nn.Sequential(*layers)
        self.to_logits = _zero_conv(width)
        # The centre holds 90 % of the initial kernel's mass: the filter starts close to the identity, so a new
        # front passes the frame on nearly as it is. (Adam's normalised steps move the small logits all the same.)
        self.prior = _delta_prior(kernel_size)
        # The autocorrelation of a kernel near a delta is near a delta too.
        self.to_power_logits = _zero_conv(width) if power else None
        self.power_prior = _delta_prior(2 * kernel_size - 1) if power else None
        self.to_noise = nn.Linear(width, 1)
        nn.init.zeros_(self.to_noise.weight)
        nn.init.constant_(self.to_noise.bias, math.log(1e-2))

    def forward(self, grey: torch.Tensor) -> KernelEstimate:
        """Kernels, noise-to-signal ratios and expected autocorrelations of the tiles; see the class docstring."""
        radius = self.kernel_size - 1
        features = self.body(gradient_autocorrelation(grey, radius))
        start = radius - self.kernel_size // 2
        centre = features[..., start : start + self.kernel_size, start : start + self.kernel_size]
        kernels = _softmax_map(self.to_logits(centre)[:, 0] + self.prior)
        noise_to_signal = torch.exp(self.to_noise(features.mean(dim=(-2, -1)))[:, 0]).clamp(1e-5, 1.0)
        autocorrelations = None
        if self.to_power_logits is not None:
            # The lags of the whole map, 2k - 1 across: a kernel's autocorrelation spans exactly as many.
            autocorrelations = _softmax_map(self.to_power_logits(features)[:, 0] + self.power_prior)
        return KernelEstimate(kernels, noise_to_signal, autocorrelations)


class WienerFront(nn.Module):
    """Deblur a frame by tiles: a kernel per tile (`KernelEstimator`), a Wiener filter by it in linear light, and
    the tiles blended with Hann windows at half-tile overlaps.

    Each tile's kernel is read from its ``tile × tile`` pixels alone, the size of a training crop, so a frame
    larger than the crops is deconvolved as its crops would be (the estimate sees no more than in training, as
    NAFNet's TLC does for its pooling). Each tile is filtered with ``2 · kernel_size`` pixels of context around it
    (reflected at the frame's borders), the context faded to the padded window's mean (`taper_margin`), to keep
    the filter's wrap-around out of it. FFTs are not counted by `vdeblur.models.cost`, which counts convolutions.
    The front runs in float32 (CPU FFTs take no bf16).

    Args:
        kernel_size: odd size of the estimated kernels; the longest blur it can undo, in pixels.
        tile: window size of the estimates.
        regulariser: the Wiener filter's (`wiener_deconvolve`): ``identity`` or ``gradient``.
        power: estimate the kernels' expected power spectrum as well, for the filter's denominator
            (`KernelEstimator`).

    Shape:
        - frame: ``(B, 3, H, W)`` sRGB in [0, 1]
        - output: ``(B, 3, H, W)`` sRGB in [0, 1]
    """

    def __init__(self, kernel_size: int, tile: int = 128, regulariser: str = "identity", power: bool = False) -> None:
        super().__init__()
        if tile < 2 * kernel_size:
            raise ConfigError(f"deconv_tile must be at least twice deconv_kernel ({2 * kernel_size}), got {tile}")
        if regulariser not in REGULARISERS:
            raise ConfigError(f"Unknown deconv_regulariser '{regulariser}'; choose one of {', '.join(REGULARISERS)}.")
        self.tile = tile
        self.regulariser = regulariser
        self.estimator = KernelEstimator(kernel_size, power=power)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        """The deconvolved frame; see the class docstring for shapes."""
        return self.deconvolve(frame)[0]

    def deconvolve(self, frame: torch.Tensor) -> tuple[torch.Tensor, KernelEstimate]:
        """The deconvolved frame (in the frame's dtype), with the float32 estimate it used, each field's first
        dimensions ``(B, tiles)`` (tiles in row-major order of their positions), for training the estimator on
        known kernels."""
        dtype = frame.dtype
        # Autocast off where the device has one (the meta device of FLOP counting has none).
        device = frame.device.type
        no_autocast = (torch.autocast(device_type=device, enabled=False) if torch.amp.is_autocast_available(device)
                       else contextlib.nullcontext())
        with no_autocast:
            linear = srgb_to_linear(frame.float())
            batch, channels, height, width = linear.shape
            tile_h, tile_w = min(self.tile, height), min(self.tile, width)
            ys, xs = tile_starts(height, tile_h), tile_starts(width, tile_w)
            margin = 2 * self.estimator.kernel_size
            # Reflection needs a frame larger than the margin; a smaller one repeats its edge pixels.
            mode = "reflect" if margin < min(height, width) else "replicate"
            context = F.pad(linear, (margin,) * 4, mode=mode)
            tiles = torch.stack([linear[..., y : y + tile_h, x : x + tile_w] for y in ys for x in xs], dim=1)
            padded = torch.stack(
                [context[..., y : y + tile_h + 2 * margin, x : x + tile_w + 2 * margin] for y in ys for x in xs], dim=1
            )
            estimate = self.estimator(tiles.mean(dim=2).flatten(0, 1))
            tapered = taper_margin(padded.flatten(0, 1), margin)
            # A tile faded to its mean extends by that mean to a size with fast FFTs.
            size = tapered.shape[-2:]
            mean = tapered.mean(dim=(-2, -1), keepdim=True)
            extended = F.pad(tapered - mean, (0, fft_size(size[1]) - size[1], 0, fft_size(size[0]) - size[0])) + mean
            restored = wiener_deconvolve(extended, estimate.kernels, estimate.noise_to_signal, self.regulariser,
                                         estimate.autocorrelations)
            restored = restored[..., margin : margin + tile_h, margin : margin + tile_w].unflatten(0, (batch, -1))
            # Hann weights (with a floor, so the frame's borders, covered by one tile's edge, keep a weight).
            weight = torch.outer(
                torch.hann_window(tile_h, periodic=False, device=frame.device) + 1e-3,
                torch.hann_window(tile_w, periodic=False, device=frame.device) + 1e-3,
            )
            total = linear.new_zeros(batch, channels, height, width)
            weights = linear.new_zeros(1, 1, height, width)
            for index, (y, x) in enumerate((y, x) for y in ys for x in xs):
                total[..., y : y + tile_h, x : x + tile_w] += restored[:, index] * weight
                weights[..., y : y + tile_h, x : x + tile_w] += weight
            tiles_per_frame = (batch, len(ys) * len(xs))
            per_frame = estimate.map(lambda field: field.unflatten(0, tiles_per_frame))
            return linear_to_srgb(total / weights).to(dtype), per_frame
