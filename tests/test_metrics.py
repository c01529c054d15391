"""PSNR/SSIM equal scikit-image's on real photographs; frame- and sequence-mean aggregation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import uniform_filter
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vdeblur.metrics import MetricTable, psnr, ssim

PHOTOS = ["astronaut", "chelsea", "coffee", "rocket"]


def _distort(image: np.ndarray, kind: str) -> np.ndarray:
    rng = np.random.default_rng(1)
    if kind == "noise":
        return np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    blurred = uniform_filter(image.astype(np.float64), size=(1, 7, 1))  # horizontal motion blur
    return np.clip(np.round(blurred), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("kind", ["noise", "motion"])
def test_psnr_and_ssim_equal_scikit_image(name: str, kind: str) -> None:
    reference = getattr(data, name)()
    distorted = _distort(reference, kind)
    expected_ssim = structural_similarity(
        distorted, reference, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=255,
    )
    assert ssim(distorted, reference) == pytest.approx(expected_ssim, abs=1e-6)
    assert psnr(distorted, reference) == pytest.approx(peak_signal_noise_ratio(reference, distorted, data_range=255), abs=1e-6)


def test_float_inputs_are_quantised_to_8_bits_first() -> None:
    """Scores of float outputs are those of the 8-bit frames a user would save: clipped, rounded to nearest."""
    reference = data.chelsea()[:64, :64]
    rng = np.random.default_rng(0)
    noisy = reference / 255.0 + rng.normal(0, 0.004, reference.shape)  # about 1 LSB: rounding decides
    noisy[:4] = rng.uniform(-0.5, 1.5, noisy[:4].shape)  # out of range: clipped, not wrapped
    # Independent quantisation (round half up; no value here lies on a tie), scored by scikit-image.
    saved = np.floor(np.clip(noisy, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    expected_psnr = peak_signal_noise_ratio(reference, saved, data_range=255)
    expected_ssim = structural_similarity(
        saved, reference, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=255,
    )
    assert psnr(noisy, reference) == pytest.approx(expected_psnr, abs=1e-9)
    # Truncating instead of rounding would move the in-range rows' score by about 0.8 dB: the check has teeth.
    truncated = (np.clip(noisy[4:], 0.0, 1.0) * 255.0).astype(np.uint8)
    in_range = psnr(noisy[4:], reference[4:])
    assert abs(peak_signal_noise_ratio(reference[4:], truncated, data_range=255) - in_range) > 0.5
    tensor = torch.from_numpy(noisy.transpose(2, 0, 1).copy())  # float64 keeps the rounding identical
    assert ssim(tensor, reference) == pytest.approx(expected_ssim, abs=1e-9)
    assert psnr(tensor, reference) == pytest.approx(expected_psnr, abs=1e-9)
    assert psnr(reference, reference) == float("inf")


def test_table_reports_frame_mean_and_sequence_mean() -> None:
    table = MetricTable()
    for value in (30.0, 32.0, 34.0):
        table.add("long", value, 0.9)
    table.add("short", 20.0, 0.5)
    summary = table.summary()
    assert summary["psnr"] == pytest.approx((30 + 32 + 34 + 20) / 4)
    assert summary["sequence_mean"]["psnr"] == pytest.approx((32 + 20) / 2)
    assert summary["ssim"] == pytest.approx((0.9 * 3 + 0.5) / 4)
    assert summary["sequences"]["long"] == {"psnr": 32.0, "ssim": pytest.approx(0.9), "frames": 3}
