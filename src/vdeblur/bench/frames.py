"""Synthetic frames and test videos of any size for speed and memory measurements.

Speed does not depend on what the frames show, but a video encoder's does: a smooth pattern with moving
edges keeps encoding cost near that of real footage, where random noise would inflate it.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from vdeblur.io.atomic import atomic_output
from vdeblur.io.video import VideoWriter

FRAME_RATE = Fraction(30)


def pattern_frame(index: int, height: int, width: int) -> np.ndarray:
    """An RGB uint8 ``(height, width, 3)`` frame: colour ramps and a bar that moves with ``index``."""
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[..., 0] = (x + 5 * index) % 256  # assignment broadcasts the (1, W) and (H, 1) ramps
    image[..., 1] = y % 256
    image[..., 2] = ((x + y) / 2 + 3 * index) % 256
    bar = (index * 7) % max(width - 8, 1)
    image[:, bar : bar + 8] = 255
    return image


def pattern_frames(count: int, height: int, width: int) -> Iterator[np.ndarray]:
    """``count`` frames of :func:`pattern_frame`, made lazily (a long 4K stream holds one frame at a time)."""
    return (pattern_frame(i, height, width) for i in range(count))


def write_test_video(path: Path, count: int, height: int, width: int) -> Path:
    """Write ``count`` pattern frames as an H.264 video at 30 frames/s; returns ``path``."""
    with atomic_output(path) as tmp, VideoWriter(tmp, FRAME_RATE, destination=path) as writer:
        for image in pattern_frames(count, height, width):
            writer.write(image)
    return path
