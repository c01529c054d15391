"""Put a training run's weights into the package, as the shipped models were made.

    python scripts/ship_weights.py RUN_DIR_OR_FILE NAME [--preset PRESET] [--float16] [--folder DIR]

writes ``src/vdeblur/weights/NAME.safetensors`` (or ``DIR/NAME.safetensors``; a run directory gives its
``best.safetensors``), keeping the training metadata (steps, data, validation metrics). ``--preset`` files the
weights under a registered preset whose arguments equal the run's (for a run made before its preset existed);
``--float16`` stores them in half the space. The model card (``NAME.md``) is written by hand beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from vdeblur.checkpoint import read_weights, resolve_weights_path, save_weights
from vdeblur.models import create_model

WEIGHTS_FOLDER = Path(__file__).resolve().parents[1] / "src" / "vdeblur" / "weights"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a run directory or a .safetensors file")
    parser.add_argument("name", help="the shipped name (what --model NAME loads)")
    parser.add_argument("--preset", default=None, help="registered preset to file the weights under")
    parser.add_argument("--float16", action="store_true", help="store floating-point tensors as float16")
    parser.add_argument("--folder", type=Path, default=WEIGHTS_FOLDER, help="where to write (default: the package's)")
    args = parser.parse_args()

    state, metadata = read_weights(resolve_weights_path(args.source))
    preset = args.preset or metadata["model"]
    model = create_model(preset, **metadata["model_kwargs"])
    if args.preset and model.model_kwargs != create_model(args.preset).model_kwargs:
        sys.exit(f"The run's model arguments differ from preset {args.preset}'s; ship it without --preset.")
    model.load_state_dict(state)
    extra = {key: value for key, value in metadata.items() if key not in ("model", "model_kwargs")}
    target = args.folder / f"{args.name}.safetensors"
    save_weights(target, model, extra, dtype=torch.float16 if args.float16 else None)
    print(f"wrote {target} ({target.stat().st_size / 2**20:.1f} MiB), {extra.get('steps')} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
