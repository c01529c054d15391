"""Named presets as small factory functions, and the explicit table that maps names to them.

Each factory merges the preset's arguments with the caller's overrides, builds the model and records
``model_name`` and ``model_kwargs`` (every constructor argument, JSON-serialisable) on it, so that
``create_model(model.model_name, **model.model_kwargs)`` rebuilds the same architecture.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from vdeblur.errors import ConfigError, first_line
from vdeblur.models.dblrnet import DBLRGANDiscriminator, DBLRNet
from vdeblur.models.stanet import STANet

ModelT = TypeVar("ModelT", bound=nn.Module)


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple | list) else value


def constructor_defaults(cls: type) -> dict[str, Any]:
    """The default of every constructor argument of ``cls`` that has one."""
    parameters = inspect.signature(cls).parameters
    return {key: p.default for key, p in parameters.items() if p.default is not inspect.Parameter.empty}


def _build(name: str, cls: type[ModelT], preset: dict[str, Any], overrides: dict[str, Any]) -> ModelT:
    parameters = inspect.signature(cls).parameters
    unknown = sorted(set(overrides) - set(parameters))
    if unknown:
        raise ConfigError(
            f"Model '{name}' has no argument {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(parameters)}."
        )
    kwargs = {**constructor_defaults(cls), **preset, **overrides}
    try:
        model = cls(**kwargs)
    except (ValueError, TypeError, RuntimeError) as exc:
        # Values the constructors do not check themselves (a string for a size, a level list that is a number)
        # surface as whatever Python or torch raised.
        raise ConfigError(f"Model '{name}' cannot be built from these arguments: {first_line(exc)}.") from exc
    model.model_name = name
    model.model_kwargs = {key: _jsonable(value) for key, value in kwargs.items()}
    return model


# The backbone shared by sta-cpu and its single-frame ablation. Pixel-unshuffle ×2 puts the finest level
# at 1/2 scale; with L=3 sta-cpu costs 57.6 GFLOPs per output frame at 1280×720 with feature caching and ran in
# 0.26 s in bf16 on the 2-core development CPU (L=4 was 76 GFLOPs and 0.37 s, below the 3 frames/s target).
_CPU_BACKBONE: dict[str, Any] = dict(width=24, growth=(12, 24, 48), num_layers=3, unshuffle=2)


def sta_paper(**overrides: Any) -> STANet:
    """STANet as in the paper: c=32, g=32, L=5, M=N=8, T=5, factorized attention only (equations 1–6)."""
    preset = dict(
        num_frames=5, width=32, growth=32, num_layers=5, num_spatial=8, num_temporal=8,
        attention_levels=(1, 2), local_fusion_levels=(), unshuffle=1,
    )
    return _build("sta-paper", STANet, preset, overrides)


def sta_cpu(**overrides: Any) -> STANet:
    """The first shipped CPU model (the default before ``sta-wide``): T=5, factorized attention at 1/4 and 1/8
    scale plus a local path at both.

    Attention alone gives each pixel a mixture of global descriptors and did not beat one frame (docs/DESIGN.md §3.1);
    the local path (the 5 frames' features concatenated and mixed by convs) lets aligned neighbour detail in.
    """
    preset = dict(
        num_frames=5, num_spatial=4, num_temporal=4, attention_levels=(1, 2), local_fusion_levels=(1, 2),
        **_CPU_BACKBONE,
    )
    return _build("sta-cpu", STANet, preset, overrides)


def sta_fullres(**overrides: Any) -> STANet:
    """``sta-cpu`` without the pixel-unshuffle: levels at full, 1/2 and 1/4 scale, narrower (16/32/64, growth
    8/16/32), and the local path at every level. About twice sta-cpu's FLOPs, and the better of the two at equal
    training steps: the ×2 unshuffle cost detail that the decoder could not recover (BENCHMARKS.md)."""
    preset = dict(
        num_frames=5, width=16, growth=(8, 16, 32), num_layers=3, num_spatial=4, num_temporal=4,
        attention_levels=(1, 2), local_fusion_levels=(0, 1, 2), unshuffle=1,
    )
    return _build("sta-fullres", STANet, preset, overrides)


def sta_wide(**overrides: Any) -> STANet:
    """The shipped default: STANet shaped for CPUs with bf16 matrix units (AMX): pixel-unshuffle ×4 and 128
    channels at every level.

    On such CPUs a wide convolution is compute-bound and runs near the machine's convolution peak, while the
    narrow layers and large maps of ``sta-cpu`` and ``sta-fullres`` are bound by memory traffic (their
    concatenations, activations and additions). Here the finest level is at 1/4 scale, where 128 channels cover
    the 48 values of each 4×4 pixel block, so about four times ``sta-cpu``'s FLOPs run in about 1.5 times its
    time (BENCHMARKS.md). Attention at 1/8 and 1/16 scale, the local path at 1/4 and 1/8.
    """
    preset = dict(
        num_frames=5, width=(128, 128, 128), growth=(96, 64, 64), num_layers=3, num_spatial=4, num_temporal=4,
        attention_levels=(1, 2), local_fusion_levels=(0, 1), unshuffle=4,
    )
    return _build("sta-wide", STANet, preset, overrides)


def sta_fast(**overrides: Any) -> STANet:
    """The fast model for CPUs without AMX: ``sta-wide``'s layout (×4 pixel-unshuffle, one width at every
    level, attention at 1/8 and 1/16 scale, the local path at 1/4 and 1/8) at half its width, with two layers
    per block instead of three, on windows of three frames: 45.3 GFLOPs per 1280×720 frame streaming, a fifth of
    ``sta-wide``'s. Three frames instead of five make a training step 0.41 CPU s instead of 0.57, and at equal
    CPU time the extra steps are worth more than the two outer neighbours (BENCHMARKS.md, issue 15).

    Wide layers at coarse scale keep 70–90 % of the dense 3×3 roofline in float32 where ``sta-cpu``'s narrow
    fine-scale layers keep about 45 %, so it runs faster than ``sta-cpu`` despite similar FLOPs (BENCHMARKS.md,
    issue 16).
    """
    preset = dict(
        num_frames=3, width=(64, 64, 64), growth=(48, 32, 32), num_layers=2, num_spatial=4, num_temporal=4,
        attention_levels=(1, 2), local_fusion_levels=(0, 1), unshuffle=4,
    )
    return _build("sta-fast", STANet, preset, overrides)


def sta_naf(**overrides: Any) -> STANet:
    """STANet with NAFNet blocks (a candidate of the recipe ablations, BENCHMARKS.md): ×4 pixel-unshuffle,
    widths 64/128/256 at 1/4, 1/8 and 1/16 scale, 2/2/4 blocks per level in encoder and decoder, factorized
    attention at every level within 8×8 tiles of the map, and the local path at 1/4 and 1/8.

    Tiles give each position's descriptors the detail of its neighbourhood (32×32 pixels at 1/4 scale) rather
    than whole-frame averages, and the same statistics on training crops as on whole frames.
    """
    preset = dict(
        num_frames=5, width=(64, 128, 256), num_spatial=4, num_temporal=4, attention_levels=(0, 1, 2),
        local_fusion_levels=(0, 1), unshuffle=4, block="naf", num_blocks=(2, 2, 4), attention_window=8,
    )
    return _build("sta-naf", STANet, preset, overrides)


def single_frame(**overrides: Any) -> STANet:
    """The ablation: the ``sta-cpu`` backbone on one frame (T=1), so nothing is fused."""
    preset = dict(
        num_frames=1, num_spatial=4, num_temporal=4, attention_levels=(), local_fusion_levels=(), **_CPU_BACKBONE
    )
    return _build("single-frame", STANet, preset, overrides)


def dblrnet(**overrides: Any) -> DBLRNet:
    """DBLRNet with the paper's layer sizes (≈1.9 M parameters in RGB)."""
    preset = dict(color="rgb", spatio_temporal_channels=16, channels=64, num_blocks=15, head_channels=256)
    return _build("dblrnet", DBLRNet, preset, overrides)


def dblrnet_cpu(**overrides: Any) -> DBLRNet:
    """A smaller DBLRNet for CPU training: 32 channels, 6 residual blocks, a 64-wide head, global residual."""
    preset = dict(
        color="rgb", spatio_temporal_channels=16, channels=32, num_blocks=6, head_channels=64, global_residual=True
    )
    return _build("dblrnet-cpu", DBLRNet, preset, overrides)


def dblrgan_disc(**overrides: Any) -> DBLRGANDiscriminator:
    """The DBLRGAN discriminator: widths 64→128→256→512, a 1024-wide hidden layer, one logit."""
    return _build("dblrgan-disc", DBLRGANDiscriminator, dict(widths=(64, 128, 256, 512), hidden=1024), overrides)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "sta-wide": sta_wide,
    "sta-cpu": sta_cpu,
    "sta-fast": sta_fast,
    "sta-fullres": sta_fullres,
    "sta-naf": sta_naf,
    "single-frame": single_frame,
    "sta-paper": sta_paper,
    "dblrnet": dblrnet,
    "dblrnet-cpu": dblrnet_cpu,
}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {"dblrgan-disc": dblrgan_disc}


def list_models() -> list[str]:
    """Names of the deblurring models ``create_model`` can build, shipped default first."""
    return list(MODELS)


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build the deblurring model ``name`` with the preset's arguments, replaced by ``overrides``.

    Args:
        name: a name from :func:`list_models`.
        **overrides: constructor arguments to change, e.g. ``num_frames=3``.

    Returns:
        The model, with ``model_name``, ``model_kwargs`` and ``num_frames`` set.

    Raises:
        ConfigError: unknown name, unknown argument, or an invalid value (naming the model and the argument).
    """
    if name not in MODELS:
        raise ConfigError(f"Unknown model '{name}'; known models: {', '.join(MODELS)}.")
    return MODELS[name](**overrides)


def create_discriminator(name: str = "dblrgan-disc", **overrides: Any) -> nn.Module:
    """Build a discriminator (frame ``(B, 3, H, W)`` -> logit ``(B,)``) by name; see :func:`create_model`."""
    if name not in DISCRIMINATORS:
        raise ConfigError(f"Unknown discriminator '{name}'; known: {', '.join(DISCRIMINATORS)}.")
    return DISCRIMINATORS[name](**overrides)
