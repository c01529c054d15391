"""sRGB transfer function and highlight boosting: blur is an average of light, so it is formed in linear light."""

from __future__ import annotations

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
