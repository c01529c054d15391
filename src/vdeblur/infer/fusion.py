"""Eager CPU inference with oneDNN's fused convolutions: activations, additions and dense-block concatenations
folded into the convolutions.

In eager PyTorch every ReLU, residual addition and concatenation is a separate pass over a feature map, and on a
CPU with bf16 matrix units those passes took about 40 % of ``sta-wide``'s time at 1280×720 (BENCHMARKS.md,
"What limits it"). oneDNN, which runs PyTorch's CPU convolutions, can apply an activation and add another
tensor while it writes a convolution's output (post-ops); PyTorch exposes that as the operators
``mkldnn::_convolution_pointwise`` that Inductor's own CPU code calls. This module builds an inference copy of a
model whose dense blocks and local-fusion blocks call them directly:

- ``relu(conv(x))`` and ``base + conv(x)`` become one call each.
- A dense block's layer ``i`` convolves the concatenation ``[x, f_1, …, f_{i-1}]``. A convolution of a
  concatenation is the sum of convolutions of its parts with the matching slices of the weight, so the layer
  becomes a chain of calls, each adding its part's convolution to the previous result inside oneDNN. The
  concatenations of the 3×3 layers disappear; those before the 1×1 convolutions (a dense block's fusion, the
  local path's mix of the frames) go on large maps only, where the chain is faster.

Every 2-D convolution of the copy holds its weight cast to the compute dtype and pre-packed for oneDNN, as
Inductor's freezing does, so the copy sees the model's convolution weights as they were when it was made:
after changing the weights, make a new copy (a new engine). The other parameters and buffers are shared.

The copy computes the same function: in float32 it agrees with the model to rounding; in bf16 the partial sums
are rounded to bf16 between the calls of a chain (oneDNN accumulates each call in float32), which changes
outputs by about one bf16 step. It is for inference only (no gradients), on x86 CPUs, in float32 or, where
oneDNN supports it, bf16. The model given is not changed.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence

import torch
from torch import nn

from vdeblur.models.layers import LocalFusion, ResidualConvBlock, ResidualDenseBlock

_FUSABLE = (ResidualDenseBlock, LocalFusion, ResidualConvBlock)


def fusion_available(device: torch.device, dtype: torch.dtype | None) -> bool:
    """Whether oneDNN's fused convolutions can run on ``device`` in ``dtype`` (None: float32)."""
    if device.type != "cpu" or not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        return False  # not the CPU, or oneDNN missing or turned off by the user
    ops = torch.ops.mkldnn
    if not (hasattr(ops, "_convolution_pointwise") and hasattr(ops, "_reorder_convolution_weight")):
        return False  # a build without oneDNN's CPU fusion ops
    acl = getattr(ops, "_is_mkldnn_acl_supported", None)
    if acl is not None and acl():
        return False  # Arm builds (oneDNN on the Compute Library), where Inductor does not fuse either
    if dtype in (None, torch.float32):
        return True
    bf16_supported = getattr(ops, "_is_mkldnn_bf16_supported", None)
    return dtype == torch.bfloat16 and bf16_supported is not None and bool(bf16_supported())


def fuse_for_cpu_inference(model: nn.Module, dtype: torch.dtype | None) -> nn.Module:
    """An inference copy of ``model`` whose dense and local-fusion blocks run as fused oneDNN calls, and whose
    other 2-D convolutions as oneDNN calls with pre-packed weights.

    Args:
        model: a model on the CPU; it is not changed.
        dtype: the precision the copy will run in (the engine's autocast dtype; None for float32). The fused
            blocks' weights are stored in it, since autocast does not reach the operators they call.

    Blocks whose convolutions carry hooks, parametrizations (weight norm, pruning) or other padding modes
    stay as they are, and so do such convolutions.

    Returns:
        The copy, in eval mode; or ``model`` itself when it has nothing to fuse or
        :func:`fusion_available` says no.

    Raises:
        Whatever ``copy.deepcopy`` raises for a model that cannot be copied.
    """
    if not any(isinstance(m, _FUSABLE) for m in model.modules()):
        return model
    device = next(model.parameters()).device
    if not fusion_available(device, dtype):
        return model
    weight_dtype = dtype or torch.float32
    # The copy shares the model's parameters and buffers; the convolutions replaced below hold converted weights.
    shared = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    fused = copy.deepcopy(model, memo=shared).eval()
    blocks = {
        ResidualDenseBlock: FusedResidualDenseBlock, LocalFusion: FusedLocalFusion,
        ResidualConvBlock: FusedResidualConvBlock,
    }

    def fused_block(module: nn.Module) -> nn.Module | None:
        if type(module) not in blocks or _hooked(module):
            return None
        convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
        return blocks[type(module)](module, weight_dtype) if all(map(_fusable_conv, convs)) else None

    _replace(fused, fused_block)
    # The remaining convolutions (stem, down- and up-sampling, head, the attention's maps) gain the pre-packed
    # weights; the blocks replaced above are no longer in the tree, so their convolutions are not visited twice.
    _replace(fused, lambda m: FusedConv2d(m, weight_dtype) if _fusable_conv(m) else None)
    return fused


def _hooked(module: nn.Module) -> bool:
    """Whether ``module`` has forward hooks of its own, which a replacement would silently drop."""
    return bool(module._forward_hooks or module._forward_pre_hooks)


def _replace(root: nn.Module, make: Callable[[nn.Module], nn.Module | None]) -> None:
    """Replace every submodule of ``root`` for which ``make`` returns a module (not descending into it)."""
    for parent in list(root.modules()):
        for name, child in list(parent.named_children()):
            replacement = make(child)
            if replacement is not None:
                setattr(parent, name, replacement)


def _fusable_conv(module: nn.Module) -> bool:
    # ``type(...) is``: subclasses (parametrized or user-defined convolutions) compute something else.
    return (
        type(module) is nn.Conv2d and module.padding_mode == "zeros" and not isinstance(module.padding, str)
        and not _hooked(module) and not hasattr(module, "weight_orig")  # torch.nn.utils.prune keeps weight_orig
    )


class _FusedConv:
    """One convolution's weight and bias in the compute dtype, and its oneDNN call.

    The weight is also kept pre-packed in oneDNN's blocked layout for each input shape it has seen (a video has
    one, or a few with tiles), as Inductor's freezing does: otherwise oneDNN reorders it on every call, which
    cost 40–80 µs per 3×3 convolution (7 % of one on a 160×92 map, bf16, on the development CPU).
    """

    _MAX_PACKED = 8  # input shapes remembered; a process that sees more repacks for the oldest

    def __init__(self, conv: nn.Conv2d, dtype: torch.dtype, in_slice: slice = slice(None), with_bias: bool = True
                 ) -> None:
        if not _fusable_conv(conv):
            raise ValueError(f"cannot fuse {conv}: only a plain nn.Conv2d with numeric zero padding")
        # The float32 weight and bias are views of the model's own; the compute-dtype ones converted copies.
        self.source_weight = conv.weight.detach()[:, in_slice]
        self.source_bias = conv.bias.detach() if with_bias and conv.bias is not None else None
        self.weight = self.source_weight.to(dtype)
        self.bias = None if self.source_bias is None else self.source_bias.to(dtype)
        self.geometry = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        self.dtype = dtype
        self._packed: dict[tuple[int, ...], torch.Tensor] = {}

    def _packed_weight(self, x: torch.Tensor) -> torch.Tensor:
        shape = tuple(x.shape)
        packed = self._packed.get(shape)
        if packed is None:
            if len(self._packed) >= self._MAX_PACKED:
                del self._packed[next(iter(self._packed))]
            packed = torch.ops.mkldnn._reorder_convolution_weight(self.weight, *self.geometry, list(shape))
            self._packed[shape] = packed
        return packed

    def __call__(self, x: torch.Tensor, relu: bool = False, add: torch.Tensor | None = None) -> torch.Tensor:
        """``conv(x)``, plus ``add`` if given, then ReLU if asked: one oneDNN call."""
        if self.dtype != torch.float32 and not torch.is_autocast_enabled("cpu"):
            # A region that turned autocast off computes in float32, as the model's own convolution would.
            dtype, weight, bias = torch.float32, self.source_weight, self.source_bias
        else:
            dtype, bias = self.dtype, self.bias
            weight = self._packed_weight(x)
        x = x.to(dtype)
        activation = "relu" if relu else "none"
        if add is None:
            return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, *self.geometry, activation, [], "")
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, add.to(dtype), weight, bias, *self.geometry, "add", None, "relu" if relu else None, [], None,
        )


class FusedConv2d(nn.Module):
    """A lone :class:`~torch.nn.Conv2d` for inference: one oneDNN call with pre-cast, pre-packed weights (no
    autocast cast or weight reorder per call)."""

    def __init__(self, conv: nn.Conv2d, dtype: torch.dtype) -> None:
        super().__init__()
        self.conv = _FusedConv(conv, dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``conv(x)``, in the fused copy's dtype."""
        _check_inference()
        return self.conv(x)


class _ConcatConv:
    """A convolution of the channel concatenation of ``sources``: one call on ``torch.cat(sources)``, or a chain
    of one call per source with the matching slice of the weight, each adding the previous call's output.

    The chain writes no concatenation but reads each partial sum back, and its calls see fewer input channels.
    For 3×3 convolutions it was the faster way at every size measured. For 1×1 convolutions, which do little
    work per byte, it was faster from 320×180 positions up (a 416→128 fusion, bf16, on the development CPU:
    6.9 against 7.7 ms at 320×180, 20.1 against 26.7 ms at 480×270) and slower below (1.73 against 1.54 ms at
    160×90), hence ``chain_from``.
    """

    def __init__(self, conv: nn.Conv2d, dtype: torch.dtype, part_channels: Sequence[int], chain_from: int = 0
                 ) -> None:
        bounds = [sum(part_channels[:i]) for i in range(len(part_channels) + 1)]
        if bounds[-1] != conv.in_channels:
            raise ValueError(f"parts of {bounds[-1]} channels for a convolution of {conv.in_channels}")
        # The bias goes with the first part only: it is added once.
        self.parts = [
            _FusedConv(conv, dtype, slice(bounds[i], bounds[i + 1]), with_bias=i == 0)
            for i in range(len(part_channels))
        ]
        # The whole weight is needed only where a concatenation can be convolved; one part is the whole.
        self.whole = self.parts[0] if len(self.parts) == 1 else _FusedConv(conv, dtype) if chain_from else None
        self.chain_from = chain_from  # positions per map from which the chain is used

    def __call__(self, sources: Sequence[torch.Tensor], relu: bool = False, add: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """``conv(cat(sources))``, plus ``add`` if given, then ReLU if asked."""
        if len(sources) == 1:
            return self.parts[0](sources[0], relu, add)
        height, width = sources[0].shape[-2:]
        if height * width < self.chain_from:
            return self.whole(torch.cat(list(sources), dim=1), relu, add)
        out = add
        for index, (part, source) in enumerate(zip(self.parts, sources, strict=True)):
            out = part(source, relu=relu and index == len(self.parts) - 1, add=out)
        return out


_CHAIN_1X1_FROM = 320 * 180


def _check_inference() -> None:
    if torch.is_grad_enabled():
        raise RuntimeError("fused inference blocks have no gradients: call them under torch.no_grad()")


class FusedResidualDenseBlock(nn.Module):
    """:class:`ResidualDenseBlock` for inference, as chains of fused oneDNN calls (see the module docstring)."""

    def __init__(self, block: ResidualDenseBlock, dtype: torch.dtype) -> None:
        super().__init__()
        # Layer i sees the block input and the outputs of layers 0..i-1.
        parts = [block.channels] + [block.growth] * len(block.layers)
        self.layers = [_ConcatConv(layer, dtype, parts[: index + 1]) for index, layer in enumerate(block.layers)]
        self.fuse = _ConcatConv(block.fuse, dtype, parts, chain_from=_CHAIN_1X1_FROM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`ResidualDenseBlock.forward`."""
        _check_inference()
        features = [x]
        for layer in self.layers:
            features.append(layer(features, relu=True))
        return self.fuse(features, add=x)


class FusedLocalFusion(nn.Module):
    """:class:`LocalFusion` for inference: its ReLUs, and the addition of ``base``, inside the convolutions."""

    def __init__(self, block: LocalFusion, dtype: torch.dtype) -> None:
        super().__init__()
        self.mix = _ConcatConv(block.mix, dtype, [block.channels] * block.num_frames, chain_from=_CHAIN_1X1_FROM)
        self.spread, self.refine = (_FusedConv(conv, dtype) for conv in (block.spread, block.refine))

    def forward(self, frames: Sequence[torch.Tensor], base: torch.Tensor | None = None) -> torch.Tensor:
        """Same as :meth:`LocalFusion.forward`."""
        _check_inference()
        if isinstance(frames, torch.Tensor):
            raise TypeError("LocalFusion takes a sequence of T frames (B, C, H, W), not one tensor; use .unbind(1)")
        mixed = self.spread(self.mix(list(frames), relu=True), relu=True)
        return self.refine(mixed, add=base)


class FusedResidualConvBlock(nn.Module):
    """:class:`ResidualConvBlock` for inference: its ReLU, and the residual addition, inside the convolutions."""

    def __init__(self, block: ResidualConvBlock, dtype: torch.dtype) -> None:
        super().__init__()
        self.conv1, self.conv2 = (_FusedConv(conv, dtype) for conv in (block.conv1, block.conv2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`ResidualConvBlock.forward`."""
        _check_inference()
        return self.conv2(self.conv1(x, relu=True), add=x)
