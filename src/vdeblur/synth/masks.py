"""Regions that move on their own: object masks cut from photographs, depth maps, and hole filling."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften a binary mask's edge over about ``radius`` pixels (a real object edge covers pixels partially)."""
    return np.clip(cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(radius, 0.3)), 0.0, 1.0)


def grabcut_mask(image_srgb: np.ndarray, rect: tuple[int, int, int, int], work_side: int = 320) -> np.ndarray:
    """Foreground of ``image_srgb`` (float sRGB ``(H, W, 3)``) inside ``rect = (x, y, w, h)`` by GrabCut.

    Runs on a copy shrunk to ``work_side`` pixels (GrabCut is slow and the mask's edge is feathered anyway).

    Returns:
        ``(H, W)`` float32 mask in {0, 1}.
    """
    height, width = image_srgb.shape[:2]
    scale = min(1.0, work_side / max(height, width))
    small = cv2.resize(image_srgb, (max(8, round(width * scale)), max(8, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    small8 = np.round(np.clip(small, 0, 1) * 255).astype(np.uint8)[:, :, ::-1].copy()
    x, y, w, h = (max(1, round(v * scale)) for v in rect)
    w, h = min(w, small8.shape[1] - x - 1), min(h, small8.shape[0] - y - 1)
    labels = np.zeros(small8.shape[:2], np.uint8)
    background_model, foreground_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut seeds its colour models from OpenCV's per-thread RNG, whose state is whatever earlier calls left:
    # reset it, so that a sequence does not depend on which sequences its worker process rendered before.
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(small8, labels, (x, y, w, h), background_model, foreground_model, 3, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return np.zeros((height, width), np.float32)
    foreground = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # Keep the largest connected part: GrabCut leaves specks that would move as confetti.
    count, components, stats, _ = cv2.connectedComponentsWithStats(foreground)
    if count > 1:
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        foreground = (components == largest).astype(np.uint8)
    return cv2.resize(foreground.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR).round()


def blob_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random rounded shape filling most of an ``height × width`` box (a stand-in for an object outline)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, size=int(rng.integers(5, 12))))
    radii = rng.uniform(0.6, 1.0, size=angles.size)
    points = np.stack([(0.5 + 0.5 * radii * np.cos(angles)) * (width - 1),
                       (0.5 + 0.5 * radii * np.sin(angles)) * (height - 1)], axis=1)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    # Round the polygon's corners: threshold a blurred copy.
    return (cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.05 * min(height, width) + 0.5) > 0.5).astype(np.float32)


def random_depth(rng: np.random.Generator, height: int, width: int, amplitude: float) -> np.ndarray:
    """Relative inverse depth ≥ 1 - amplitude: a tilted ground plane (near at the bottom, usually) plus smooth
    random relief, so that camera translation moves parts of the frame by different amounts."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    tilt = rng.normal(0.0, 0.3)
    plane = (ys / max(height - 1, 1) - 0.5) + tilt * (xs / max(width - 1, 1) - 0.5)
    coarse = gaussian_filter(rng.standard_normal((height // 32 + 2, width // 32 + 2)), 1.0)
    relief = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    relief /= np.abs(relief).max() + 1e-6
    depth = 0.6 * plane / (np.abs(plane).max() + 1e-6) + 0.4 * relief
    return (1.0 + amplitude * depth).astype(np.float32)


def fill_hole(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill ``hole`` (``(H, W)`` in [0, 1]) of a linear image by inpainting at quarter size.

    Only thin strips of the fill are ever seen (what a moving foreground uncovers), so a smooth fill is enough.
    """
    height, width = hole.shape
    small_size = (max(8, width // 4), max(8, height // 4))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole, small_size, interpolation=cv2.INTER_AREA) > 0.01).astype(np.uint8)
    peak = max(float(small.max()), 1e-6)
    small8 = np.round(np.clip(small / peak, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
    filled = cv2.inpaint(small8, small_hole, 5, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
    filled = cv2.resize(filled ** 2.2 * peak, (width, height), interpolation=cv2.INTER_LINEAR)
    weight = hole[..., None]
    return image * (1 - weight) + filled * weight
