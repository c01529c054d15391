"""Overlapping tiles for frames too large to process at once, blended without seams.

Along each axis, neighbouring tiles overlap by ``2·context + feather`` pixels. Each tile's outer ``context``
pixels on a side shared with a neighbour get weight 0 (their output saw padding, not the real neighbourhood);
across the next ``feather`` pixels the two tiles' weights ramp linearly in opposite directions and sum to one.
A model whose receptive field fits in ``context`` therefore gives the same output tiled as untiled, and the
linear cross-fade hides what differences a larger receptive field leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TileConfig:
    """How tiles overlap.

    Attributes:
        context: pixels at each inner tile edge whose output is discarded (should cover the receptive field
            the model needs to be accurate).
        feather: width of the linear cross-fade between neighbouring tiles.
    """

    context: int = 32
    feather: int = 16

    def __post_init__(self) -> None:
        if self.context < 0 or self.feather < 1:
            raise ValueError(f"context must be >= 0 and feather >= 1, got {self.context}, {self.feather}")

    @property
    def overlap(self) -> int:
        """Pixels shared by neighbouring tiles."""
        return 2 * self.context + self.feather


def tile_spans(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """``(start, stop)`` of tiles of about ``tile`` pixels covering ``[0, length)``, sharing >= ``overlap`` pixels.

    Starts are multiples of ``align``: a network that downsamples by ``align`` is only shift-equivariant for
    such shifts, so an unaligned tile would see a differently sampled image. The last tile ends at ``length``
    and may be up to ``align - 1`` pixels longer than ``tile``.
    """
    if tile >= length:
        return [(0, length)]
    if tile <= overlap + align:
        raise ValueError(f"tile size {tile} must exceed the overlap {overlap} plus the alignment {align}")
    # Flooring starts to the alignment can shrink an overlap by up to align - 1, so plan with align extra.
    count = math.ceil((length - overlap - align) / (tile - overlap - align))
    starts = [(round(i * (length - tile) / (count - 1)) // align) * align for i in range(count)]
    return [(start, length if i == count - 1 else min(start + tile, length)) for i, start in enumerate(starts)]


def _axis_weights(spans: list[tuple[int, int]], config: TileConfig) -> list[torch.Tensor]:
    """1-D blending weights of each tile along one axis."""
    weights = []
    for i, (start, stop) in enumerate(spans):
        w = torch.ones(stop - start)
        if i > 0:  # a neighbour before: zero over the context, then ramp up across the shared zone
            previous_stop = spans[i - 1][1] - start
            _ramp(w, lo=config.context, hi=previous_stop - config.context, rising=True)
        if i < len(spans) - 1:
            next_start = spans[i + 1][0] - start
            _ramp(w, lo=next_start + config.context, hi=stop - start - config.context, rising=False)
        weights.append(w)
    return weights


def _ramp(w: torch.Tensor, lo: int, hi: int, rising: bool) -> None:
    """Multiply ``w`` by a ramp that is 0 before ``lo``, linear across ``[lo, hi)``, 1 after (or mirrored)."""
    positions = torch.arange(w.numel(), dtype=torch.float32) + 0.5
    ramp = ((positions - lo) / max(hi - lo, 1)).clamp(0.0, 1.0)
    w.mul_(ramp if rising else 1.0 - ramp)


@dataclass(frozen=True)
class Tile:
    """One tile: the pixel box it covers and its 2-D blending weight ``(h, w)``."""

    top: int
    left: int
    height: int
    width: int
    weight: torch.Tensor

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """The tile's region of a ``(..., H, W)`` tensor."""
        return x[..., self.top : self.top + self.height, self.left : self.left + self.width]


class TilePlan:
    """Tiles covering an ``height × width`` frame, and the blending of their outputs.

    Args:
        height, width: the frame size.
        tile: tile side in pixels (None or >= both sides: one tile, no blending).
        config: overlap settings.
        align: tile offsets are multiples of this (the model's downsampling factor).
    """

    def __init__(
        self, height: int, width: int, tile: int | None, config: TileConfig = TileConfig(), align: int = 1
    ) -> None:
        self.height, self.width = height, width
        side = tile if tile is not None else max(height, width)
        rows = tile_spans(height, side, config.overlap, align)
        cols = tile_spans(width, side, config.overlap, align)
        row_w = _axis_weights(rows, config)
        col_w = _axis_weights(cols, config)
        self.tiles = [
            Tile(top, left, bottom - top, right - left, wr[:, None] * wc[None, :])
            for (top, bottom), wr in zip(rows, row_w, strict=True)
            for (left, right), wc in zip(cols, col_w, strict=True)
        ]

    @property
    def is_single(self) -> bool:
        """True when one tile covers the frame (nothing to blend)."""
        return len(self.tiles) == 1

    def blend(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        """Combine per-tile outputs ``(B, C, h, w)`` (in ``tiles`` order) into the frame ``(B, C, H, W)``."""
        if self.is_single:
            return outputs[0]
        first = outputs[0]
        total = first.new_zeros(*first.shape[:-2], self.height, self.width)
        norm = first.new_zeros(self.height, self.width)
        for tile, out in zip(self.tiles, outputs, strict=True):
            weight = tile.weight.to(out.device, out.dtype)
            tile.crop(total).add_(out * weight)
            tile.crop(norm).add_(weight)
        return total / norm
