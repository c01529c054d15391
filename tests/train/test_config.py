"""The strict config: unknown keys and mistyped values are errors naming the key; the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest

from vdeblur.errors import ConfigError
from vdeblur.train.config import RunConfig, load_config, parse_override, save_config

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lrate: 0.001\n")
    with pytest.raises(ConfigError, match=r"optim\.lrate.*did you mean 'lr'"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"'trian'.*did you mean 'train'"):
        load_config(None, [parse_override("trian.max_steps=3")])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.max_steps=ten", r"train\.max_steps must be an integer"),
        ("train.max_steps=2.5", r"train\.max_steps must be an integer"),
        ("data.augment=3", r"data\.augment must be true or false"),
        ("loss.kind=l3", r"loss\.kind must be one of l1, charbonnier, mse"),
        ("optim.betas=[0.9]", r"optim\.betas must be a list of 2"),
        ("train.max_steps=0", r"train\.max_steps must be positive"),
        ("train.max_steps.x=1", r"train\.max_steps' is a value, not a section"),
    ],
)
def test_mistyped_values_are_rejected(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [parse_override(override)])


def test_overrides_are_typed_and_reach_nested_mappings() -> None:
    config = load_config(None, [parse_override(t) for t in (
        "optim.lr=1e-4", "train.ema_decay=null", "optim.betas=[0.8, 0.99]", "model.kwargs.width=8",
    )])
    assert config.optim.lr == pytest.approx(1e-4) and isinstance(config.optim.lr, float)
    assert config.train.ema_decay is None
    assert config.optim.betas == (0.8, 0.99)
    assert config.model.kwargs == {"width": 8}


def test_saved_config_reloads_identically(tmp_path: Path) -> None:
    config = load_config(None, [parse_override("model.kwargs.growth=[4, 8, 8]"), parse_override("data.val_crop=null")])
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_load_and_name_real_models(path: Path) -> None:
    from vdeblur.models import list_models

    config = load_config(path)
    assert isinstance(config, RunConfig)
    assert config.model.name in list_models()
