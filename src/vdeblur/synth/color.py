"""Camera tone curves (sRGB and a random family) and highlight boosting: blur is an average of light, so it is
formed in linear light."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """Inverse sRGB gamma (IEC 61966-2-1), float32 in, float32 out."""
    image = np.asarray(image, dtype=np.float32)
    return np.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(image: np.ndarray) -> np.ndarray:
    """sRGB gamma of linear values; negative inputs map to 0 (values above 1 stay above 1 until clipped)."""
    image = np.maximum(np.asarray(image, dtype=np.float32), 0.0)
    return np.where(image <= 0.0031308, image * 12.92, 1.055 * image ** (1 / 2.4) - 0.055).astype(np.float32)


def boost_highlights(linear: np.ndarray, gain: float, threshold: float = 0.85) -> np.ndarray:
    """Scale up the near-white parts of a linear image, so that clipped sources behave like bright lights.

    An 8-bit photo stores a lamp or a specular glint as 1.0 although the scene was far brighter. Averaging
    such a value with dark neighbours dims it, while a real long exposure keeps a saturated streak. Raising
    those pixels above 1 before averaging (and clipping after) restores that: the streak stays white where
    the light dwelt long enough.

    Args:
        linear: ``(H, W, 3)`` linear image in [0, 1].
        gain: multiplier reached where the brightest channel is 1.0; 1 leaves the image unchanged.
        threshold: brightest-channel value (linear) above which the boost ramps in smoothly.

    Returns:
        The boosted image, float32, values up to ``gain``.
    """
    peak = linear.max(axis=2, keepdims=True)
    ramp = np.clip((peak - threshold) / (1.0 - threshold), 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep: no visible edge where the boost starts
    return (linear * (1.0 + (gain - 1.0) * ramp)).astype(np.float32)


@dataclass(frozen=True)
class ToneCurve:
    """A camera response: linear sensor value → encoded value, strictly increasing on [0, 1].

    A power law with a linear toe, ``(1 + offset) · L^(1/gamma) − offset`` above the point where its slope
    falls to the toe's, ``slope · L`` below it (value and slope continuous there), followed by an S-shaped
    contrast curve ``(1 − contrast) · y + contrast · smoothstep(y)``. ``gamma=2.4, offset=0.055`` is sRGB's
    shape and ``gamma=1/0.45, offset=0.099`` BT.709's; cameras' JPEG engines add contrast on top. Real cameras
    do not encode with the exact sRGB curve, and the curve decides how a blurred edge's smear looks in 8 bits.
    """

    gamma: float
    offset: float
    contrast: float = 0.0

    def __post_init__(self) -> None:
        if not (self.gamma > 1 and self.offset > 0 and 0 <= self.contrast < 1):
            raise ValueError(f"A tone curve needs gamma > 1, offset > 0 and 0 <= contrast < 1, got {self}.")

    @property
    def knee(self) -> float:
        """Linear value where the toe meets the power law (their values and slopes agree there)."""
        return (self.offset / ((1 + self.offset) * (1 - 1 / self.gamma))) ** self.gamma

    @property
    def slope(self) -> float:
        return (1 + self.offset) / self.gamma * self.knee ** (1 / self.gamma - 1)

    @cached_property
    def _contrast_table(self) -> tuple[np.ndarray, np.ndarray]:
        # The contrast curve's slope is at least 1 - contrast, so a table on an even grid inverts it closely.
        grid = np.linspace(0.0, 1.0, 4097, dtype=np.float64)
        return grid, self._contrast(grid)

    def _contrast(self, y: np.ndarray) -> np.ndarray:
        return (1 - self.contrast) * y + self.contrast * y * y * (3 - 2 * y)

    def from_linear(self, image: np.ndarray) -> np.ndarray:
        """Encode linear values (clipped to [0, 1]) as the camera would, float32."""
        linear = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
        power = (1 + self.offset) * linear ** (1 / self.gamma) - self.offset
        encoded = np.where(linear <= self.knee, self.slope * linear, power)
        return self._contrast(encoded).astype(np.float32)

    def to_linear(self, image: np.ndarray) -> np.ndarray:
        """Invert `from_linear` for encoded values in [0, 1], float32."""
        encoded = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
        if self.contrast:
            grid, curve = self._contrast_table
            encoded = np.interp(encoded, curve, grid)
        toe_top = self.slope * self.knee
        power = ((encoded + self.offset) / (1 + self.offset)) ** self.gamma
        return np.where(encoded <= toe_top, encoded / self.slope, power).astype(np.float32)

    def describe(self) -> dict:
        return {"gamma": round(self.gamma, 3), "offset": round(self.offset, 4), "contrast": round(self.contrast, 3)}


class SRGB:
    """The sRGB curve of IEC 61966-2-1, with the same methods as `ToneCurve` (the default camera response)."""

    from_linear = staticmethod(linear_to_srgb)
    to_linear = staticmethod(srgb_to_linear)

    def describe(self) -> str:
        return "srgb"


def random_tone_curve(rng: np.random.Generator) -> ToneCurve:
    """A camera response between BT.709's and a steep sRGB-like curve, with up to strong JPEG-engine contrast."""
    gamma = math.exp(rng.uniform(math.log(1.8), math.log(2.6)))
    return ToneCurve(gamma=gamma, offset=float(rng.uniform(0.03, 0.12)), contrast=float(rng.uniform(0.0, 0.5)))
