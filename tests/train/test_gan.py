"""DBLRGAN: one step updates both networks; the discriminator learns to separate real from fake."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from vdeblur.models import create_discriminator
from vdeblur.train.config import GanConfig
from vdeblur.train.gan import Adversary
from vdeblur.train.state import load_state
from vdeblur.train.trainer import Trainer

from .conftest import tiny_config

CPU = torch.device("cpu")
TINY_DISC = {"widths": [8, 16, 16, 16], "hidden": 16}


def _gan_trainer(run: Path, data: Path, adv_weight: float) -> Trainer:
    config = tiny_config(
        run, data, gan__enabled=True, gan__discriminator_kwargs=dict(TINY_DISC), gan__adv_weight=adv_weight,
        loss__kind="mse", train__ema_decay=None, optim__grad_clip=None,
    )
    return Trainer(config, CPU, quiet=True)


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def test_one_gan_step_updates_both_networks_and_the_adversarial_term_reaches_g(tiny_dataset: Path, tmp_path: Path) -> None:
    batch = next(iter(_gan_trainer(tmp_path / "probe", tiny_dataset, 1.0)._loader()))
    updates = {}
    for weight in (0.0, 1.0):
        trainer = _gan_trainer(tmp_path / f"w{weight}", tiny_dataset, weight)
        g_before, d_before = _snapshot(trainer.model), _snapshot(trainer.adversary.module)
        stats = trainer._train_step(batch)
        g_after, d_after = _snapshot(trainer.model), _snapshot(trainer.adversary.module)
        assert all(torch.isfinite(v) for v in stats.values())
        assert 0.0 < stats["d_real"] < 1.0 and 0.0 < stats["d_fake"] < 1.0
        assert any(not torch.equal(d_before[k], d_after[k]) for k in d_before), "discriminator did not move"
        assert any(not torch.equal(g_before[k], g_after[k]) for k in g_before), "generator did not move"
        updates[weight] = {k: g_after[k] - g_before[k] for k in g_before}
    # Same seed, same batch: only the adversarial term differs, so the generator's update must differ.
    assert any(not torch.allclose(updates[0.0][k], updates[1.0][k]) for k in updates[0.0])


def test_discriminator_loss_falls_against_a_frozen_generator() -> None:
    # Toy problem: "real" frames are sharp random textures, "fake" ones the same textures box-blurred (what a
    # frozen, imperfect generator produces). D only has to learn that sharpness means real.
    torch.manual_seed(0)
    real = torch.rand(8, 3, 32, 32)
    fake = torch.nn.functional.avg_pool2d(real, 5, stride=1, padding=2, count_include_pad=False)
    adversary = Adversary(create_discriminator("dblrgan-disc", **TINY_DISC), GanConfig(d_lr=1e-3))
    losses = [adversary.discriminator_step(real, fake)["d_loss"].item() for _ in range(40)]
    assert losses[0] > 1.0  # about 2 ln 2 at the start: D cannot tell the two apart
    assert sum(losses[-5:]) / 5 < 0.5 * losses[0]


def test_gan_training_stays_finite_and_d_does_not_collapse(tiny_dataset: Path, tmp_path: Path) -> None:
    import csv

    run = tmp_path / "gan"
    config = tiny_config(
        run, tiny_dataset, gan__enabled=True, gan__discriminator_kwargs=dict(TINY_DISC), loss__kind="mse",
        train__max_steps=20, train__val_every=20, train__checkpoint_every=20, data__batch_size=4,
    )
    Trainer(config, CPU, quiet=True).fit()  # 20 steps of 4 = 8 epochs of the 10-item dataset
    rows = [r for r in csv.DictReader((run / "log.csv").open()) if r["d_real"]]
    assert len(rows) == 20
    for row in rows:
        assert 0.02 < float(row["d_real"]) < 0.98 and 0.02 < float(row["d_fake"]) < 0.98, row
    state = load_state(run / "state.pt")
    assert state["adversary"] is not None and state["step"] == 20


class MeanLogit(torch.nn.Module):
    """A discriminator whose logit is written out by hand: ``z = w · (per-channel means) + b``."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([2.0, -1.0, 0.5]))
        self.b = torch.nn.Parameter(torch.tensor(-0.25))

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return frame.mean(dim=(-2, -1)) @ self.w + self.b


def _softplus(z: float) -> float:
    return math.log1p(math.exp(z))  # −log σ(−z) = −log(1 − σ(z)), and −log σ(z) = softplus(−z)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _fixed_frames() -> tuple[torch.Tensor, torch.Tensor]:
    # Per-channel means (0.9, 0.1, 0.5) / (0.2, 0.6, 0.3) and so on: logits of both signs, none saturated.
    real = torch.tensor([[0.9, 0.1, 0.5], [0.7, 0.2, 0.1]])[:, :, None, None].expand(2, 3, 4, 5).clone()
    fake = torch.tensor([[0.2, 0.6, 0.3], [0.4, 0.4, 0.9], [0.1, 0.0, 0.0]])[:, :, None, None].expand(3, 3, 4, 5)
    return real, fake.clone()


def _logit(means: list[float]) -> float:
    return 2.0 * means[0] - 1.0 * means[1] + 0.5 * means[2] - 0.25


def test_discriminator_loss_and_step_follow_the_bce_formulas() -> None:
    real, fake = _fixed_frames()
    adversary = Adversary(MeanLogit(), GanConfig(d_lr=1e-2, d_betas=(0.5, 0.999)))
    z_real = [_logit(f[:, 0, 0].tolist()) for f in real]
    z_fake = [_logit(f[:, 0, 0].tolist()) for f in fake]
    # D minimises −mean log σ(z_real) − mean log(1 − σ(z_fake)).
    expected = sum(_softplus(-z) for z in z_real) / 2 + sum(_softplus(z) for z in z_fake) / 3
    stats = adversary.discriminator_step(real, fake.requires_grad_(True))
    assert stats["d_loss"].item() == pytest.approx(expected, rel=1e-6)
    assert stats["d_real"].item() == pytest.approx(sum(map(_sigmoid, z_real)) / 2, rel=1e-6)
    assert stats["d_fake"].item() == pytest.approx(sum(map(_sigmoid, z_fake)) / 3, rel=1e-6)
    assert fake.grad is None  # the restored frames are detached for D's step
    # dL/db by hand; Adam's first step moves every weight by lr against the sign of its gradient.
    grad_b = sum(_sigmoid(z) - 1 for z in z_real) / 2 + sum(_sigmoid(z) for z in z_fake) / 3
    assert adversary.module.b.item() == pytest.approx(-0.25 - 1e-2 * math.copysign(1.0, grad_b), abs=1e-6)


def test_generator_loss_is_minus_log_sigmoid_and_leaves_the_discriminator_alone() -> None:
    real, fake = _fixed_frames()
    adversary = Adversary(MeanLogit(), GanConfig(d_lr=1e-2))
    adversary.discriminator_step(real, fake)  # D trainable first, as in a training step
    adversary.optimizer.zero_grad(set_to_none=True)
    d_before = _snapshot(adversary.module)
    fake = fake.clone().requires_grad_(True)
    loss = adversary.generator_loss(fake)
    w, b = adversary.module.w.detach().tolist(), adversary.module.b.item()
    z = [sum(wi * m for wi, m in zip(w, f[:, 0, 0].tolist())) + b for f in fake.detach()]
    assert loss.item() == pytest.approx(sum(_softplus(-zi) for zi in z) / 3, rel=1e-6)  # −mean log σ(z)
    loss.backward()
    # D is frozen during G's step: no gradient reaches its parameters, and they keep their values.
    assert all(p.grad is None for p in adversary.module.parameters())
    assert all(torch.equal(v, d_before[k]) for k, v in _snapshot(adversary.module).items())
    # The gradient reaches the generated frames: ∂/∂pixel = (σ(z) − 1) · w_c / (B · H · W).
    for i, zi in enumerate(z):
        for c in range(3):
            want = (_sigmoid(zi) - 1) * w[c] / (3 * 4 * 5)
            torch.testing.assert_close(fake.grad[i, c], torch.full((4, 5), want), rtol=1e-5, atol=1e-9)


def test_pretrain_steps_keep_the_discriminator_out_until_the_given_step(tiny_dataset: Path, tmp_path: Path) -> None:
    def trainer(name: str, **gan: object) -> Trainer:
        config = tiny_config(
            tmp_path / name, tiny_dataset, loss__kind="mse", train__ema_decay=None, optim__grad_clip=None,
            **{f"gan__{k}": v for k, v in gan.items()},
        )
        return Trainer(config, CPU, quiet=True)

    gated = trainer("gated", enabled=True, discriminator_kwargs=dict(TINY_DISC), adv_weight=1.0, pretrain_steps=2)
    plain = trainer("plain", enabled=False)
    batch = next(iter(plain._loader()))
    for step in (0, 1):  # content-only: the same update as a run without a GAN, D untouched
        gated.step = plain.step = step
        d_before = _snapshot(gated.adversary.module)
        gated_stats, plain_stats = gated._train_step(batch), plain._train_step(batch)
        assert set(gated_stats) == {"loss"}
        assert gated_stats["loss"].item() == plain_stats["loss"].item()
        g, p = _snapshot(gated.model), _snapshot(plain.model)
        assert all(torch.equal(g[k], p[k]) for k in g)
        assert all(torch.equal(v, d_before[k]) for k, v in _snapshot(gated.adversary.module).items())
    gated.step = 2  # from pretrain_steps on, D trains and the adversarial term joins G's loss
    d_before = _snapshot(gated.adversary.module)
    stats = gated._train_step(batch)
    assert {"d_loss", "d_real", "d_fake"} <= set(stats)
    assert any(not torch.equal(v, d_before[k]) for k, v in _snapshot(gated.adversary.module).items())
