"""`vdeblur train`: train a model from a YAML config, resumably; under torchrun, on several processes."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from vdeblur.commands.argtypes import PRECISION_CHOICES
from vdeblur.device import DEVICE_CHOICES, select_device
from vdeblur.train.config import RunConfig, load_config, parse_override

# Command-line shorthands for the keys changed most often: option destination -> config key.
SHORTHANDS = {
    "model": "model.name",
    "data": "data.root",
    "run_dir": "run_dir",
    "max_steps": "train.max_steps",
    "batch_size": "data.batch_size",
    "patch_size": "data.patch_size",
    "time_limit": "train.max_minutes",
    "stop_at": "train.stop_at",
    "init_from": "train.init_from",
    "device": "train.device",
    "workers": "data.num_workers",
    "precision": "train.precision",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of `vdeblur train`."""
    parser.add_argument("--config", type=Path, help="YAML experiment file (see configs/); default: the run "
                        "directory's config.yaml when resuming, else built-in defaults")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set optim.lr=2e-4 (repeatable)")
    parser.add_argument("--model", help="model preset (model.name)")
    parser.add_argument("--data", help="training dataset folder (data.root)")
    parser.add_argument("--run-dir", help="where checkpoints and logs go; an existing run there is resumed")
    parser.add_argument("--max-steps", type=int, help="total optimisation steps (train.max_steps)")
    parser.add_argument("--batch-size", type=int, help="global batch size over all processes (data.batch_size)")
    parser.add_argument("--patch-size", type=int, help="square training crop side in pixels (data.patch_size)")
    parser.add_argument("--time-limit", type=float, metavar="MINUTES",
                        help="stop cleanly with a checkpoint after this many minutes (train.max_minutes)")
    parser.add_argument("--stop-at", type=int, metavar="STEP",
                        help="stop cleanly at this step; the learning-rate schedule still spans --max-steps, so "
                        "runs compare at equal steps (train.stop_at)")
    parser.add_argument("--init-from", metavar="WEIGHTS",
                        help="start a new run from these weights (.safetensors or run directory)")
    parser.add_argument("--device", metavar="|".join(DEVICE_CHOICES), help="train.device")
    parser.add_argument("--workers", type=int, help="DataLoader worker processes (data.num_workers)")
    parser.add_argument("--precision", choices=(*PRECISION_CHOICES, "fp16"),
                        help="train.precision; auto: bf16 where this hardware runs it faster than fp32, resolved at "
                             "the start and recorded in the weights")
    parser.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)  # deprecated: --precision bf16


def resolve_config(args: argparse.Namespace) -> RunConfig:
    """The run's config: file (or the run directory's saved config), then ``--set``, then shorthands."""
    overrides: list[tuple[str, Any]] = [parse_override(text) for text in args.overrides]
    overrides += [(key, getattr(args, dest)) for dest, key in SHORTHANDS.items() if getattr(args, dest) is not None]
    if args.bf16:
        overrides.append(("train.precision", "bf16"))
    config_path = args.config
    run_dir = next((value for key, value in reversed(overrides) if key == "run_dir"), None)
    if config_path is None and run_dir and (Path(run_dir) / "config.yaml").is_file():
        config_path = Path(run_dir) / "config.yaml"
    return load_config(config_path, overrides)


def run(args: argparse.Namespace) -> int:
    """Train; exit code 0 when the run reached max_steps or stopped cleanly."""
    from vdeblur.train.distributed import barrier, init_distributed, shutdown_distributed
    from vdeblur.train.state import run_dir_lock
    from vdeblur.train.trainer import Trainer

    config = resolve_config(args)
    device = select_device(config.train.device)
    context = init_distributed(device)
    try:
        if device.type == "cuda" and context.enabled:
            device = select_device(f"cuda:{context.local_rank}")
        # Only the main process writes to the run directory, so only it takes the lock.
        with run_dir_lock(Path(config.run_dir)) if context.is_main and config.run_dir else contextlib.nullcontext():
            result = Trainer(config, device, context).fit()
        barrier(context)  # the main process may still be writing its checkpoint; leave the group together
    finally:
        shutdown_distributed()
    if context.is_main and result.best_psnr is not None:
        print(f"Best validation PSNR {result.best_psnr:.2f} dB; weights in {config.run_dir}.")
    # A signal is an interruption (non-zero, like Ctrl-C elsewhere); the time limit is a planned stop.
    return 130 if result.stop_signal else 0
