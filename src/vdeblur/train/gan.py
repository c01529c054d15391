"""DBLRGAN's adversarial part: a discriminator, its optimiser and the two non-saturating BCE losses.

The generator's loss is ``content + α·adv`` with ``adv = BCE(D(G(x)), real)``; the discriminator minimises
``BCE(D(y), real) + BCE(D(G(x)), fake)``. Real and fake frames go through the discriminator in one batch so that
DistributedDataParallel sees one forward per backward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vdeblur.train.config import GanConfig


class Adversary:
    """The discriminator side of DBLRGAN.

    Args:
        discriminator: frame ``(B, 3, H, W)`` → logit ``(B,)``; possibly wrapped in DistributedDataParallel.
        config: learning rate, betas and α.
    """

    def __init__(self, discriminator: nn.Module, config: GanConfig) -> None:
        self.discriminator = discriminator
        self.config = config
        self.optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.d_lr, betas=config.d_betas)

    @property
    def module(self) -> nn.Module:
        """The discriminator without its DistributedDataParallel wrapper."""
        return getattr(self.discriminator, "module", self.discriminator)

    def discriminator_step(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        """One optimiser step of the discriminator on sharp frames against (detached) restored frames.

        Returns:
            ``d_loss`` and the mean probabilities ``d_real``, ``d_fake`` that D gives the two kinds of frame.
        """
        self.module.requires_grad_(True)
        logits = self.discriminator(torch.cat([real, fake.detach()])).float()
        real_logits, fake_logits = logits[: real.shape[0]], logits[real.shape[0] :]
        loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {
            "d_loss": loss.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """The adversarial term for the generator: ``BCE(D(fake), real)``, gradients flowing into ``fake`` only.

        The unwrapped discriminator is used: its weights are frozen here, and a second DDP forward without a
        matching backward of its parameters would upset DDP's gradient bookkeeping.
        """
        self.module.requires_grad_(False)
        logits = self.module(fake).float()
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def state_dict(self) -> dict:
        """Discriminator weights and optimiser state."""
        return {"model": self.module.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Undo `state_dict`."""
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
