"""Smooth random motion paths for the camera and for moving objects, sampled finely and interpolated.

Time is measured in output frames: frame ``i`` is sharp at time ``i`` and its exposure spans
``i ± exposure / 2``. A path is a set of channels (x, y, angle, log-scale) tabulated on a fine grid; evaluating
it at any time interpolates linearly, which is exact to well below a pixel at the grid's spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

# Grid points per frame: fine enough that linear interpolation between them follows curved paths closely.
STEPS_PER_FRAME = 64
# Paths are drawn over at least this many frames: the noise behind them is low-passed over up to 2 frames and then
# normalised, which on a grid of a few frames divides by a tiny or poorly estimated spread (NaN, motionless or
# wildly fast paths). Longer sequences are drawn exactly as before.
MIN_PATH_FRAMES = 16


@dataclass(frozen=True)
class MotionPath:
    """Tabulated motion: ``x, y`` (pixels), ``angle`` (radians) and ``log_scale``, one row per grid time."""

    times: np.ndarray
    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray
    log_scale: np.ndarray

    def at(self, t: float) -> tuple[float, float, float, float]:
        """``(x, y, angle, log_scale)`` at time ``t`` (clamped to the tabulated range)."""
        return tuple(float(np.interp(t, self.times, c)) for c in (self.x, self.y, self.angle, self.log_scale))

    def scaled(self, factor: float) -> "MotionPath":
        """The same path with every motion multiplied by ``factor`` (blur lengths scale with it)."""
        return MotionPath(self.times, self.x * factor, self.y * factor, self.angle * factor, self.log_scale * factor)

    def until(self, end: float) -> "MotionPath":
        """The path restricted to times up to ``end``."""
        keep = self.times <= end + 1e-9
        return MotionPath(self.times[keep], self.x[keep], self.y[keep], self.angle[keep], self.log_scale[keep])

    def held_at_mean(self, times: np.ndarray) -> "MotionPath":
        """A motionless path at this path's mean pose over ``times`` (every channel averaged): where the content
        of an exposure sampled at ``times`` is centred, which a curved or accelerating path moves off the pose
        at the exposure's middle."""
        means = [float(np.mean(np.interp(times, self.times, c))) for c in (self.x, self.y, self.angle, self.log_scale)]
        return MotionPath(self.times, *(np.full_like(self.times, m) for m in means))

    def max_excursion(self) -> float:
        """Largest distance in pixels of the translation from the origin, over the whole path."""
        return float(np.hypot(self.x, self.y).max())


def _time_grid(num_frames: int) -> np.ndarray:
    """Grid times from -1 to ``max(num_frames, MIN_PATH_FRAMES) + 1``, `STEPS_PER_FRAME` per frame."""
    frames = max(num_frames, MIN_PATH_FRAMES)
    return np.linspace(-1.0, frames + 1.0, (frames + 2) * STEPS_PER_FRAME + 1)


def _smooth_noise(rng: np.random.Generator, n: int, correlation_steps: float) -> np.ndarray:
    """Unit-variance Gaussian noise low-passed over about ``correlation_steps`` grid points."""
    noise = gaussian_filter1d(rng.standard_normal(n), correlation_steps, mode="wrap")
    return noise / (noise.std() + 1e-12)


def _bursts(rng: np.random.Generator, n: int, rate_per_frame: float) -> np.ndarray:
    """Speed envelope ≥ 1 with occasional short jolts (a hand jerking, a footstep), about 1/3 frame long."""
    envelope = np.ones(n)
    count = rng.poisson(rate_per_frame * n / STEPS_PER_FRAME)
    centres = rng.integers(0, n, size=count)
    grid = np.arange(n)
    for centre in centres:
        width = STEPS_PER_FRAME * rng.uniform(0.15, 0.5)
        envelope += rng.uniform(1.0, 3.0) * np.exp(-0.5 * ((grid - centre) / width) ** 2)
    return envelope


def exposure_lengths(path: MotionPath, num_frames: int, exposure: float) -> np.ndarray:
    """Length in pixels of the translation travelled during each frame's exposure (the blur length)."""
    step = np.hypot(np.diff(path.x), np.diff(path.y))
    travelled = np.concatenate([[0.0], np.cumsum(step)])
    starts = np.arange(num_frames) - exposure / 2
    return np.interp(starts + exposure, path.times, travelled) - np.interp(starts, path.times, travelled)


def random_shake(
    rng: np.random.Generator,
    num_frames: int,
    exposure: float,
    blur_length: float,
    rotation_share: float = 0.3,
    zoom_share: float = 0.15,
    frame_diagonal: float = 700.0,
    burst_rate: float = 0.2,
) -> MotionPath:
    """A hand-held camera path whose median blur length per exposure is ``blur_length`` pixels.

    Velocity is low-passed noise (its correlation time, drawn per path, sets whether blur kernels are straight
    lines or curls) times a speed envelope with jolts; the position is then high-passed so that the camera
    shakes around a centre instead of drifting out of the picture over a long sequence.

    Args:
        rng: the random source.
        num_frames: output frames covered (times ``-1 … num_frames``, a margin for exposures at the ends).
        exposure: shutter-open fraction of a frame interval (0, 1].
        blur_length: target median translation per exposure, pixels.
        rotation_share, zoom_share: rotation and zoom scaled so that the frame's corners move by about this
            fraction of ``blur_length`` from each, with a random factor per path.
        frame_diagonal: pixels; turns corner motion into an angle and a scale change.
        burst_rate: expected jolts per frame.
    """
    times = _time_grid(num_frames)
    n = times.size
    correlation = STEPS_PER_FRAME * rng.uniform(0.08, 1.5)
    envelope = _bursts(rng, n, burst_rate) * np.exp(0.35 * _smooth_noise(rng, n, 2 * STEPS_PER_FRAME))
    drift = rng.normal(0.0, 0.7, size=2)  # a steady pan component makes straight streaks more common
    vx = (_smooth_noise(rng, n, correlation) + drift[0]) * envelope
    vy = (_smooth_noise(rng, n, correlation) + drift[1]) * envelope
    x, y = np.cumsum(vx), np.cumsum(vy)
    # Remove the wander slower than about a frame: a hand shakes around a centre instead of drifting out of the
    # picture, and the canvas margin (hence the usable output size) stays small.
    x -= gaussian_filter1d(x, STEPS_PER_FRAME, mode="nearest")
    y -= gaussian_filter1d(y, STEPS_PER_FRAME, mode="nearest")
    half_diag = frame_diagonal / 2
    angle = np.cumsum(_smooth_noise(rng, n, correlation) * envelope)
    log_scale = np.cumsum(_smooth_noise(rng, n, correlation) * envelope)
    angle -= gaussian_filter1d(angle, STEPS_PER_FRAME, mode="nearest")
    log_scale -= gaussian_filter1d(log_scale, STEPS_PER_FRAME, mode="nearest")
    raw = MotionPath(times, x, y, np.zeros(n), np.zeros(n))
    scale = blur_length / max(float(np.median(exposure_lengths(raw, num_frames, exposure))), 1e-9)
    rot_path = MotionPath(times, angle, np.zeros(n), np.zeros(n), np.zeros(n))
    zoom_path = MotionPath(times, log_scale, np.zeros(n), np.zeros(n), np.zeros(n))
    rot_scale = rotation_share * rng.uniform(0.0, 1.5) * blur_length / half_diag
    rot_scale /= max(float(np.median(exposure_lengths(rot_path, num_frames, exposure))), 1e-9)
    zoom_scale = zoom_share * rng.uniform(0.0, 1.5) * blur_length / half_diag
    zoom_scale /= max(float(np.median(exposure_lengths(zoom_path, num_frames, exposure))), 1e-9)
    return MotionPath(times, x * scale, y * scale, angle * rot_scale, log_scale * zoom_scale).until(num_frames + 1.0)


def linear_motion(
    rng: np.random.Generator, num_frames: int, exposure: float, blur_length: float, wobble: float = 0.2
) -> MotionPath:
    """An object's path: a steady velocity giving ``blur_length`` pixels per exposure, a gently curving
    direction, a little spin and a slow change of size (coming closer or going away)."""
    times = _time_grid(num_frames)
    n = times.size
    heading = rng.uniform(0, 2 * np.pi) + wobble * np.cumsum(_smooth_noise(rng, n, STEPS_PER_FRAME)) / STEPS_PER_FRAME
    speed = blur_length / exposure * np.exp(0.2 * _smooth_noise(rng, n, 2 * STEPS_PER_FRAME))
    dt = times[1] - times[0]
    x = np.cumsum(speed * np.cos(heading)) * dt
    y = np.cumsum(speed * np.sin(heading)) * dt
    spin = rng.normal(0.0, 0.03) * times
    growth = rng.normal(0.0, 0.02) * times
    path = MotionPath(times, x - np.interp(0, times, x), y - np.interp(0, times, y), spin, growth)
    return path.until(num_frames + 1.0)
