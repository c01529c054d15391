"""Camera tone curves: the standard curves as members of the family, inversion, and the written frames."""

from __future__ import annotations

import numpy as np
import pytest

from vdeblur.synth.build import Plan
from vdeblur.synth.color import ToneCurve, random_tone_curve
from vdeblur.synth.pipeline import Degradation, expose, render_sequence
from vdeblur.synth.scene import Camera, Scene, StillBackground
from vdeblur.synth.trajectory import MotionPath

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


def test_a_half_exposed_edge_pixel_is_written_through_the_plans_curve():
    # A black/white step edge crossed by 12 px of motion: the pixel that saw white for half the exposure holds
    # half the light whatever the curve, and is written as the curve's value of it, not as sRGB's (188).
    curve = ToneCurve(gamma=1.8, offset=0.08, contrast=0.3)
    width, height, margin = 64, 4, 30
    canvas = np.zeros((height + 2 * margin, width + 2 * margin, 3), np.float32)
    canvas[:, canvas.shape[1] // 2 :] = 1.0
    times = np.linspace(-1.0, 4.0, 321)
    zeros = np.zeros_like(times)
    camera = Camera((width, height), ((canvas.shape[1] - 1) / 2, (canvas.shape[0] - 1) / 2),
                    MotionPath(times, 24.0 * times, zeros, zeros, zeros))
    plan = Plan(Scene(StillBackground(canvas), camera), 3, 0.5, 0.0, {}, curve)
    light = expose(plan, 1)[0][height // 2, :, 0]
    half = int(np.argmin(np.abs(light - 0.5)))
    assert abs(light[half] - 0.5) < 0.05
    clean = Degradation(shot=0.0, read=0.0, codec="none", quality=0)
    written = list(render_sequence(plan, clean, np.random.default_rng(0)))[1][0][height // 2, :, 0]
    y = 1.08 * light[half] ** (1 / 1.8) - 0.08  # written out: the power law (above the knee), then the contrast
    assert abs(int(written[half]) - 255 * (0.7 * y + 0.3 * y * y * (3 - 2 * y))) <= 1
    assert abs(int(written[half]) - 255 * (1.055 * light[half] ** (1 / 2.4) - 0.055)) > 10
