"""`vdeblur eval`: score a model (or the blurred input) on a dataset with the published PSNR/SSIM protocol."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vdeblur.checkpoint import DEFAULT_MODEL
from vdeblur.device import DEVICE_CHOICES

HELP = "score a model on a dataset with the published PSNR/SSIM protocol"
INPUT_BASELINE = "input"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of `vdeblur eval`."""
    parser.add_argument("--data", required=True, type=Path, help="dataset folder (GOPRO, DVD, BSD, REDS or generic)")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"model name, run directory or .safetensors file; '{INPUT_BASELINE}' scores the blurred "
                             f"input itself (default: {DEFAULT_MODEL})")
    parser.add_argument("--layout", default="auto", help="dataset layout: auto, gopro, dvd, bsd, reds, generic")
    parser.add_argument("--split", default="test", help="dataset split (default: test)")
    parser.add_argument("--blur-folder", default="blur", help="GOPRO/generic folder of blurred frames, e.g. blur_gamma")
    parser.add_argument("--max-sequences", type=int, help="score only the first N sequences")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the scores as JSON")
    parser.add_argument("--save-outputs", type=Path, metavar="DIR", help="write restored frames to DIR/<seq>/")
    parser.add_argument("--device", default="auto", metavar="|".join(DEVICE_CHOICES))
    parser.add_argument("--bf16", action="store_true", help="run the model under bf16 autocast (default: float32)")
    parser.add_argument("--tile", type=int, help="tile side in pixels (default: chosen from free memory; 0: never)")


def run(args: argparse.Namespace) -> int:
    """Evaluate, print a Markdown table, optionally write JSON and the restored frames."""
    from vdeblur.data import find_sequences
    from vdeblur.errors import UserError
    from vdeblur.io.atomic import atomic_output
    from vdeblur.train.evaluate import evaluate_sequences, identity_restorer, markdown_table

    sequences = find_sequences(args.data, args.layout, args.split, args.blur_folder)
    if args.max_sequences is not None:
        if args.max_sequences < 1:
            raise UserError(f"--max-sequences must be at least 1, got {args.max_sequences}.")
        sequences = sequences[: args.max_sequences]
    if args.model == INPUT_BASELINE:
        restore = identity_restorer
    else:
        from vdeblur.infer.deblurrer import Deblurrer

        restore = Deblurrer(args.model, args.device, tile=args.tile, bf16=args.bf16).deblur_frames
    summary = evaluate_sequences(sequences, restore, args.save_outputs)
    report = {"model": str(args.model), "data": str(args.data), "split": args.split, **summary}
    print(markdown_table(summary, f"{args.model} on {args.data.name}/{args.split}"))
    if args.json is not None:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
    return 0
