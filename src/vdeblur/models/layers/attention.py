"""Fusing the T frames of a clip into the reference frame: factorized attention and the non-local baseline.

Both blocks take per-frame features ``x`` of shape ``(B, T, C, H, W)`` and a reference index and return
features for the reference frame, ``(B, C, H, W)``. Equation numbers refer to docs/DESIGN.md §2.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vdeblur.models.layers.blocks import ChannelLayerNorm


def _softmax_at_least_fp32(logits: torch.Tensor, dim: int) -> torch.Tensor:
    # Under bf16 autocast the logits arrive in bf16; an H·W-wide normalisation in bf16 loses the small weights.
    return logits.to(torch.promote_types(logits.dtype, torch.float32)).softmax(dim=dim)


def _as_tokens(x: torch.Tensor) -> torch.Tensor:
    """``(B, T, C, H, W)`` features as ``(B, T, H·W, C)`` tokens: a view when each frame is channels-last."""
    batch, frames, channels, height, width = x.shape
    return x.permute(0, 1, 3, 4, 2).reshape(batch, frames, height * width, channels)


def _check_features(x: torch.Tensor, channels: int, ref: int) -> None:
    if x.dim() != 5 or x.shape[2] != channels:
        raise ValueError(f"expected features of shape (B, T, C={channels}, H, W), got {tuple(x.shape)}")
    if not 0 <= ref < x.shape[1]:
        raise ValueError(f"reference index {ref} is outside the {x.shape[1]} frames")


class FactorizedSTAttention(nn.Module):
    """Factorized spatio-temporal attention (equations 1–6) with a gated residual output.

    The T frames are squeezed into M·N global descriptors — M spatial maps per frame, then N temporal maps —
    and every reference pixel takes a softmax mixture of those descriptors. Memory grows as
    O(T·M·HW + MN·HW), not O((T·HW)²) as in a non-local block.

    Args:
        channels: feature channels C.
        num_spatial: number of spatial attention maps M.
        num_temporal: number of temporal attention maps N.
        normalize: compute the maps and descriptors from layer-normalised features (pre-norm, as transformers
            do), not from the raw ones. The encoder's features at the attention's levels have an RMS of
            0.007–0.024, so raw logits spread by 0.001–0.08 and every softmax stays uniform: the shipped weights'
            maps are uniform to 0.1 % of their entropy, and the block adds the same vector at every pixel
            (BENCHMARKS.md). Normalised, the logits' scale is the weights' alone. The gate and the residual keep
            the raw ``x_R``.
        spatial_temperature: 0, as the paper: the spatial logits are ``f_s``'s output. t > 0: they are
            multiplied by a learnt scale that starts at t (held as its logarithm, so it stays positive and moves
            by ratios). From normalised features, the spatial logits of a 35-minute run spread by only 0.2–0.3
            over 1,024 positions, so its spatial maps stayed near uniform while its pixel maps sharpened; a scale
            lets the softmax start peaked without the 1×1 weights having to grow tenfold first. Measured with t = 8
            (BENCHMARKS.md, ``fast-attention-temperature``): the maps at 1/8 scale then peak, and training turns
            the block's output down instead of using it.

    Attributes:
        f_s: Conv2d C→M, 1×1 (spatial map logits, eq. 1).
        f_t: Conv1d over T, C→N, kernel 3, padding 1 (temporal map logits, eq. 3).
        f_p: Conv2d C→M·N, 3×3 (pixel map logits on the reference frame, eq. 5).
        gate: Conv2d 2C→C, 1×1, the gate g on ``[x_R, y_R]``.
        out: Conv2d C→C, 1×1, the projection W_o, zero-initialised so a new block is the identity on x_R.
        norm: the :class:`ChannelLayerNorm` of ``normalize`` (None without it).
        log_spatial_scale: the logarithm of ``spatial_temperature``'s learnt scale (None without it).

    Shape:
        - x: ``(B, T, C, H, W)``
        - output: ``(B, C, H, W)``

    Example:
        >>> block = FactorizedSTAttention(16, num_spatial=4, num_temporal=4)
        >>> block(torch.rand(2, 5, 16, 8, 8), ref=2).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(
        self, channels: int, num_spatial: int, num_temporal: int, normalize: bool = False,
        spatial_temperature: float = 0.0,
    ) -> None:
        super().__init__()
        if spatial_temperature < 0:
            raise ValueError(f"spatial_temperature must be 0 (none) or positive, got {spatial_temperature}")
        self.channels = channels
        self.num_spatial = num_spatial
        self.num_temporal = num_temporal
        self.norm = ChannelLayerNorm(channels) if normalize else None
        self.log_spatial_scale = (
            nn.Parameter(torch.tensor(math.log(spatial_temperature))) if spatial_temperature > 0 else None
        )
        self.f_s = nn.Conv2d(channels, num_spatial, kernel_size=1)
        self.f_t = nn.Conv1d(channels, num_temporal, kernel_size=3, padding=1)
        self.f_p = nn.Conv2d(channels, num_spatial * num_temporal, kernel_size=3, padding=1)
        self.gate = nn.Conv2d(2 * channels, channels, kernel_size=1)
        self.out = nn.Conv2d(channels, channels, kernel_size=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def map_features(self, x: torch.Tensor) -> torch.Tensor:
        """The features ``(B, T, C, H, W)`` that the maps and descriptors are computed from: ``x`` itself, or
        with ``normalize`` each pixel's channels layer-normalised."""
        if self.norm is None:
            return x
        return self.norm(x.flatten(0, 1)).unflatten(0, x.shape[:2])

    def spatial_logits(self, features: torch.Tensor) -> torch.Tensor:
        """The logits of the spatial maps (eq. 1), ``(B·T, M, H, W)``, from ``map_features`` output
        ``(B, T, C, H, W)``; times the learnt scale of ``spatial_temperature`` where there is one."""
        logits = self.f_s(features.flatten(0, 1))
        if self.log_spatial_scale is None:
            return logits
        return logits * self.log_spatial_scale.exp().to(logits.dtype)

    def attention_maps(self, x: torch.Tensor, ref: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three sets of attention maps (equations 1, 3 and 5).

        Args:
            x: per-frame features ``(B, T, C, H, W)``.
            ref: index of the reference frame.

        Returns:
            ``A_s`` of shape ``(B, T, M, H·W)`` (sums to 1 over H·W), ``A_t`` of shape ``(B, N, T)`` (sums to 1
            over T) and ``A_p`` of shape ``(B, M·N, H·W)`` (sums to 1 over M·N; row k = m·N + n).
        """
        _tokens, a_s, a_t, a_p = self._token_maps(x, ref)
        return a_s, a_t, a_p.transpose(1, 2).contiguous()

    def _token_maps(
        self, x: torch.Tensor, ref: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features as tokens ``(B, T, H·W, C)`` and the maps: ``A_s`` ``(B, T, M, H·W)``, ``A_t`` ``(B, N, T)``
        and ``A_p`` in token order, ``(B, H·W, M·N)``."""
        _check_features(x, self.channels, ref)
        x = self.map_features(x)
        batch, frames, channels, height, width = x.shape
        tokens = _as_tokens(x)
        spatial_logits = self.spatial_logits(x)
        # Softmax along the last, contiguous axis: along H·W of the channels-last logits it was 3.5x slower.
        spatial_logits = spatial_logits.reshape(batch, frames, self.num_spatial, height * width)
        a_s = _softmax_at_least_fp32(spatial_logits.contiguous(), -1)
        # mean_HW as a matmul with ones: PyTorch's bf16 reductions on CPU are ~10x slower than a bf16 matmul.
        ones = tokens.new_ones(1, height * width)
        spatial_mean = (ones @ tokens).squeeze(2) / (height * width)  # (B, T, C)
        temporal_logits = self.f_t(spatial_mean.transpose(1, 2))  # Conv1d over T: (B, C, T) -> (B, N, T)
        a_t = _softmax_at_least_fp32(temporal_logits, -1)
        pixel_logits = self.f_p(x[:, ref]).permute(0, 2, 3, 1).flatten(1, 2)  # (B, H·W, M·N)
        a_p = _softmax_at_least_fp32(pixel_logits, -1)
        return tokens, a_s, a_t, a_p

    def aggregate(self, x: torch.Tensor, ref: int) -> torch.Tensor:
        """The raw attention output ``y_R`` of equation 6, before gating.

        Args:
            x: per-frame features ``(B, T, C, H, W)``.
            ref: index of the reference frame.

        Returns:
            ``y_R`` of shape ``(B, C, H, W)``, channels-last in memory.
        """
        tokens, a_s, a_t, a_p = self._token_maps(x, ref)
        batch, frames, channels, height, width = x.shape
        # Tokens keep C last, as channels-last frames hold it, so the products below read their operands in
        # place; formulated on (C, H·W) matrices, the copies around the products took longer than the products.
        g_s = a_s.to(tokens.dtype) @ tokens  # eq. 2: (B, T, M, C)
        g_st = a_t.to(g_s.dtype) @ g_s.reshape(batch, frames, self.num_spatial * channels)  # eq. 4: (B, N, M·C)
        # (B, N, M, C) -> (B, M, N, C) so that row k of the flattened descriptors is m·N + n.
        g_st = g_st.reshape(batch, self.num_temporal, self.num_spatial, channels).transpose(1, 2)
        g_st = g_st.reshape(batch, self.num_spatial * self.num_temporal, channels)
        y = a_p.to(g_st.dtype) @ g_st  # eq. 6: (B, H·W, C)
        return y.reshape(batch, height, width, channels).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor, ref: int) -> torch.Tensor:
        """Gated fusion ``x_R + σ(g([x_R, y_R])) ⊙ W_o(y_R)``.

        Args:
            x: per-frame features ``(B, T, C, H, W)``.
            ref: index of the reference frame.

        Returns:
            Fused reference features ``(B, C, H, W)``.
        """
        x_ref = x[:, ref]
        y = self.aggregate(x, ref)
        return x_ref + torch.sigmoid(self.gate(torch.cat([x_ref, y], dim=1))) * self.out(y)


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block over all T·H·W positions (Wang et al., CVPR 2018).

    The baseline the factorized attention is argued against: every position attends to every position of
    every frame, so the affinity matrix is ``(T·HW)²`` (or ``HW × T·HW`` with ``reference_only``).

    Args:
        channels: feature channels C.
        inner_channels: embedding width of θ, φ and g; ``channels // 2`` as in the paper when None.
        reference_only: compute responses only at the reference frame's positions (the output is the same;
            the affinity matrix shrinks by a factor T). False reproduces the block as published.

    Shape:
        - x: ``(B, T, C, H, W)``
        - output: ``(B, C, H, W)``, the reference frame's slice of ``x + W_z(y)``.

    Example:
        >>> NonLocalBlock(16)(torch.rand(1, 3, 16, 6, 6), ref=1).shape
        torch.Size([1, 16, 6, 6])
    """

    def __init__(self, channels: int, inner_channels: int | None = None, reference_only: bool = False) -> None:
        super().__init__()
        inner = inner_channels if inner_channels is not None else max(channels // 2, 1)
        self.channels = channels
        self.reference_only = reference_only
        self.theta = nn.Conv2d(channels, inner, kernel_size=1)
        self.phi = nn.Conv2d(channels, inner, kernel_size=1)
        self.g = nn.Conv2d(channels, inner, kernel_size=1)
        self.out = nn.Conv2d(inner, channels, kernel_size=1)
        # Zero W_z, so a new block is the identity, as the paper does with its zero-initialised BN scale.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, ref: int) -> torch.Tensor:
        """Non-local response of the reference frame.

        Args:
            x: per-frame features ``(B, T, C, H, W)``.
            ref: index of the reference frame.

        Returns:
            ``(B, C, H, W)``.
        """
        _check_features(x, self.channels, ref)
        batch, frames, channels, height, width = x.shape
        flat = x.reshape(batch * frames, channels, height, width)

        def embed(conv: nn.Conv2d, source: torch.Tensor) -> torch.Tensor:
            # (B·T', inner, H, W) -> (B, T'·HW, inner): one row per space-time position.
            out = conv(source)
            return out.reshape(batch, -1, out.shape[1], height * width).transpose(2, 3).flatten(1, 2)

        queries_from = x[:, ref] if self.reference_only else flat
        theta = embed(self.theta, queries_from)
        phi, g = embed(self.phi, flat), embed(self.g, flat)
        affinity = torch.bmm(theta, phi.transpose(1, 2)).softmax(dim=-1)
        y = torch.bmm(affinity, g)  # (B, T'·HW, inner)
        if not self.reference_only:
            y = y.reshape(batch, frames, height * width, -1)[:, ref]
        y = y.transpose(1, 2).reshape(batch, -1, height, width)
        return x[:, ref] + self.out(y)
