"""An exponential moving average of a model's weights, the copy that is validated and shipped."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """Keeps ``shadow = d·shadow + (1 − d)·weights`` after every optimiser step.

    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` over the first updates, so that the average is not
    dominated by the random initialisation in short runs. Buffers (e.g. BatchNorm statistics) are copied, not
    averaged.

    Args:
        model: the trained model (unwrapped from DistributedDataParallel).
        decay: the long-run decay, e.g. 0.999.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the model's current weights into the average."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for shadow, live in zip(self.module.parameters(), model.parameters()):
            shadow.lerp_(live.detach(), 1.0 - decay)
        for shadow, live in zip(self.module.buffers(), model.buffers()):
            shadow.copy_(live)

    def state_dict(self) -> dict:
        """The averaged weights and the update count."""
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
