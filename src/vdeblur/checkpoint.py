"""Model weights as safetensors with JSON metadata, and resolving what a user means by ``--model``.

A weights file stores the state dict of one deblurring model and, in its safetensors metadata under the key
``vdeblur``, a JSON object with at least ``model`` (registered name) and ``model_kwargs`` (the constructor
arguments), so the file alone rebuilds the network. Training adds ``steps``, ``data``, ``metrics`` and more.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from vdeblur.errors import CheckpointError, ConfigError, UserError
from vdeblur.io.atomic import atomic_output

METADATA_KEY = "vdeblur"
DEFAULT_MODEL = "sta-wide"
# Inside a run directory, the file looked for first wins.
RUN_DIR_WEIGHTS = ("best.safetensors", "last.safetensors")
_DAMAGED = "the file is damaged or was edited by hand, so use an intact copy of it"


def model_metadata(model: nn.Module) -> dict[str, Any]:
    """The name and constructor arguments ``create_model`` recorded on ``model``."""
    name = getattr(model, "model_name", None)
    kwargs = getattr(model, "model_kwargs", None)
    if name is None or kwargs is None:
        raise ValueError("model was not made by vdeblur.models.create_model (no model_name / model_kwargs)")
    return {"model": name, "model_kwargs": dict(kwargs)}


def save_weights(
    path: str | os.PathLike, model: nn.Module, extra: dict[str, Any] | None = None, dtype: torch.dtype | None = None
) -> None:
    """Write ``model``'s weights and metadata (plus ``extra``, JSON-serialisable) atomically to ``path``.

    Args:
        dtype: store floating-point tensors in this type (``torch.float16`` halves a shipped file; loading
            copies them back into the model's float32 parameters). None keeps them as they are.
    """
    metadata = {**model_metadata(model), **(extra or {})}
    tensors = {
        k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().to("cpu").contiguous()
        for k, v in model.state_dict().items()
    }
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(metadata, sort_keys=True)})


def read_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a weights file: the state dict and the metadata dictionary.

    Raises:
        CheckpointError: missing, unreadable, or not a vdeblur weights file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Weights file not found: {path}.")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"Cannot read weights {path}: not a valid safetensors file ({exc}).") from exc
    if raw is None:
        raise CheckpointError(f"{path} is a safetensors file without vdeblur metadata; it was not written by vdeblur.")
    return state, _parse_metadata(raw, path)


def _parse_metadata(raw: str, path: Path) -> dict[str, Any]:
    try:
        metadata = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"The vdeblur metadata of {path} is not valid JSON ({exc.msg} at character {exc.pos}); "
            f"{_DAMAGED}."
        ) from exc
    if not isinstance(metadata, dict):
        raise CheckpointError(
            f"The vdeblur metadata of {path} is a JSON {type(metadata).__name__}, not an object; {_DAMAGED}."
        )
    return metadata


def load_weights_into(model: nn.Module, path: str | os.PathLike, grow: bool = False) -> dict[str, Any]:
    """Load a weights file into an existing model of the same architecture; returns the file's metadata.

    With ``grow``, the model may have modules the file lacks, if the model names them as modules that start
    from zero (``zero_start_prefixes``): a trained model grown by such a module computes what it did before, so
    a new training stage can start from its weights (``train.init_from``). The metadata then lists the modules
    left at their initial values under ``"grown"``.

    Raises:
        CheckpointError: the file was made for another architecture or preset.
    """
    state, metadata = read_weights(path)
    expected = model_metadata(model)
    if metadata.get("model") != expected["model"]:
        raise CheckpointError(
            f"{path} holds weights for model '{metadata.get('model')}', not '{expected['model']}'."
        )
    new = tuple(getattr(model, "zero_start_prefixes", lambda: ())()) if grow else ()
    grown = sorted({prefix for prefix in new if not any(key.startswith(prefix) for key in state)})
    keep = {key: value for key, value in model.state_dict().items() if any(key.startswith(p) for p in grown)}
    _load_state(model, {**keep, **state}, path)
    return {**metadata, "grown": grown} if grown else metadata


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    # Checked before loading, so that a refused file leaves the model as it was; torch's own message lists every
    # key on lines after a header that names nothing.
    names = model.state_dict().keys()
    for kind, keys in (("lacks", sorted(names - state.keys())), ("has unknown", sorted(state.keys() - names))):
        if keys:
            more = f" and {len(keys) - 1} more" if len(keys) > 1 else ""
            raise CheckpointError(f"{path} does not fit the model's architecture (it {kind} tensor {keys[0]}{more}).")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # a tensor of another shape
        lines = [line.strip() for line in str(exc).strip().splitlines()]
        raise CheckpointError(f"{path} does not fit the model's architecture ({lines[-1].rstrip('.')}).") from exc


def shipped_weights_path(name: str) -> Path | None:
    """The weights file shipped inside the package for model ``name``, if there is one."""
    candidate = resources.files("vdeblur.weights").joinpath(f"{name}.safetensors")
    return Path(str(candidate)) if candidate.is_file() else None


def shipped_weights_names() -> list[str]:
    """Names of the weights files shipped inside the package (what ``--model NAME`` can load)."""
    folder = resources.files("vdeblur.weights")
    return sorted(entry.name.removesuffix(".safetensors") for entry in folder.iterdir()
                  if entry.name.endswith(".safetensors"))


def resolve_weights_path(spec: str | os.PathLike) -> Path:
    """Turn ``--model`` into a weights file: a shipped model name, a run directory, or a ``.safetensors`` file."""
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        for name in RUN_DIR_WEIGHTS:
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"Run directory {path} holds no {' or '.join(RUN_DIR_WEIGHTS)}.")
    if path.is_file():
        return path
    if path.suffix or os.sep in text:
        raise CheckpointError(f"Model file or run directory not found: {path}.")
    from vdeblur.models import list_models

    shipped = shipped_weights_path(text)
    if shipped is not None:  # a preset's weights, or weights under their own name (dblrgan-cpu is a dblrnet-cpu)
        return shipped
    if text not in list_models():
        known = sorted(set(list_models()) | set(shipped_weights_names()))
        raise UserError(f"Unknown model '{text}'; known models: {', '.join(known)}.")
    raise CheckpointError(
        f"No trained weights ship for model '{text}'; pass a run directory or a .safetensors file instead."
    )


def load_model(spec: str | os.PathLike = DEFAULT_MODEL, device: torch.device | str = "cpu") -> nn.Module:
    """Build the model a weights file describes and load its weights, in eval mode on ``device``.

    Args:
        spec: a model name with shipped weights, a run directory, or a ``.safetensors`` file.
        device: where to put the model.
    """
    from vdeblur.models import create_model

    path = resolve_weights_path(spec)
    state, metadata = read_weights(path)
    name, kwargs = metadata.get("model"), metadata.get("model_kwargs", {})
    if not isinstance(name, str) or not isinstance(kwargs, dict):
        raise CheckpointError(
            f"The vdeblur metadata of {path} lacks the model name or its model_kwargs mapping; {_DAMAGED}."
        )
    try:
        model = create_model(name, **kwargs)
    except ConfigError as exc:
        raise CheckpointError(f"{path} describes a model vdeblur cannot build ({str(exc).rstrip('.')}).") from exc
    _load_state(model, state, path)
    model.weights_metadata = metadata
    return model.to(device).eval()
