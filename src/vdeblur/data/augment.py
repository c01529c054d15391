"""Geometric augmentation drawn once per item and applied identically to every frame of a window and its target.

A draw is a small frozen record so that the same transform can be replayed on the blurred window and on the
sharp frame; the random generator is seeded per (seed, epoch, item[, crop]), which makes an item reproducible
regardless of which DataLoader worker builds it or whether training was resumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    """One geometric transform: crop, then horizontal/vertical flip, then ``rot90`` quarter turns.

    Attributes:
        top, left, height, width: the crop window in the source frame.
        flip_h, flip_v: mirror left-right / top-bottom.
        quarter_turns: counter-clockwise 90° turns (0–3); odd values only for square crops, so that every item
            of a batch keeps the same shape.
        reverse_time: play the window backwards (the target, being the middle frame, stays the same).
    """

    top: int
    left: int
    height: int
    width: int
    flip_h: bool = False
    flip_v: bool = False
    quarter_turns: int = 0
    reverse_time: bool = False

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Transform one ``(H, W, C)`` frame; the result is contiguous."""
        out = image[self.top : self.top + self.height, self.left : self.left + self.width]
        if self.flip_h:
            out = out[:, ::-1]
        if self.flip_v:
            out = out[::-1]
        if self.quarter_turns:
            out = np.rot90(out, self.quarter_turns, axes=(0, 1))
        return np.ascontiguousarray(out)


def item_rng(seed: int, epoch: int, index: int, crop: int | None = None) -> np.random.Generator:
    """The random generator for one item of one epoch (and, where a window gives several, for its ``crop``-th
    crop): independent of worker and call order."""
    return np.random.default_rng([seed, epoch, index] if crop is None else [seed, epoch, index, crop])


def draw_augmentation(
    rng: np.random.Generator, frame_height: int, frame_width: int, patch_size: int | None, augment: bool
) -> Augmentation:
    """Draw a crop (random position when ``patch_size`` is set) and, if ``augment``, flips, turns and reversal."""
    height = width = patch_size
    if patch_size is None:
        height, width = frame_height, frame_width
    top = int(rng.integers(0, frame_height - height + 1))
    left = int(rng.integers(0, frame_width - width + 1))
    if not augment:
        return Augmentation(top, left, height, width)
    turns = int(rng.integers(0, 4)) if height == width else 2 * int(rng.integers(0, 2))
    return Augmentation(
        top, left, height, width,
        flip_h=bool(rng.integers(0, 2)), flip_v=bool(rng.integers(0, 2)),
        quarter_turns=turns, reverse_time=bool(rng.integers(0, 2)),
    )
