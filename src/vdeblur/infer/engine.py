"""Running a model over a stream of frames: sliding windows, tiles, feature caching and autocast.

With a model that supports feature caching (``supports_feature_cache``), each frame's encoder features are
computed once, per tile, and reused by the T windows that contain the frame; only ``decode_window`` runs per
output frame. Tiling and caching work together: the tile grid is fixed for a video, so a frame's features are
cached tile by tile. The cache holds the features of T+1 frames for the whole frame, so when they would not fit
in the memory budget caching is turned off and each tile runs the model's full forward on its window.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vdeblur.errors import MediaError, UserError, first_line
from vdeblur.infer.compiled import engine_calls
from vdeblur.infer.fusion import fuse_for_cpu_inference, fusion_available
from vdeblur.infer.memory import PROBE_SIDE, activation_bytes_per_pixel, available_bytes, tensors_in
from vdeblur.infer.shots import ShotCounter
from vdeblur.infer.tiling import TileConfig, TilePlan
from vdeblur.infer.windows import sliding_windows
from vdeblur.layout import to_channels_last
from vdeblur.models.layers.shapes import pad_to_multiple
from vdeblur.models.streaming import streams

# Activation estimates miss temporaries inside modules; this factor covers them.
_SAFETY = 2.0
_MIN_TILE = 256


@dataclass(frozen=True)
class Plan:
    """How frames of one size are processed."""

    tiles: TilePlan
    use_cache: bool


class WindowEngine:
    """Apply a deblurring model to clips and frame streams, tiled and cached as memory allows.

    Args:
        model: a model following ``docs/INTERFACES.md`` (``forward(clip)``, ``num_frames``; optionally the
            streaming contract :class:`~vdeblur.models.streaming.StreamingModel`).
        device: where the model runs (the model is moved there).
        dtype: autocast dtype (``torch.bfloat16``) or None for float32.
        tile: tile side in pixels; None picks it from free memory; 0 never tiles.
        tile_config: tile overlap settings.
        cache_features: use feature caching when the model supports it (None: when it fits in memory).
        memory_fraction: share of the device's free memory the automatic tile size may plan for.
        channels_last: store the model's weights channels-last (NHWC), the layout of oneDNN's fast CPU
            convolutions; it changes no value, only speed (None: on the CPU, for a model with convolution
            weights). Like moving it to ``device``, this converts ``model`` in place. The frames given to
            ``encode_frame`` are converted too: in float32 that measured clearly faster than weights alone.
        compile: run the model's methods through torch.compile (Inductor, with freezing); see
            :mod:`vdeblur.infer.compiled`. Each new frame or tile size compiles once, for tens of seconds. A
            mapping instead of True gives the Inductor options (:func:`~vdeblur.infer.compiled.engine_calls`).
        fuse: run the stream through an inference copy of the model whose blocks call oneDNN's fused
            convolutions (:mod:`vdeblur.infer.fusion`); None: when not compiling and oneDNN can (on the CPU),
            falling back to the model with a warning if it cannot be copied. The model itself stays as it is; the
            copy holds its convolution weights as they are now, so build a new engine after changing them.
        scene_cuts: in streams (:meth:`run`), find scene cuts and keep every window within its frame's shot
            (:mod:`vdeblur.infer.shots`); False treats a stream as one shot, as the published evaluation protocols
            do with the sequences of a data set.
    """

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        *,
        dtype: torch.dtype | None = None,
        tile: int | None = None,
        tile_config: TileConfig = TileConfig(),
        cache_features: bool | None = None,
        memory_fraction: float = 0.5,
        channels_last: bool | None = None,
        compile: bool | Mapping[str, Any] = False,
        fuse: bool | None = None,
        scene_cuts: bool = True,
    ) -> None:
        self.scene_cuts = scene_cuts
        if channels_last is None:  # only convolution weights have a layout (an ONNX Runtime model has none here)
            channels_last = device.type == "cpu" and any(p.dim() == 4 for p in model.parameters())
        self.channels_last = channels_last
        self.model = model.to(device).eval()
        if channels_last:
            to_channels_last(self.model)
        # The stream runs through these; the memory probes below run self.model eagerly, with their hooks.
        if fuse and compile is not False:
            raise ValueError("fuse=True and compile exclude each other: Inductor fuses the plain model's graph itself")
        streamed = self.model
        if fuse or (fuse is None and compile is False and fusion_available(device, dtype)):
            try:
                streamed = fuse_for_cpu_inference(self.model, dtype)
            except Exception as exc:  # a model that cannot be copied (pruned, unpicklable attributes)
                if fuse:
                    raise
                warnings.warn(f"Running the plain model: its fused copy failed ({type(exc).__name__}: "
                              f"{first_line(exc)[:200]}).",
                              RuntimeWarning, stacklevel=2)
        self.fused = streamed is not self.model
        self._calls = engine_calls(streamed, compile)
        self.device = device
        self.dtype = dtype
        self.tile = tile
        self.tile_config = tile_config
        self.num_frames = int(getattr(model, "num_frames", 1))
        self.size_multiple = int(getattr(model, "size_multiple", 1))
        # Below this, neighbouring tiles would share most of their pixels: each step recomputes mostly overlap.
        self.smallest_tile = self._round_tile(2 * (tile_config.overlap + self.size_multiple))
        if tile and tile < self.smallest_tile:
            raise UserError(
                f"A tile side of {tile} pixels is below the smallest this model accepts, {self.smallest_tile} "
                f"(twice the {tile_config.overlap}-pixel overlap of neighbouring tiles plus the model's size multiple "
                f"of {self.size_multiple}); pass --tile {self.smallest_tile} or more, or 0 to never tile."
            )
        can_cache = streams(model)
        self.cache_features = can_cache and cache_features is not False
        self._cache_forced = cache_features is True
        self.memory_fraction = memory_fraction
        self._bytes_per_pixel: float | None = None
        self._feature_bytes_per_pixel: float | None = None

    # ---------------------------------------------------------------- planning
    def _context(self) -> contextlib.AbstractContextManager:
        stack = contextlib.ExitStack()
        stack.enter_context(torch.no_grad())
        if self.dtype is not None:
            stack.enter_context(torch.autocast(self.device.type, dtype=self.dtype))
        return stack

    def _activation_bpp(self) -> float:
        if self._bytes_per_pixel is None:
            self._bytes_per_pixel = activation_bytes_per_pixel(self.model, self.num_frames, self.device, self.dtype)
        return self._bytes_per_pixel

    def _feature_bpp(self) -> float:
        if self._feature_bytes_per_pixel is None:
            probe = torch.rand(1, 3, PROBE_SIDE, PROBE_SIDE, device=self.device)
            with self._context():
                features = self.model.encode_frame(probe)
            nbytes = sum(t.numel() * t.element_size() for t in tensors_in(features))
            self._feature_bytes_per_pixel = nbytes / PROBE_SIDE**2
        return self._feature_bytes_per_pixel

    def plan(self, height: int, width: int) -> Plan:
        """Choose tiles and caching for frames of ``height × width``."""
        if self.tile == 0:
            return Plan(TilePlan(height, width, None, self.tile_config, self.size_multiple), self.cache_features)
        if self.tile is not None:
            side = self._round_tile(self.tile)
            return Plan(TilePlan(height, width, side, self.tile_config, self.size_multiple), self.cache_features)
        budget = self.memory_fraction * available_bytes(self.device)
        use_cache = self.cache_features
        if use_cache:
            padded_pixels = _round_up(height, self.size_multiple) * _round_up(width, self.size_multiple)
            cache_bytes = (self.num_frames + 1) * self._feature_bpp() * padded_pixels
            if cache_bytes > budget / 2 and not self._cache_forced:
                use_cache = False  # the cache alone would crowd out the tiles: recompute features instead
            else:
                budget -= cache_bytes
        pixels = max(budget, 0) / (self._activation_bpp() * _SAFETY)
        if height * width <= pixels:
            return Plan(TilePlan(height, width, None, self.tile_config, self.size_multiple), use_cache)
        side = max(self._round_tile(int(math.sqrt(pixels)), down=True), self._round_tile(_MIN_TILE))
        return Plan(TilePlan(height, width, side, self.tile_config, self.size_multiple), use_cache)

    def _round_tile(self, side: int, down: bool = False) -> int:
        m = self.size_multiple
        return max(m, (side // m) * m) if down else _round_up(side, m)

    # ---------------------------------------------------------------- clips
    def deblur_clip(self, clip: torch.Tensor) -> torch.Tensor:
        """Restore the reference frame of a clip ``(B, T, 3, H, W)`` (or ``(T, 3, H, W)``), tiled if needed.

        Returns:
            ``(B, 3, H, W)`` (or ``(3, H, W)``) float32 in [0, 1], on the clip's device.
        """
        single = clip.dim() == 4
        batch = clip[None] if single else clip
        if batch.dim() != 5 or batch.shape[1] != self.num_frames or batch.shape[2] != 3:
            raise ValueError(f"expected a clip (B, {self.num_frames}, 3, H, W), got {tuple(clip.shape)}")
        out = self._forward(batch.to(self.device, torch.float32), self.plan(*batch.shape[-2:]).tiles)
        out = out.to(clip.device)
        return out[0] if single else out

    def _forward(self, clip: torch.Tensor, tiles: TilePlan) -> torch.Tensor:
        with self._context():
            outputs = [self._calls.forward(tile.crop(clip)).float() for tile in tiles.tiles]
        return tiles.blend(outputs).clamp_(0.0, 1.0)

    # ---------------------------------------------------------------- streams
    def run(self, frames: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Deblur a stream of frames ``(3, H, W)`` float in [0, 1]; yields one restored frame per input frame.

        Memory is bounded by the window length and the frame size; frames are read lazily.

        Raises:
            MediaError: the frames do not all have the same size.
        """
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            return
        height, width = first.shape[-2:]
        plan = self.plan(height, width)
        checked = _check_sizes(_chain(first, frames), height, width)
        on_device = (f.to(self.device, torch.float32, non_blocking=True)[None] for f in checked)
        if plan.use_cache:
            items = ((frame, self._encode(frame, plan.tiles)) for frame in on_device)
            for window in sliding_windows(items, self.num_frames, self._shot_counter(lambda item: item[0])):
                yield self._decode(window, plan.tiles)[0].cpu()
        else:
            for window in sliding_windows(on_device, self.num_frames, self._shot_counter(lambda frame: frame)):
                yield self._forward(torch.stack(window, dim=1), plan.tiles)[0].cpu()

    def _shot_counter(self, frame_of: Callable[[Any], torch.Tensor]) -> Callable[[Any], int] | None:
        """A fresh shot counter for one stream, applied to the frame ``frame_of`` finds in a stream item; None
        without scene cuts, or for a one-frame model, whose windows cannot mix shots."""
        if not self.scene_cuts or self.num_frames == 1:
            return None
        counter = ShotCounter()
        return lambda item: counter(frame_of(item))

    def _encode(self, frame: torch.Tensor, tiles: TilePlan) -> list[Any]:
        with self._context():
            return [self._calls.encode_frame(self._layout(pad_to_multiple(t.crop(frame), self.size_multiple)[0]))
                    for t in tiles.tiles]

    def _layout(self, frame: torch.Tensor) -> torch.Tensor:
        """``frame`` (B, 3, H, W) in the memory layout of the model's weights."""
        return frame.contiguous(memory_format=torch.channels_last) if self.channels_last else frame

    def _decode(self, window: list[tuple[torch.Tensor, list[Any]]], tiles: TilePlan) -> torch.Tensor:
        reference = window[self.num_frames // 2][0]
        outputs = []
        with self._context():
            for k, tile in enumerate(tiles.tiles):
                ref = pad_to_multiple(tile.crop(reference), self.size_multiple)[0]
                out = self._calls.decode_window([features[k] for _frame, features in window], ref)
                outputs.append(out[..., : tile.height, : tile.width].float())
        return tiles.blend(outputs).clamp_(0.0, 1.0)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _chain(first: torch.Tensor, rest: Iterator[torch.Tensor]) -> Iterator[torch.Tensor]:
    yield first
    yield from rest


def _check_sizes(frames: Iterable[torch.Tensor], height: int, width: int) -> Iterator[torch.Tensor]:
    for index, frame in enumerate(frames):
        if frame.dim() != 3 or frame.shape[0] != 3:
            raise ValueError(f"expected frames of shape (3, H, W), got {tuple(frame.shape)}")
        if tuple(frame.shape[-2:]) != (height, width):
            raise MediaError(
                f"Frame {index} is {frame.shape[-1]}x{frame.shape[-2]} but the first frame is {width}x{height}; "
                "all frames must have the same size."
            )
        yield frame
