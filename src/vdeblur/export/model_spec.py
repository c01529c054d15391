"""Turning ``--model`` into a model for export and benchmarking, where random weights may stand in."""

from __future__ import annotations

import torch
from torch import nn

from vdeblur.checkpoint import load_model, shipped_weights_path
from vdeblur.models import create_model, list_models


def model_for_tooling(spec: str, random_init: bool | None, seed: int = 0) -> nn.Module:
    """Load ``spec`` (model name, run directory or ``.safetensors`` file) on the CPU, in eval mode.

    Args:
        spec: what the user passed as ``--model``.
        random_init: for a registered name, True builds it with seeded random weights instead of shipped ones;
            None does so only when no weights ship for it (speed does not depend on weight values); False
            never does (loading a name without shipped weights is then an error).
        seed: the seed of the random weights.

    Raises:
        UserError: unknown model; CheckpointError for missing or unreadable weights.
    """
    if spec in list_models() and (random_init or (random_init is None and shipped_weights_path(spec) is None)):
        torch.manual_seed(seed)
        return create_model(spec).eval()
    return load_model(spec, "cpu")
