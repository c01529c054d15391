"""Camera tone curves: the standard curves as members of the family, and inversion.

How a plan's curve writes the frames is tested in test_exposure.py."""

from __future__ import annotations

import numpy as np
import pytest

from vdeblur.synth.color import ToneCurve, random_tone_curve

LINEAR = np.linspace(0.0, 1.0, 2001)


def test_srgb_and_bt709_are_members_of_the_family():
    # IEC 61966-2-1 and ITU-R BT.709, written out independently of the family's knee and slope.
    srgb = np.where(LINEAR <= 0.0031308, 12.92 * LINEAR, 1.055 * LINEAR ** (1 / 2.4) - 0.055)
    bt709 = np.where(LINEAR < 0.018, 4.5 * LINEAR, 1.099 * LINEAR**0.45 - 0.099)
    # The standards round their constants (BT.709 its slope 4.5 of 4.514), so their toes meet the power laws
    # within 1e-4 and 5e-4, not exactly: an eighth of an 8-bit level at most.
    np.testing.assert_allclose(ToneCurve(gamma=2.4, offset=0.055).from_linear(LINEAR), srgb, atol=1e-4)
    np.testing.assert_allclose(ToneCurve(gamma=1 / 0.45, offset=0.099).from_linear(LINEAR), bt709, atol=5e-4)


def test_random_curves_are_increasing_fix_black_and_white_and_invert():
    rng = np.random.default_rng(0)
    for _ in range(20):
        curve = random_tone_curve(rng)
        encoded = curve.from_linear(LINEAR).astype(np.float64)
        assert encoded[0] == 0 and abs(encoded[-1] - 1) < 1e-6 and np.all(np.diff(encoded) > 0)
        values = np.linspace(0, 1, 1001)
        np.testing.assert_allclose(curve.from_linear(curve.to_linear(values)), values, atol=1e-5)
    with pytest.raises(ValueError, match="contrast"):
        ToneCurve(gamma=2.2, offset=0.05, contrast=1.0)
