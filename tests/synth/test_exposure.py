"""Blur formation: linear-light averaging, a known trajectory over a step edge, highlights, interpolation."""

from __future__ import annotations

import numpy as np
import skimage.data

from vdeblur.synth.build import Plan
from vdeblur.synth.color import ToneCurve, boost_highlights, linear_to_srgb, srgb_to_linear
from vdeblur.synth.flow import FlowInterpolator
from vdeblur.synth.pipeline import Degradation, expose, render_sequence
from vdeblur.synth.scene import Camera, Scene, StillBackground
from vdeblur.synth.trajectory import MotionPath, exposure_lengths, linear_motion, random_shake


def _horizontal_path(speed: float, num_frames: int) -> MotionPath:
    times = np.linspace(-1.0, num_frames + 1.0, 64 * (num_frames + 2) + 1)
    zeros = np.zeros_like(times)
    return MotionPath(times, speed * times, zeros, zeros, zeros)


def _half_crossing(row: np.ndarray) -> float:
    """Sub-pixel column where a rising 0 -> 1 profile crosses 0.5 (linear between the neighbouring pixels)."""
    above = int(np.argmax(row >= 0.5))
    assert above > 0 and row[above - 1] < 0.5
    return above - 1 + (0.5 - row[above - 1]) / (row[above] - row[above - 1])


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


def test_static_photograph_comes_back_unchanged_through_linear_light_and_8_bits():
    photo = np.ascontiguousarray(skimage.data.astronaut()[100:140, 150:200])  # real 8-bit sRGB content
    canvas = srgb_to_linear(photo.astype(np.float32) / 255)
    camera = Camera((50, 40), (24.5, 19.5), path=None)
    plan = Plan(Scene(StillBackground(canvas), camera), num_frames=2, exposure=1.0, footage_motion=3.0, facts={})
    clean = Degradation(shot=0.0, read=0.0, codec="none", quality=0)
    for blurred8, sharp8 in render_sequence(plan, clean, np.random.default_rng(0)):
        assert np.abs(blurred8.astype(int) - photo).max() <= 1
        assert np.abs(sharp8.astype(int) - photo).max() <= 1


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
    # The shutter is centred on the frame time (index ± exposure/2), so the ramp is centred on the sharp
    # frame's edge; a shutter opening at the frame time would put it speed·exposure/2 = 6 px away.
    assert abs(_half_crossing(row) - _half_crossing(sharp[height // 2, :, 0])) <= 0.5
    # Written in 8-bit sRGB, the half-exposed pixel is sRGB(0.5) = 188, not the 128 of averaging sRGB values.
    clean = Degradation(shot=0.0, read=0.0, codec="none", quality=0)
    written = list(render_sequence(plan, clean, np.random.default_rng(0)))[1][0][height // 2, :, 0]
    half = int(np.argmin(np.abs(row - 0.5)))
    assert abs(row[half] - 0.5) < 0.05
    srgb_half = 1.055 * row[half] ** (1 / 2.4) - 0.055  # IEC 61966-2-1, written out independently
    assert abs(int(written[half]) - 255 * srgb_half) <= 1


def test_a_half_exposed_edge_pixel_is_written_through_the_plans_curve():
    # A black/white step edge crossed by 12 px of motion: the pixel that saw white for half the exposure holds
    # half the light whatever the curve, and is written as the curve's value of it, not as sRGB's (188).
    curve = ToneCurve(gamma=1.8, offset=0.08, contrast=0.3)
    width, height, margin = 64, 4, 30
    canvas = np.zeros((height + 2 * margin, width + 2 * margin, 3), np.float32)
    canvas[:, canvas.shape[1] // 2 :] = 1.0
    centre = ((canvas.shape[1] - 1) / 2, (canvas.shape[0] - 1) / 2)
    camera = Camera((width, height), centre, _horizontal_path(24.0, 3))
    plan = Plan(Scene(StillBackground(canvas), camera), 3, 0.5, 0.0, {}, curve)
    light = expose(plan, 1)[0][height // 2, :, 0]
    half = int(np.argmin(np.abs(light - 0.5)))
    assert abs(light[half] - 0.5) < 0.05
    clean = Degradation(shot=0.0, read=0.0, codec="none", quality=0)
    written = list(render_sequence(plan, clean, np.random.default_rng(0)))[1][0][height // 2, :, 0]
    y = 1.08 * light[half] ** (1 / 1.8) - 0.08  # written out: the power law (above the knee), then the contrast
    assert abs(int(written[half]) - 255 * (0.7 * y + 0.3 * y * y * (3 - 2 * y))) <= 1
    assert abs(int(written[half]) - 255 * (1.055 * light[half] ** (1 / 2.4) - 0.055)) > 10


def test_paths_of_short_sequences_have_the_requested_blur():
    # One- to three-frame sequences once drew NaN or motionless paths (noise normalised over too few points).
    for frames in (1, 2, 3):
        for seed in range(10):
            shake = random_shake(np.random.default_rng(seed), frames, exposure=0.5, blur_length=12.0)
            assert np.isfinite([shake.x, shake.y, shake.angle, shake.log_scale]).all()
            assert abs(np.median(exposure_lengths(shake, frames, 0.5)) - 12.0) < 1e-6
            assert shake.times[-1] == frames + 1.0
            moving = linear_motion(np.random.default_rng(seed), frames, exposure=0.5, blur_length=12.0)
            assert 4.0 < np.median(exposure_lengths(moving, frames, 0.5)) < 36.0


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


def test_centroid_target_puts_the_edge_where_the_blur_is_centred_and_instant_target_does_not():
    # An accelerating camera (x = 6 t²) over a step edge, exposed over t = 0.5 … 1.5: the edge travels 12 px,
    # faster at the end, so the blur's mass lies off the mid-exposure pose. The blurred row's derivative is the
    # edge's distribution of positions over the exposure; its centroid is where the blur is centred.
    width, height, margin = 96, 4, 40
    canvas = np.zeros((height + 2 * margin, width + 2 * margin, 3), np.float32)
    canvas[:, canvas.shape[1] // 2 :] = 1.0
    times = np.linspace(-1.0, 4.0, 64 * 5 + 1)
    zeros = np.zeros_like(times)
    camera = Camera((width, height), ((canvas.shape[1] - 1) / 2, (canvas.shape[0] - 1) / 2),
                    MotionPath(times, 6.0 * times**2, zeros, zeros, zeros))
    plan = Plan(Scene(StillBackground(canvas), camera), num_frames=3, exposure=1.0, footage_motion=0.0, facts={})
    blurred, instant = expose(plan, 1, target="instant")
    same_blur, centroid = expose(plan, 1, target="centroid")
    np.testing.assert_array_equal(blurred, same_blur)  # the target changes nothing else
    density = np.diff(blurred[height // 2, :, 0])
    blur_centre = float(np.sum((np.arange(density.size) + 0.5) * density) / density.sum())
    # Mean of 6 t² over [0.5, 1.5] is 6.5, against 6 at t = 1: the centres differ by 0.5 px.
    assert abs(_half_crossing(centroid[height // 2, :, 0]) - blur_centre) < 0.1
    assert abs(_half_crossing(instant[height // 2, :, 0]) - blur_centre) > 0.4
