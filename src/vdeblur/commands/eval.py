"""`vdeblur eval`: score a model (or the blurred input) on a dataset with the published PSNR/SSIM protocol."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

from vdeblur.checkpoint import DEFAULT_MODEL
from vdeblur.commands.argtypes import add_precision_option, non_negative_int, positive_int, precision_option
from vdeblur.device import DEVICE_CHOICES

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
    parser.add_argument("--max-sequences", type=positive_int, help="score only the first N sequences")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the scores as JSON")
    parser.add_argument("--save-outputs", type=Path, metavar="DIR", help="write restored frames to DIR/<seq>/")
    parser.add_argument("--device", default="auto", metavar="|".join(DEVICE_CHOICES))
    add_precision_option(parser, legacy_bf16="switch")
    parser.add_argument("--tile", type=non_negative_int,
                        help="tile side in pixels (default: chosen from free memory; 0: never)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --json file or --save-outputs folder")


def run(args: argparse.Namespace) -> int:
    """Evaluate, print a Markdown table, optionally write JSON and the restored frames."""
    from vdeblur.data import find_sequences
    from vdeblur.infer.outputs import atomic_folder, check_frames_output, check_new_file, check_outside
    from vdeblur.io.atomic import atomic_output
    from vdeblur.train.evaluate import evaluate_sequences, identity_restorer, markdown_table

    # Every output is checked before the evaluation, which can take hours.
    if args.json is not None:
        check_new_file(args.json, args.overwrite)
    if args.save_outputs is not None:
        check_outside(args.save_outputs, args.data, "dataset")
        check_frames_output(args.save_outputs, args.overwrite, levels=1)
    sequences = find_sequences(args.data, args.layout, args.split, args.blur_folder)
    if args.max_sequences is not None:
        sequences = sequences[: args.max_sequences]
    precision = None
    if args.model == INPUT_BASELINE:
        restore = identity_restorer
    else:
        from vdeblur.infer.deblurrer import Deblurrer

        # A sequence of a data set is one shot by construction: the protocol windows it without looking for cuts.
        deblurrer = Deblurrer(args.model, args.device, tile=args.tile, precision=precision_option(args),
                              scene_cuts=False)
        restore, precision = deblurrer.deblur_frames, deblurrer.precision
    with contextlib.ExitStack() as stack:
        # The restored frames appear only once every sequence is done: no half-written folder on failure.
        saved = None if args.save_outputs is None else stack.enter_context(atomic_folder(args.save_outputs))
        summary = evaluate_sequences(sequences, restore, saved)
    report = {"model": str(args.model), "precision": precision, "data": str(args.data), "split": args.split, **summary}
    label = f"{args.model} ({precision})" if precision else str(args.model)
    print(markdown_table(summary, f"{label} on {args.data.name}/{args.split}"))
    if args.json is not None:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
    return 0
