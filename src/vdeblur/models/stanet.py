"""STANet: a per-frame encoder, fusion of the T frames at chosen levels, and a decoder (docs/DESIGN.md §3).

The encoder is shared by all frames and sees one frame at a time, so in a sliding window over a video each
frame's features can be computed once and reused by the T windows that contain it (``encode_frame`` /
``decode_window``). Only the fusion and the decoder run once per output frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vdeblur.errors import ConfigError
from vdeblur.models.layers import (
    DetailBranch,
    FactorizedSTAttention,
    FourierBranch,
    LocalFusion,
    NAFStack,
    ResidualDenseBlock,
    WienerFront,
    check_clip,
    check_frame,
    check_sizes,
    pad_to_multiple,
    stack_frames,
)

NUM_LEVELS = 3
LevelFeatures = tuple[torch.Tensor, ...]


def _per_level(value: int | Sequence[int], name: str) -> tuple[int, ...]:
    values = (value,) * NUM_LEVELS if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != NUM_LEVELS or min(values) < 1:
        raise ConfigError(f"{name} must be a positive int or {NUM_LEVELS} positive ints, got {value!r}")
    return values


def _levels(value: Sequence[int], name: str) -> tuple[int, ...]:
    levels = tuple(sorted({int(v) for v in value}))
    if any(not 0 <= level < NUM_LEVELS for level in levels):
        raise ConfigError(f"{name} must hold level indices in 0..{NUM_LEVELS - 1}, got {list(value)!r}")
    return levels


def windowed_attention(attention: nn.Module, x: torch.Tensor, ref: int, window: int) -> torch.Tensor:
    """Run ``attention`` on each ``window``×``window`` tile of ``x`` on its own, as if each were a clip.

    Each tile then squeezes its own descriptors, so they carry that neighbourhood's detail instead of a
    whole-frame average, and a tile sees the same statistics on a training crop as on a whole frame. A map whose
    sides are not multiples of ``window`` is padded by replicating its edge, and cropped back.

    Shape:
        - x: ``(B, T, C, H, W)``
        - output: ``(B, C, H, W)``
    """
    batch, frames, channels, height, width = x.shape
    pad_h, pad_w = -height % window, -width % window
    if pad_h or pad_w:
        x = F.pad(x.flatten(0, 1), (0, pad_w, 0, pad_h), mode="replicate").unflatten(0, (batch, frames))
    rows, cols = (height + pad_h) // window, (width + pad_w) // window
    tiles = x.reshape(batch, frames, channels, rows, window, cols, window).permute(0, 3, 5, 1, 2, 4, 6)
    fused = attention(tiles.reshape(batch * rows * cols, frames, channels, window, window), ref)
    fused = fused.reshape(batch, rows, cols, channels, window, window).permute(0, 3, 1, 4, 2, 5)
    return fused.reshape(batch, channels, rows * window, cols * window)[..., :height, :width]


class FrameFusion(nn.Module):
    """Fuse T frames' features at one level into reference features: attention and/or a local path.

    With neither path it simply returns the reference frame's features. The attention squeezes the whole map,
    or, with ``window`` > 0, each ``window``×``window`` tile on its own (:func:`windowed_attention`).

    Shape:
        - frames: T tensors ``(B, C, H, W)`` in time order, or one ``(B, T, C, H, W)`` tensor.
        - output: ``(B, C, H, W)``
    """

    def __init__(
        self, channels: int, num_frames: int, attention: bool, local: bool, num_spatial: int, num_temporal: int,
        window: int = 0, attention_norm: bool = False, attention_temperature: float = 0.0,
    ) -> None:
        super().__init__()
        self.attention = (
            FactorizedSTAttention(
                channels, num_spatial, num_temporal, normalize=attention_norm, spatial_temperature=attention_temperature
            )
            if attention
            else None
        )
        self.local = LocalFusion(channels, num_frames) if local else None
        self.window = window

    def _attend(self, x: torch.Tensor, ref: int) -> torch.Tensor:
        if self.window:
            return windowed_attention(self.attention, x, ref, self.window)
        return self.attention(x, ref)

    def forward(self, frames: torch.Tensor | Sequence[torch.Tensor], ref: int) -> torch.Tensor:
        """Fused features of frame ``ref``."""
        stacked = frames if isinstance(frames, torch.Tensor) else None
        separate = stacked.unbind(1) if stacked is not None else frames
        if self.attention is None:
            fused = separate[ref]
        else:  # cached frames are stacked only here: a copy of T wide maps that local-only levels skip
            fused = self._attend(stacked if stacked is not None else stack_frames(list(separate)), ref)
        if self.local is not None:
            fused = self.local(separate, base=fused)
        return fused


class STANet(nn.Module):
    """Hierarchical encoder-decoder with residual dense blocks and spatio-temporal fusion of T frames.

    Level l of the encoder has width ``width · 2^l`` (or ``width[l]``) at scale ``1 / (unshuffle · 2^l)``. At
    every level listed in ``attention_levels`` the T frames are fused by factorized attention (equations 1–6,
    gated), and at every level in ``local_fusion_levels`` by the local concatenation path; the decoder takes its
    skips from the fused features and predicts a residual added to the blurry reference frame.

    Args:
        num_frames: T, odd.
        width: channels c of the finest level (levels have c, 2c, 4c), or one width per level. Per-level
            widths let a model put its channels where its FLOPs are cheap: a 1/16-scale level costs few FLOPs
            but as many parameters as a fine one.
        growth: growth g of the residual dense blocks, one value or one per level.
        num_layers: conv layers L per residual dense block.
        num_spatial: spatial maps M of the attention.
        num_temporal: temporal maps N of the attention.
        attention_levels: levels (0 = finest) fused by factorized attention.
        local_fusion_levels: levels fused by the local path (concatenation + convs).
        unshuffle: pixel-unshuffle factor at the input (and pixel-shuffle at the output); 2 puts the levels
            at 1/2, 1/4 and 1/8 scale and cuts the full-resolution cost about fourfold.
        block: the per-level unit of encoder and decoder: ``"rdb"``, a residual dense block (the paper's), or
            ``"naf"``, a stack of ``num_blocks`` NAFNet blocks (LayerNorm, gated, zero-initialised residual
            scales; ``growth`` and ``num_layers`` are then unused).
        num_blocks: NAF blocks per level in the encoder, one value or one per level.
        decoder_num_blocks: NAF blocks per level in the decoder; None: as ``num_blocks``. The encoder runs on
            all T frames in training, the decoder on one, so depth is T times cheaper to train in the decoder.
        attention_window: 0 squeezes each level's whole map into the attention's descriptors (the paper);
            w > 0 squeezes each w×w tile of the map on its own (:func:`windowed_attention`).
        attention_norm: the attention computes its maps and descriptors from layer-normalised features
            (:class:`FactorizedSTAttention`'s ``normalize``); False, as the paper, from the raw ones.
        attention_temperature: 0, as the paper; t > 0: the attention's spatial logits are multiplied by a learnt
            scale that starts at t (:class:`FactorizedSTAttention`'s ``spatial_temperature``).
        detail_width: 0, none; w > 0: a :class:`DetailBranch` of w channels refines the decoder's output at
            ``1 / detail_scale`` of full resolution, finer than the finest level when ``unshuffle`` > 1.
        detail_blocks: residual blocks in the detail branch.
        detail_scale: the detail branch's scale divisor (1: full resolution; it must divide ``unshuffle``).
        fourier_levels: levels whose encoder and decoder units are each followed by a residual
            :class:`FourierBranch` (channels mixed frequency by frequency); its term starts at zero, so a model
            grown by it from trained weights computes what they did. The branch spans the whole map, so such a
            model's output in tiles differs from its whole-frame output.
        deconv_kernel: 0, none; k > 0: a :class:`WienerFront` estimates a blur kernel of k×k pixels per tile of
            each frame and deconvolves the frame by it; the encoder reads the blurry and the deconvolved frame
            side by side, and the decoder's residual (and the detail branch) works on the deconvolved reference
            frame instead of the blurry one.
        deconv_tile: the front's tile size (its estimates see this many pixels; best the training crop's size).
        deconv_frozen: the front keeps the weights it is given (a pretrained estimator) instead of training with
            the network: through the restoration loss alone, a pretrained estimator drifts to shorter, safer
            kernels (BENCHMARKS.md, "A learnt blind deconvolution front").
        deconv_regulariser: the front's Wiener filter: ``identity`` (a flat noise-to-signal ratio) or
            ``gradient`` (a smoothness prior, which noisy frames need; `wiener_deconvolve`).
        deconv_power: the front's estimator also gives the kernels' expected power spectrum, and the filter
            divides by it instead of the power of the estimated kernel, amplifying less where the estimate is
            uncertain (`KernelEstimator`).

    Shape:
        - clip: ``(B, T, 3, H, W)``, any H and W (padded inside, cropped back).
        - output: ``(B, 3, H, W)``, the restored reference frame ``T // 2``.

    Example:
        >>> net = STANet(num_frames=3, width=8, growth=4, num_layers=2, num_spatial=2, num_temporal=2)
        >>> net(torch.rand(1, 3, 3, 37, 53)).shape
        torch.Size([1, 3, 37, 53])
    """

    supports_feature_cache = True
    supports_stills = True  # forward takes T = 1 (see forward)

    def __init__(
        self,
        num_frames: int = 5,
        width: int | Sequence[int] = 32,
        growth: int | Sequence[int] = 32,
        num_layers: int = 5,
        num_spatial: int = 8,
        num_temporal: int = 8,
        attention_levels: Sequence[int] = (1, 2),
        local_fusion_levels: Sequence[int] = (),
        unshuffle: int = 1,
        block: str = "rdb",
        num_blocks: int | Sequence[int] = 1,
        decoder_num_blocks: int | Sequence[int] | None = None,
        attention_window: int = 0,
        attention_norm: bool = False,
        attention_temperature: float = 0.0,
        detail_width: int = 0,
        detail_blocks: int = 2,
        detail_scale: int = 1,
        fourier_levels: Sequence[int] = (),
        deconv_kernel: int = 0,
        deconv_tile: int = 128,
        deconv_frozen: bool = False,
        deconv_regulariser: str = "identity",
        deconv_power: bool = False,
    ) -> None:
        super().__init__()
        if num_frames < 1 or num_frames % 2 == 0:
            raise ConfigError(f"num_frames must be a positive odd number, got {num_frames}")
        check_sizes(unshuffle=unshuffle, num_layers=num_layers, num_spatial=num_spatial, num_temporal=num_temporal)
        if block not in ("rdb", "naf"):
            raise ConfigError(f"block must be 'rdb' or 'naf', got {block!r}")
        if attention_window < 0:
            raise ConfigError(f"attention_window must be 0 (whole map) or a positive tile size, got {attention_window}")
        check_sizes(minimum=0, detail_width=detail_width, detail_blocks=detail_blocks)
        check_sizes(detail_scale=detail_scale)
        if unshuffle % detail_scale:
            raise ConfigError(f"detail_scale must divide unshuffle ({unshuffle}), got {detail_scale}")
        if attention_temperature < 0:
            raise ConfigError(
                f"attention_temperature must be 0 (none) or a positive scale, got {attention_temperature}"
            )
        self.num_frames = num_frames
        self.size_multiple = unshuffle * 2 ** (NUM_LEVELS - 1)
        growths = _per_level(growth, "growth")
        attention_at = _levels(attention_levels, "attention_levels")
        local_at = _levels(local_fusion_levels, "local_fusion_levels")
        fourier_at = _levels(fourier_levels, "fourier_levels")
        if isinstance(width, int):
            check_sizes(width=width)
            widths = [width * 2**level for level in range(NUM_LEVELS)]
        else:
            widths = list(_per_level(width, "width"))

        check_sizes(minimum=0, deconv_kernel=deconv_kernel)
        self.front = (WienerFront(deconv_kernel, deconv_tile, deconv_regulariser, deconv_power) if deconv_kernel
                      else None)
        if self.front is not None and deconv_frozen:
            self.front.requires_grad_(False)
        inputs = 6 if self.front is not None else 3
        self.stem = nn.Sequential(
            nn.PixelUnshuffle(unshuffle), nn.Conv2d(inputs * unshuffle**2, widths[0], kernel_size=3, padding=1)
        )
        self.downs = nn.ModuleList(
            nn.Conv2d(widths[level - 1], widths[level], kernel_size=3, stride=2, padding=1)
            for level in range(1, NUM_LEVELS)
        )
        encoder_stacks = _per_level(num_blocks, "num_blocks")
        decoder_stacks = encoder_stacks if decoder_num_blocks is None else _per_level(
            decoder_num_blocks, "decoder_num_blocks"
        )

        def unit(level: int, stacks: tuple[int, ...]) -> nn.Module:
            if block == "naf":
                return NAFStack(widths[level], stacks[level])
            return ResidualDenseBlock(widths[level], growths[level], num_layers)

        self.encoder_blocks = nn.ModuleList(unit(level, encoder_stacks) for level in range(NUM_LEVELS))
        self.fusions = nn.ModuleList(
            FrameFusion(
                widths[level], num_frames, level in attention_at, level in local_at, num_spatial, num_temporal,
                attention_window, attention_norm, attention_temperature,
            )
            for level in range(NUM_LEVELS)
        )
        self.decoder_blocks = nn.ModuleList(unit(level, decoder_stacks) for level in range(NUM_LEVELS))
        # Keyed by level, beside the units rather than inside them, so that weights trained without the
        # branches keep their names and load into a model grown by them.
        self.encoder_fourier = nn.ModuleDict({str(level): FourierBranch(widths[level]) for level in sorted(fourier_at)})
        self.decoder_fourier = nn.ModuleDict({str(level): FourierBranch(widths[level]) for level in sorted(fourier_at)})
        # ups[l] lifts level l+1 to level l: 1×1 conv to 4× the target width, then pixel-shuffle.
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[level + 1], 4 * widths[level], kernel_size=1), nn.PixelShuffle(2))
            for level in range(NUM_LEVELS - 1)
        )
        self.head = nn.Sequential(
            nn.Conv2d(widths[0], 3 * unshuffle**2, kernel_size=3, padding=1), nn.PixelShuffle(unshuffle)
        )
        self.detail = (
            DetailBranch(widths[0], detail_width, detail_blocks, detail_scale, unshuffle) if detail_width else None
        )

    def zero_start_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes of modules whose output starts at zero: weights trained without them load into
        this model with them (``load_weights_into(..., grow=True)``) and compute the same frames."""
        prefixes = ("encoder_fourier.", "decoder_fourier.") if len(self.encoder_fourier) else ()
        return prefixes + (("detail.",) if self.detail is not None else ())

    def encode_frame(self, frame: torch.Tensor) -> LevelFeatures:
        """Per-frame encoder features, one tensor per level, for caching across sliding windows.

        Args:
            frame: ``(B, 3, H, W)`` with H and W multiples of ``size_multiple``.

        Returns:
            A tuple of ``(B, C_l, H / (unshuffle·2^l), W / (unshuffle·2^l))`` tensors, l = 0, 1, 2, where C_l is
            level l's width; with a deconvolution front, the deconvolved frame ``(B, 3, H, W)`` follows them.
        """
        check_frame(frame, size_multiple=self.size_multiple)
        deconvolved = self.front(frame) if self.front is not None else None
        stem_input = frame if deconvolved is None else torch.cat([frame, deconvolved], dim=1)
        features = [self._unit(self.encoder_blocks, self.encoder_fourier, 0, self.stem(stem_input))]
        for level in range(1, NUM_LEVELS):
            down = self.downs[level - 1](features[-1])
            features.append(self._unit(self.encoder_blocks, self.encoder_fourier, level, down))
        return tuple(features) if deconvolved is None else (*features, deconvolved)

    @staticmethod
    def _unit(units: nn.ModuleList, fourier: nn.ModuleDict, level: int, x: torch.Tensor) -> torch.Tensor:
        """Level ``level``'s encoder or decoder unit, and its Fourier branch where it has one."""
        y = units[level](x)
        branch = fourier[str(level)] if str(level) in fourier else None
        return y if branch is None else y + branch(y)

    def decode_window(self, features: Sequence[LevelFeatures], reference_frame: torch.Tensor) -> torch.Tensor:
        """Fuse T frames' cached features and decode the restored reference frame.

        Args:
            features: ``encode_frame`` outputs of the T frames of the window, in time order.
            reference_frame: the blurry reference frame ``(B, 3, H, W)`` (same padded size as encoded); with a
                deconvolution front, unused: the deconvolved frame cached with the features takes its place.

        Returns:
            The restored reference frame ``(B, 3, H, W)``.
        """
        if len(features) != self.num_frames:
            raise ValueError(f"expected features of {self.num_frames} frames, got {len(features)}")
        ref = self.num_frames // 2
        fused = [fusion([frame[level] for frame in features], ref) for level, fusion in enumerate(self.fusions)]
        return self._decode(fused, reference_frame if self.front is None else features[ref][NUM_LEVELS])

    def _decode(self, fused: list[torch.Tensor], reference_frame: torch.Tensor) -> torch.Tensor:
        y = self._unit(self.decoder_blocks, self.decoder_fourier, NUM_LEVELS - 1, fused[-1])
        for level in reversed(range(NUM_LEVELS - 1)):
            y = self._unit(self.decoder_blocks, self.decoder_fourier, level, self.ups[level](y) + fused[level])
        restored = reference_frame + self.head(y)
        if self.detail is None:
            return restored
        return self.detail(y, reference_frame, restored)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Restore the reference frame of ``clip``; see the class docstring for shapes.

        A clip of one frame, ``(B, 1, 3, H, W)``, is restored as a still: it is encoded once and its features
        stand in for all T frames. Single-frame pretraining (``train.single_frame_steps``) trains the encoder
        and decoder that way (for sta-fast, a still step costs 0.24 CPU s against 0.57 for a window).
        """
        if clip.dim() == 5 and clip.shape[1] == 1 and self.num_frames > 1:
            return self._restore_still(clip[:, 0])
        check_clip(clip, self.num_frames)
        padded, (height, width) = pad_to_multiple(clip, self.size_multiple)
        batch, frames = padded.shape[:2]
        # All B·T frames go through the shared encoder in one batch; equal to encoding them one by one.
        per_level = self.encode_frame(padded.flatten(0, 1))
        ref = self.num_frames // 2
        fused = [
            fusion(features.reshape(batch, frames, *features.shape[1:]), ref)
            for fusion, features in zip(self.fusions, per_level[:NUM_LEVELS], strict=True)
        ]
        base = padded if self.front is None else per_level[NUM_LEVELS].reshape(padded.shape)
        out = self._decode(fused, base[:, ref])
        return out[..., :height, :width]

    def _restore_still(self, frame: torch.Tensor) -> torch.Tensor:
        padded, (height, width) = pad_to_multiple(frame.unsqueeze(1), self.size_multiple)
        still = padded[:, 0]
        out = self.decode_window([self.encode_frame(still)] * self.num_frames, still)
        return out[..., :height, :width]
