"""Memory layout of model weights."""

from __future__ import annotations

import itertools

import torch
from torch import nn


def to_channels_last(module: nn.Module) -> nn.Module:
    """Store every 4-D parameter and buffer of ``module`` channels-last (NHWC), in place; returns ``module``.

    oneDNN's fast CPU convolutions (bf16 above all) work in NHWC. ``Module.to(memory_format=...)`` refuses
    models with 5-D weights (DBLRNet's Conv3d), so 2-D convolution weights are converted one by one and the
    others keep their layout. Values, names and shapes do not change.
    """
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        if tensor.dim() == 4:
            tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
    return module
