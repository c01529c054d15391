"""Blur formation: linear-light averaging, a known trajectory over a step edge, highlights, interpolation."""

from __future__ import annotations

import numpy as np
import skimage.data

from vdeblur.synth.build import Plan
from vdeblur.synth.color import boost_highlights, linear_to_srgb, srgb_to_linear
from vdeblur.synth.flow import FlowInterpolator
from vdeblur.synth.pipeline import expose
from vdeblur.synth.scene import Camera, Scene, StillBackground
from vdeblur.synth.trajectory import MotionPath, exposure_lengths


def _horizontal_path(speed: float, num_frames: int) -> MotionPath:
    times = np.linspace(-1.0, num_frames + 1.0, 64 * (num_frames + 2) + 1)
    zeros = np.zeros_like(times)
    return MotionPath(times, speed * times, zeros, zeros, zeros)


def test_srgb_transfer_matches_the_standard():
    values = np.linspace(0, 1, 11, dtype=np.float32)
    reference = np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(srgb_to_linear(values), reference, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(values)), values, atol=1e-5)
    assert abs(float(srgb_to_linear(np.float32(0.5))) - 0.2140) < 1e-3


def test_static_scene_averages_to_itself():
    rng = np.random.default_rng(0)
    canvas = srgb_to_linear(rng.random((24, 32, 3), dtype=np.float32))
    camera = Camera((32, 24), (15.5, 11.5), path=None)
    plan = Plan(Scene(StillBackground(canvas), camera), num_frames=3, exposure=1.0, footage_motion=5.0, facts={})
    blurred, sharp = expose(plan, 1)
    np.testing.assert_allclose(blurred, canvas, atol=1e-5)
    np.testing.assert_allclose(sharp, canvas, atol=1e-5)


def test_horizontal_motion_over_a_step_edge_gives_a_ramp_of_the_blur_length():
    speed, exposure = 24.0, 0.5  # 12 pixels travelled while the shutter is open
    width, height, margin = 96, 8, 40
    canvas = np.zeros((height + 2 * margin, width + 2 * margin, 3), np.float32)
    canvas[:, (width + 2 * margin) // 2 :] = 1.0
    path = _horizontal_path(speed, 3)
    assert np.allclose(exposure_lengths(path, 3, exposure), speed * exposure)
    camera = Camera((width, height), ((canvas.shape[1] - 1) / 2, (canvas.shape[0] - 1) / 2), path)
    plan = Plan(Scene(StillBackground(canvas), camera), num_frames=3, exposure=exposure, footage_motion=0.0, facts={})
    blurred, sharp = expose(plan, 1)
    row = blurred[height // 2, :, 0]
    ramp = np.flatnonzero((row > 0.01) & (row < 0.99))
    assert abs(len(ramp) - speed * exposure) <= 1.0
    # In linear light the ramp is straight: equal steps between its ends.
    steps = np.diff(row[ramp])
    assert np.all(steps > 0) and steps.std() < 0.2 * steps.mean()
    # The sharp frame keeps the edge sharp (one transition pixel at most from resampling).
    assert np.count_nonzero((sharp[height // 2, :, 0] > 0.05) & (sharp[height // 2, :, 0] < 0.95)) <= 2


def test_boosted_highlights_stay_saturated_after_averaging():
    canvas = np.full((8, 80 + 80, 3), 0.05, np.float32)
    canvas[:, 78:82] = 1.0  # a 4-pixel white light
    boosted = boost_highlights(canvas, gain=8.0)
    assert boosted[0, 80, 0] == np.float32(8.0) and boosted[0, 0, 0] == np.float32(0.05)
    camera = Camera((80, 8), ((canvas.shape[1] - 1) / 2, 3.5), _horizontal_path(16.0, 3))
    results = {}
    for name, image in (("plain", canvas), ("boosted", boosted)):
        plan = Plan(Scene(StillBackground(image), camera), 3, 1.0, 0.0, {})
        results[name] = expose(plan, 1)[0][4, :, 0]
    assert results["plain"].max() < 0.4  # a dim smear: what 8-bit sources give without the boost
    assert np.count_nonzero(results["boosted"] >= 0.999) >= 8  # a saturated streak


def test_interpolation_follows_the_motion_instead_of_cross_fading():
    texture = skimage.data.astronaut()[100:180, 150:290]  # a real photograph: face, helmet, flag
    shift = 6
    first, second = texture[:, 10:130], texture[:, 10 - shift : 130 - shift]  # content moves right by 6 px
    clip = FlowInterpolator([np.ascontiguousarray(first), np.ascontiguousarray(second)])
    middle = clip.frame_at(0.5)
    truth = srgb_to_linear(texture[:, 10 - shift // 2 : 130 - shift // 2].astype(np.float32) / 255)
    cross_fade = 0.5 * (clip.linear(0) + clip.linear(1))
    inner = (slice(8, -8), slice(12, -12))
    error = np.abs(middle - truth)[inner].mean()
    assert error < 0.5 * np.abs(cross_fade - truth)[inner].mean()
    assert error < 0.03
