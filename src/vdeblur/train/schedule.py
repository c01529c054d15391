"""The learning rate as a pure function of the step (no scheduler state to save or restore)."""

from __future__ import annotations

import math

from vdeblur.train.config import OptimConfig


def learning_rate(step: int, config: OptimConfig, max_steps: int) -> float:
    """The learning rate at ``step`` (0-based).

    ``step``: ``lr · gamma^(step // step_size)`` — the papers' halving every N steps (gamma 0.5).
    ``cosine``: linear warm-up over ``warmup_steps``, then cosine decay from ``lr`` to ``min_lr`` at ``max_steps``.
    ``constant``: ``lr`` after the warm-up. A warm-up applies to every schedule.
    """
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.schedule == "step":
        return config.lr * config.gamma ** (step // config.step_size)
    if config.schedule == "cosine":
        span = max(1, max_steps - config.warmup_steps)
        progress = min(1.0, (step - config.warmup_steps) / span)
        return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1.0 + math.cos(math.pi * progress))
    return config.lr
