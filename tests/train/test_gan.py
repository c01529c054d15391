"""DBLRGAN: one step updates both networks; the discriminator learns to separate real from fake."""

from __future__ import annotations

from pathlib import Path

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
