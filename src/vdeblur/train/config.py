"""The training configuration: nested dataclasses read strictly from YAML and ``--set key=value`` overrides.

Every key is checked against the dataclass fields and every value against the field's type; an unknown or
mistyped key is a :class:`~vdeblur.errors.ConfigError` that names it (with a did-you-mean suggestion).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from vdeblur.errors import ConfigError
from vdeblur.io.atomic import atomic_output


@dataclass
class ModelConfig:
    """Which network to train (a preset from ``vdeblur.models``) and constructor overrides."""

    name: str = "sta-wide"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    """Where the training and validation pairs are and how they are cut into batches."""

    root: str = ""
    layout: str = "auto"
    split: str = "train"
    blur_folder: str = "blur"
    patch_size: int = 128
    batch_size: int = 8
    augment: bool = True
    num_workers: int = 1
    # Crops cut from each decoded window (> 1 divides the decoding work per item; batch_size must be a multiple).
    crops_per_window: int = 1
    # Validation: a few sequences, a few frames each, centre crops, so that it takes seconds, not minutes.
    val_root: str | None = None  # None: the training root's ``val_split``
    val_split: str = "test"
    val_sequences: int = 3
    val_frames_per_sequence: int = 8
    val_crop: int | None = 256  # None: full frames


@dataclass
class OptimConfig:
    """The optimiser and the learning-rate schedule (defined over ``train.max_steps``)."""

    # "adamw": decoupled weight decay (NAFNet's recipe, AdamW at lr 1e-3, betas 0.9/0.9); "adam": L2 in the gradient.
    name: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    # "step": the papers' halving of lr every ``step_size`` steps; "cosine": warm-up then cosine decay to min_lr.
    schedule: Literal["step", "cosine", "constant"] = "cosine"
    step_size: int = 100_000
    gamma: float = 0.5
    warmup_steps: int = 0
    min_lr: float = 1e-6
    grad_clip: float | None = 1.0  # max global gradient norm; None: no clipping


@dataclass
class LossConfig:
    """The content loss between output and sharp frame."""

    # "psnr": -PSNR of each frame, averaged (NAFNet's loss): it weighs every frame's error relative to its size,
    # so nearly-sharp frames are not drowned out by heavily blurred ones.
    kind: Literal["l1", "charbonnier", "mse", "psnr"] = "charbonnier"
    charbonnier_eps: float = 1e-3
    fft_weight: float = 0.0  # weight of an L1 loss between the 2-D FFTs; 0 turns it off


@dataclass
class GanConfig:
    """DBLRGAN: adversarial fine-tuning with a discriminator (off unless ``enabled``)."""

    enabled: bool = False
    discriminator: str = "dblrgan-disc"
    discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
    adv_weight: float = 1e-3  # alpha in  MSE + alpha * adversarial
    d_lr: float = 1e-4
    d_betas: tuple[float, float] = (0.5, 0.999)  # the usual GAN betas: a shorter momentum keeps D responsive
    pretrain_steps: int = 0  # content-only generator steps before the discriminator joins


@dataclass
class TrainConfig:
    """The loop: length, precision, EMA, validation, checkpoints."""

    max_steps: int = 10_000
    max_minutes: float | None = None  # stop cleanly (with a checkpoint) after this wall-clock budget
    # Stop cleanly (validated, checkpointed) at this step while the schedule still runs to max_steps, so that two
    # runs can be compared at exactly equal steps; resuming with it cleared (null) carries on to max_steps.
    stop_at: int | None = None
    seed: int = 0
    device: str = "auto"
    # bf16: autocast on CPU or CUDA; fp16: CUDA only; auto: bf16 where this hardware runs it faster than fp32
    # (vdeblur.precision), resolved when training starts and recorded in the weights' metadata.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    ema_decay: float | None = 0.999  # None: no EMA
    val_every: int = 1000
    checkpoint_every: int = 500
    checkpoint_minutes: float = 10.0
    log_every: int = 10
    threads: int | None = None  # torch intra-op threads; None: torch's default
    init_from: str | None = None  # start a new run from these weights (.safetensors or run directory)
    # The first steps train on each window's reference frame alone, as a still (models with supports_stills):
    # samples about 2.4 times cheaper for sta-fast (one encoder pass, not T); the rest trains on whole windows.
    single_frame_steps: int = 0


@dataclass
class RunConfig:
    """Everything that defines a training run; saved as ``config.yaml`` in the run directory."""

    run_dir: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    gan: GanConfig = field(default_factory=GanConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _suggest(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check ``value`` against a type annotation, converting only where it is lossless (int -> float, list -> tuple)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, where)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, args))}, not {value!r}.")
        return value
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{where} must be a list of {len(args)} values, not {value!r}.")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, not {value!r}.")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, not {value!r}.")
        return dict(value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}.")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, not {value!r}.")
        return value
    if annotation is float:
        if isinstance(value, str):
            # PyYAML reads 1e-4 (no dot) as a string; accept what float() reads, nothing looser.
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            raise ConfigError(f"{where} must be a finite number, not {value!r:.40}.")
        return float(value)
    if annotation is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where} must be a string, not {value!r}.")
        return str(value)
    if annotation is Any:
        return value
    raise TypeError(f"unsupported config annotation {annotation!r} at {where}")


def from_dict(cls: type, data: Any, where: str = "config") -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and mistyped values.

    Raises:
        ConfigError: names the offending key.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping of keys to values, not {data!r}.")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where != "config" else str(key)
        if key not in names:
            raise ConfigError(f"Unknown config key '{path}'{_suggest(str(key), names)}.")
        values[key] = _coerce(value, hints[key], path)
    return cls(**values)


def plain(value: Any) -> Any:
    """Nested tuples as lists, so that values compare equal after a YAML or JSON round trip."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """The config as plain YAML-friendly values (tuples become lists)."""
    return plain(dataclasses.asdict(config))


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Put ``value`` at ``a.b.c`` in a nested dict, checking each level against RunConfig's fields."""
    parts = dotted.split(".")
    cls: Any = RunConfig
    node = tree
    for depth, part in enumerate(parts):
        if cls is None:  # inside a free-form mapping such as model.kwargs
            if depth == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
            continue
        names = [f.name for f in dataclasses.fields(cls)]
        if part not in names:
            prefix = ".".join(parts[:depth] + [part])
            raise ConfigError(f"Unknown config key '{prefix}'{_suggest(part, names)}.")
        if depth == len(parts) - 1:
            node[part] = value
            return
        hint = typing.get_type_hints(cls)[part]
        cls = hint if dataclasses.is_dataclass(hint) else None
        if cls is None and not (hint is dict or typing.get_origin(hint) is dict):
            raise ConfigError(f"Config key '{'.'.join(parts[:depth + 1])}' is a value, not a section.")
        child = node.get(part)
        node = node.setdefault(part, {}) if child is None or isinstance(child, dict) else {}


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value``; the value is read as YAML, so ``3``, ``1e-4``, ``true``, ``null``, ``[1, 2]`` work."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got '{text}'.")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"Cannot read the value of --set {key}: {raw!r} is not valid YAML.") from exc
    return key.strip(), value


def load_config(path: str | os.PathLike | None = None, overrides: list[tuple[str, Any]] | None = None) -> RunConfig:
    """Read a YAML config (or start from the defaults), apply ``(dotted key, value)`` overrides, validate.

    Raises:
        ConfigError: a missing or unreadable file, an unknown key or a mistyped value.
    """
    tree = _read_tree(Path(path)) if path is not None else {}
    for key, value in overrides or []:
        _set_dotted(tree, key, value)
    config = from_dict(RunConfig, tree)
    validate(config)
    return config


def _read_tree(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path`` (empty for an empty file), with every way of failing as one ConfigError."""
    if not path.is_file():
        raise ConfigError(f"Config file not found: {path}.")
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Cannot read the config {path}: byte {exc.start} is not UTF-8 text; save the file as UTF-8."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read the config {path}: {exc.strerror or exc}.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"Cannot read the config {path}: {_yaml_problem(exc)}.") from exc
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise ConfigError(
            f"The config {path} must be a mapping of sections such as 'train:' and 'optim:', not {tree!r:.40}."
        )
    return tree


def _yaml_problem(exc: yaml.YAMLError) -> str:
    # PyYAML's own message spans several lines (context, the quoted source line, a caret); where and what is enough.
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem or exc.context or 'invalid YAML'}"
    return f"it is not valid YAML ({str(exc).strip().splitlines()[0]})"


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def validate(config: RunConfig) -> None:
    """Checks across keys that types alone cannot express."""
    positive = {
        "data.patch_size": config.data.patch_size, "data.batch_size": config.data.batch_size,
        "train.max_steps": config.train.max_steps, "train.val_every": config.train.val_every,
        "train.checkpoint_every": config.train.checkpoint_every, "train.log_every": config.train.log_every,
        "optim.lr": config.optim.lr, "gan.d_lr": config.gan.d_lr, "optim.step_size": config.optim.step_size,
        "data.crops_per_window": config.data.crops_per_window,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key} must be positive, not {value}.")
    if config.data.batch_size % config.data.crops_per_window:
        raise ConfigError(
            f"data.batch_size {config.data.batch_size} must be a multiple of data.crops_per_window "
            f"{config.data.crops_per_window}."
        )
    not_negative = {
        "data.num_workers": config.data.num_workers, "train.threads": config.train.threads or 0,
        "train.seed": config.train.seed, "train.single_frame_steps": config.train.single_frame_steps,
        "optim.weight_decay": config.optim.weight_decay, "optim.min_lr": config.optim.min_lr,
    }
    for key, value in not_negative.items():
        if value < 0:
            raise ConfigError(f"{key} must be 0 or more, not {value}.")
    for key, betas in {"optim.betas": config.optim.betas, "gan.d_betas": config.gan.d_betas}.items():
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ConfigError(f"{key} must be two numbers in [0, 1), such as [0.9, 0.999], not {list(betas)}.")
    if config.train.stop_at is not None and not 0 < config.train.stop_at <= config.train.max_steps:
        raise ConfigError(
            f"train.stop_at must lie between 1 and train.max_steps ({config.train.max_steps}), not "
            f"{config.train.stop_at}."
        )
    if config.train.ema_decay is not None and not 0.0 < config.train.ema_decay < 1.0:
        raise ConfigError(f"train.ema_decay must lie strictly between 0 and 1, not {config.train.ema_decay}.")


def save_config(config: RunConfig, path: str | os.PathLike) -> None:
    """Write the resolved config as YAML, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
