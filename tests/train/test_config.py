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
        ("train.threads=-1", r"train\.threads must be 0 or more, not -1\."),
        ("optim.weight_decay=-0.1", r"optim\.weight_decay must be 0 or more"),
        ("optim.betas=[0.9, 1.0]", r"optim\.betas must be two numbers in \[0, 1\)"),
        ("optim.betas=[-0.1, 0.9]", r"optim\.betas must be two numbers in \[0, 1\)"),
        ("gan.d_betas=[0.5, 2]", r"gan\.d_betas must be two numbers in \[0, 1\)"),
        ("optim.lr=nan", r"optim\.lr must be a finite number, not nan\."),
        ("optim.lr=.inf", r"optim\.lr must be a finite number, not inf"),
        ("optim.lr=-1e-4", r"optim\.lr must be positive"),
        ("gan.d_lr=0", r"gan\.d_lr must be positive"),
        ("gan.d_lr=.nan", r"gan\.d_lr must be a finite number"),
        ("optim.min_lr=nan", r"optim\.min_lr must be a finite number"),
        ("optim.min_lr=-1e-6", r"optim\.min_lr must be 0 or more"),
        ("train.seed=-1", r"train\.seed must be 0 or more, not -1\."),
        ("train.single_frame_steps=-5", r"train\.single_frame_steps must be 0 or more, not -5\."),
        ("optim.lr=1" + "0" * 400, r"optim\.lr must be a finite number"),
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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"train:\n  max_steps: 3\n  log_every: 1: 2\n",
         r"Cannot read the config .*c\.yaml: line 3, column 15: mapping values are not allowed here\.$"),
        (b"optim:\n  lr: [1, 2\n", r"Cannot read the config .*c\.yaml: line 3, column 1: expected ',' or ']'"),
        (b"# r\xe9glages\ntrain: {}\n", r"Cannot read the config .*c\.yaml: byte 3 is not UTF-8 text; save the file"),
        (b"3\n", r"The config .*c\.yaml must be a mapping of sections such as 'train:' and 'optim:', not 3\.$"),
        (b"- train\n", r"must be a mapping of sections .*, not \['train'\]\.$"),
    ],
    ids=["bad YAML", "unclosed list", "not UTF-8", "a number", "a list"],
)
def test_unreadable_config_files_are_one_sentence(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    for overrides in ([], [parse_override("train.max_steps=3")]):  # shorthand flags are merged into the file's tree
        with pytest.raises(ConfigError, match=message) as caught:
            load_config(path, overrides)
        assert "\n" not in str(caught.value)
