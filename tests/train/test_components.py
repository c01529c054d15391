"""Schedules, losses, EMA and the (seed, step) sampling stream against direct formulas."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio
from torch import nn

from vdeblur.train.config import LossConfig, OptimConfig
from vdeblur.train.ema import ModelEMA
from vdeblur.train.losses import ContentLoss
from vdeblur.train.sampling import draws_for_step
from vdeblur.train.schedule import learning_rate


def test_step_schedule_halves_every_step_size() -> None:
    config = OptimConfig(lr=1e-4, schedule="step", step_size=10, gamma=0.5)
    assert [learning_rate(s, config, 100) for s in (0, 9, 10, 25)] == pytest.approx([1e-4, 1e-4, 5e-5, 2.5e-5])


def test_cosine_schedule_warms_up_then_decays_to_min_lr() -> None:
    config = OptimConfig(lr=1e-3, schedule="cosine", warmup_steps=10, min_lr=1e-5)
    assert learning_rate(0, config, 110) == pytest.approx(1e-4)
    assert learning_rate(10, config, 110) == pytest.approx(1e-3)
    assert learning_rate(60, config, 110) == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))
    assert learning_rate(110, config, 110) == pytest.approx(1e-5)


def test_content_losses_match_their_formulas() -> None:
    out, target = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    d = (out - target).double().numpy()
    assert ContentLoss(LossConfig(kind="l1"))(out, target).item() == pytest.approx(np.abs(d).mean(), rel=1e-6)
    assert ContentLoss(LossConfig(kind="mse"))(out, target).item() == pytest.approx((d**2).mean(), rel=1e-6)
    charb = np.sqrt(d**2 + 1e-6).mean()
    assert ContentLoss(LossConfig(kind="charbonnier", charbonnier_eps=1e-3))(out, target).item() == pytest.approx(charb, rel=1e-6)
    spectrum = np.fft.rfft2(d, axes=(-2, -1))
    fft_l1 = (np.abs(spectrum.real).sum() + np.abs(spectrum.imag).sum()) / (2 * spectrum.size)
    with_fft = ContentLoss(LossConfig(kind="l1", fft_weight=0.1))(out, target).item()
    assert with_fft == pytest.approx(np.abs(d).mean() + 0.1 * fft_l1, rel=1e-5)


def test_psnr_loss_is_minus_the_mean_frame_psnr_of_scikit_image() -> None:
    out, target = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    out[1] = target[1] + 0.01 * torch.randn(3, 16, 16)  # frames of very different error weigh alike
    psnrs = [peak_signal_noise_ratio(t.double().numpy(), o.double().numpy(), data_range=1.0) for o, t in zip(out, target)]
    loss = ContentLoss(LossConfig(kind="psnr"))(out, target).item()
    assert loss == pytest.approx(-np.mean(psnrs), rel=1e-5)


def test_ema_follows_the_recursion() -> None:
    model = nn.Linear(3, 2)
    ema = ModelEMA(model, decay=0.9)
    expected = model.weight.detach().clone()
    for n in range(1, 6):
        with torch.no_grad():
            model.weight.add_(1.0)
        ema.update(model)
        decay = min(0.9, (1 + n) / (10 + n))
        expected = decay * expected + (1 - decay) * model.weight.detach()
    torch.testing.assert_close(ema.module.weight, expected)


def test_sampling_is_a_permutation_per_epoch_and_shards_exactly() -> None:
    size, batch = 7, 4
    single = [d for step in range(7) for d in draws_for_step(3, step, batch, size)]
    for epoch in range(4):  # 28 draws = 4 full epochs, each visiting every item once
        assert sorted(i for e, i in single if e == epoch) == list(range(size))
    for step in range(7):
        sharded = draws_for_step(3, step, batch, size, 0, 2) + draws_for_step(3, step, batch, size, 1, 2)
        assert sharded == draws_for_step(3, step, batch, size)
    assert draws_for_step(3, 5, batch, size) == draws_for_step(3, 5, batch, size)
    assert draws_for_step(4, 0, batch, size) != draws_for_step(3, 0, batch, size)
