"""FLOP counts of ``vdeblur models`` against a count by hand, and the command's table."""

from __future__ import annotations

import argparse

import pytest

from vdeblur.commands.models import run
from vdeblur.models.cost import measure_cost


def test_dblrnet_flops_equal_a_count_by_hand() -> None:
    # Multiply-adds per output pixel of each conv: Conv3d layers produce 3 then 1 frames.
    per_pixel = (
        3 * (3 * 16 * 27)  # Conv3d 3->16, 3 output frames
        + 16 * 64 * 27  # Conv3d 16->64, 1 output frame
        + 30 * 64 * 64 * 9  # 15 residual blocks of two 3x3 convs
        + 64 * 256 * 9 + 256 * 256 * 9 + 256 * 3 * 9  # head
    )
    cost = measure_cost("dblrnet", 720, 1280)
    assert cost.window_gflops == pytest.approx(2 * per_pixel * 720 * 1280 / 1e9, rel=1e-9)
    assert cost.streaming_gflops is None and cost.parameters == 1_883_491


def test_feature_caching_only_saves_encoder_work() -> None:
    sta = measure_cost("sta-cpu", 720, 1280)
    single = measure_cost("single-frame", 720, 1280)
    assert single.window_gflops == pytest.approx(single.streaming_gflops)
    assert sta.streaming_gflops < 0.5 * sta.window_gflops
    # The neighbours' encoder passes are exactly what caching removes: 4 extra encodes per window.
    encoder = (sta.window_gflops - sta.streaming_gflops) / 4
    assert 0.2 * single.window_gflops < encoder < 0.6 * single.window_gflops


def test_models_command_prints_every_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argparse.Namespace(height=72, width=128)) == 0
    out = capsys.readouterr().out
    for name in ("sta-cpu", "single-frame", "sta-paper", "dblrnet", "dblrnet-cpu"):
        assert f"\n{name} " in out
