"""The blind deconvolution front against direct implementations of its equations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vdeblur.errors import ConfigError
from vdeblur.models.layers import KernelEstimator, WienerFront
from vdeblur.models.layers.deconvolution import (
    KernelEstimate,
    fft_size,
    gradient_autocorrelation,
    kernel_autocorrelation,
    linear_to_srgb,
    srgb_to_linear,
    tile_starts,
    wiener_deconvolve,
)
from vdeblur.synth.color import linear_to_srgb as linear_to_srgb_numpy
from vdeblur.synth.color import srgb_to_linear as srgb_to_linear_numpy


def test_the_srgb_curves_match_the_synthesizers() -> None:
    x = np.linspace(0, 1, 1001)
    for ours, theirs in ((srgb_to_linear, srgb_to_linear_numpy), (linear_to_srgb, linear_to_srgb_numpy)):
        np.testing.assert_allclose(ours(torch.from_numpy(x)).numpy(), theirs(x), atol=1e-6)


def test_gradient_autocorrelation_is_the_direct_sum_over_overlapping_pixels() -> None:
    grey = torch.rand(2, 12, 15, dtype=torch.float64)
    radius = 3
    out = gradient_autocorrelation(grey, radius)
    for channel, g in enumerate((np.diff(grey.numpy(), axis=2), np.diff(grey.numpy(), axis=1))):
        for n in range(2):
            centred = g[n] - g[n].mean()
            height, width = centred.shape
            expected = np.zeros((2 * radius + 1, 2 * radius + 1))
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    for y in range(height):
                        for x in range(width):
                            if 0 <= y + dy < height and 0 <= x + dx < width:
                                expected[radius + dy, radius + dx] += centred[y, x] * centred[y + dy, x + dx]
            np.testing.assert_allclose(out[n, channel].numpy(), expected / expected[radius, radius], atol=1e-10)


def _circular_blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``image`` convolved with ``kernel`` (centred) with wrap-around, by a direct sum."""
    size = kernel.shape[0]
    out = np.zeros_like(image)
    for i in range(size):
        for j in range(size):
            out += kernel[i, j] * np.roll(image, (i - size // 2, j - size // 2), axis=(-2, -1))
    return out


def _difference_normal(x: np.ndarray, axis: int) -> np.ndarray:
    """``Dᵀ D x`` for the circular difference ``D`` along ``axis``, by shifts."""
    forward = x - np.roll(x, 1, axis=axis)  # x[n] - x[n-1]
    return forward - np.roll(forward, -1, axis=axis)  # its adjoint: y[n] - y[n+1]


def test_wiener_deconvolution_follows_its_formula_and_undoes_a_circular_blur() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((2, 3, 16, 20))
    kernels = rng.random((2, 5, 5)) ** 4
    kernels[:, 2, 2] += 2.0  # a strong centre: the blur's spectrum has no zeros, so it can be undone exactly
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    blurred = np.stack([_circular_blur(image[n], kernels[n]) for n in range(2)])
    inverse = wiener_deconvolve(torch.from_numpy(blurred), torch.from_numpy(kernels), torch.full((2,), 1e-12))
    np.testing.assert_allclose(inverse.numpy(), image, atol=1e-8)
    # With a regularising noise-to-signal ratio: conj(K) B / (|K|² + nsr), the kernel's transform from np.fft.
    nsr = np.array([0.05, 0.2])
    out = wiener_deconvolve(torch.from_numpy(blurred), torch.from_numpy(kernels), torch.from_numpy(nsr)).numpy()
    for n in range(2):
        placed = np.zeros((16, 20))
        for i in range(5):
            for j in range(5):
                placed[(i - 2) % 16, (j - 2) % 20] = kernels[n, i, j]
        transfer = np.fft.fft2(placed)
        expected = np.fft.ifft2(np.conj(transfer) * np.fft.fft2(blurred[n]) / (np.abs(transfer) ** 2 + nsr[n])).real
        np.testing.assert_allclose(out[n], expected, atol=1e-10)


def test_the_gradient_regularised_filter_solves_its_least_squares_problem() -> None:
    # X minimises |k * X - B|² + nsr (|Dx X|² + |Dy X|²) (circular), so the objective's gradient vanishes there:
    # kᵀ(k * X - B) + nsr (Dxᵀ Dx + Dyᵀ Dy) X = 0, here built from direct sums and shifts, without an FFT.
    rng = np.random.default_rng(1)
    blurred = rng.random((2, 3, 11, 18))  # an odd height: the padded tiles' FFT sizes can be odd
    kernels = rng.random((2, 5, 5)) ** 3
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    nsr = np.array([0.01, 0.3])
    out = wiener_deconvolve(torch.from_numpy(blurred), torch.from_numpy(kernels), torch.from_numpy(nsr),
                            "gradient").numpy()

    for n in range(2):
        residual = _circular_blur(out[n], kernels[n]) - blurred[n]
        gradient = _circular_blur(residual, kernels[n, ::-1, ::-1])
        gradient += nsr[n] * (_difference_normal(out[n], -1) + _difference_normal(out[n], -2))
        np.testing.assert_allclose(gradient, 0.0, atol=1e-10)
    with pytest.raises(ConfigError, match="regulariser"):
        wiener_deconvolve(torch.from_numpy(blurred), torch.from_numpy(kernels), torch.from_numpy(nsr), "tv")


def test_kernel_autocorrelation_is_the_direct_sum_over_overlapping_pixels() -> None:
    kernels = torch.rand(2, 5, 5, dtype=torch.float64)
    out = kernel_autocorrelation(kernels).numpy()
    assert out.shape == (2, 9, 9)
    k = kernels.numpy()
    for n in range(2):
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                expected = sum(k[n, y, x] * k[n, y + dy, x + dx] for y in range(5) for x in range(5)
                               if 0 <= y + dy < 5 and 0 <= x + dx < 5)
                assert out[n, 4 + dy, 4 + dx] == pytest.approx(expected, abs=1e-12)


def test_the_filter_for_an_uncertain_kernel_minimises_the_expected_error() -> None:
    # Given the mean kernel and the mean autocorrelation of a set of kernels, X minimises the mean over the set of
    # |k_j * X - B|² + nsr (|Dx X|² + |Dy X|²): sum_j k_jᵀ(k_j * X - B) / J + nsr DᵀD X = 0, by direct sums.
    rng = np.random.default_rng(2)
    blurred = rng.random((1, 2, 13, 16))
    candidates = rng.random((3, 5, 5)) ** 3
    candidates /= candidates.sum(axis=(1, 2), keepdims=True)
    nsr = 0.05
    blurred_tensor, nsr_tensor = torch.from_numpy(blurred), torch.tensor([nsr], dtype=torch.float64)
    mean = torch.from_numpy(candidates.mean(axis=0, keepdims=True))
    autocorrelations = kernel_autocorrelation(torch.from_numpy(candidates)).mean(dim=0, keepdim=True)
    out = wiener_deconvolve(blurred_tensor, mean, nsr_tensor, "gradient", autocorrelations).numpy()[0]

    gradient = nsr * (_difference_normal(out, -1) + _difference_normal(out, -2))
    for kernel in candidates:
        gradient += _circular_blur(_circular_blur(out, kernel) - blurred[0], kernel[::-1, ::-1]) / len(candidates)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-10)
    # An autocorrelation whose power falls below the mean kernel's is floored there (Jensen): none at all gives
    # the plain filter by the mean kernel.
    torch.testing.assert_close(
        wiener_deconvolve(blurred_tensor, mean, nsr_tensor, "gradient", torch.zeros(1, 9, 9).double()),
        wiener_deconvolve(blurred_tensor, mean, nsr_tensor, "gradient"))


def test_fft_sizes_have_no_prime_factor_above_five() -> None:
    assert [fft_size(n) for n in (1, 7, 128, 149, 212)] == [1, 8, 128, 150, 216]


@pytest.mark.parametrize(("length", "tile", "expected"), [
    (100, 128, [0]), (128, 128, [0]), (200, 64, [0, 32, 64, 96, 128, 136]), (192, 64, [0, 32, 64, 96, 128]),
])
def test_tiles_cover_the_frame_at_half_tile_steps(length: int, tile: int, expected: list[int]) -> None:
    assert tile_starts(length, tile) == expected


def test_a_new_estimator_gives_a_kernel_that_is_mostly_a_delta_and_sums_to_one() -> None:
    kernels, noise, autocorrelations = KernelEstimator(kernel_size=7)(torch.rand(3, 40, 40))
    assert kernels.shape == (3, 7, 7) and noise.shape == (3,) and autocorrelations is None
    torch.testing.assert_close(kernels.sum(dim=(1, 2)), torch.ones(3))
    torch.testing.assert_close(kernels[:, 3, 3], torch.full((3,), 0.9))
    torch.testing.assert_close(noise, torch.full((3,), 0.01))
    # The power head's autocorrelation spans every lag of two kernels' overlap, and starts near a delta too.
    autocorrelations = KernelEstimator(kernel_size=7, power=True)(torch.rand(3, 40, 40)).autocorrelations
    assert autocorrelations is not None and autocorrelations.shape == (3, 13, 13)
    torch.testing.assert_close(autocorrelations.sum(dim=(1, 2)), torch.ones(3))
    torch.testing.assert_close(autocorrelations[:, 6, 6], torch.full((3,), 0.9))


def _line_kernel(length: int, size: int) -> np.ndarray:
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2 - length // 2 : size // 2 + length // 2 + 1] = 1.0
    return kernel / kernel.sum()


def test_the_front_deblurs_a_frame_by_tiles_when_its_estimate_is_the_true_kernel(photo: np.ndarray) -> None:
    sharp = photo.astype(np.float64)  # 96 × 128: 3 × 5 tiles of 48 pixels at half-tile steps
    kernel = _line_kernel(7, 9)
    linear = np.pad(srgb_to_linear_numpy(sharp), ((9, 9), (9, 9), (0, 0)), mode="reflect")
    blurred = _circular_blur(linear.transpose(2, 0, 1), kernel)[:, 9:-9, 9:-9]
    frame = torch.from_numpy(linear_to_srgb_numpy(blurred))[None].float()
    inside = (slice(12, -12), slice(12, -12))  # away from the borders, where the blur was reflected
    errors = {}
    for tile in (48, 128):
        front = WienerFront(kernel_size=9, tile=tile)
        front.estimator.forward = lambda grey: KernelEstimate(  # type: ignore[method-assign]
            torch.from_numpy(kernel).float().expand(grey.shape[0], 9, 9), torch.full((grey.shape[0],), 1e-3), None)
        with torch.no_grad():
            restored, estimate = front.deconvolve(frame)
        tiles = 15 if tile == 48 else 1
        assert estimate.kernels.shape == (1, tiles, 9, 9) and estimate.noise_to_signal.shape == (1, tiles)
        errors[tile] = np.abs(restored[0].numpy().transpose(1, 2, 0) - sharp)[inside].mean()
    before = np.abs(frame[0].numpy().transpose(1, 2, 0) - sharp)[inside].mean()
    # Measured: 0.0266 blurred, 0.0147 in tiles, 0.0127 as one tile.
    assert errors[48] < 0.6 * before and errors[128] < 0.6 * before, (before, errors)
    assert abs(errors[48] - errors[128]) < 0.2 * errors[128], errors


def test_a_front_with_the_power_head_divides_by_the_expected_power(photo: np.ndarray) -> None:
    # The estimate: the kernel is a 7 px line or none, equally likely. Dividing by their mean power, the front
    # amplifies less than the filter by their mean kernel alone.
    frame = torch.from_numpy(photo).permute(2, 0, 1)[None].float()
    delta = np.zeros((9, 9))
    delta[4, 4] = 1.0
    candidates = torch.from_numpy(np.stack([_line_kernel(7, 9), delta])).float()
    change = {}
    for power in (False, True):
        front = WienerFront(kernel_size=9, tile=128, power=power)
        front.estimator.forward = lambda grey, power=power: KernelEstimate(  # type: ignore[method-assign]
            candidates.mean(dim=0).expand(grey.shape[0], 9, 9), torch.full((grey.shape[0],), 1e-3),
            kernel_autocorrelation(candidates).mean(dim=0).expand(grey.shape[0], 17, 17) if power else None)
        with torch.no_grad():
            restored, estimate = front.deconvolve(frame)
        assert (estimate.autocorrelations is not None) == power
        change[power] = (restored - frame).abs().mean().item()
    assert change[True] < 0.8 * change[False], change  # measured 0.009 against 0.029


def test_an_untrained_front_nearly_keeps_the_frame_and_bad_sizes_are_config_errors(photo: np.ndarray) -> None:
    frame = torch.from_numpy(photo).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = WienerFront(kernel_size=5, tile=16)(frame)
    # Its kernel starts 90 % a delta: it passes the frame on nearly as it is (measured 0.0037).
    assert (out - frame).abs().mean() < 0.01
    # A frame smaller than the filter's context is padded by its edge pixels instead of reflections.
    assert WienerFront(kernel_size=21, tile=64)(frame[..., :24, :30]).shape == (1, 3, 24, 30)
    with pytest.raises(ConfigError, match="odd"):
        WienerFront(kernel_size=4, tile=16)
    with pytest.raises(ConfigError, match="twice"):
        WienerFront(kernel_size=9, tile=16)
    with pytest.raises(ConfigError, match="deconv_regulariser 'tv'"):
        WienerFront(kernel_size=5, tile=16, regulariser="tv")
