"""``vdeblur export``: write a model as ONNX or TorchScript graphs for other runtimes."""

from __future__ import annotations

import argparse
from pathlib import Path

from vdeblur.checkpoint import DEFAULT_MODEL
from vdeblur.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``export`` options to ``parser``."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"model name with shipped weights, run directory or .safetensors file "
                             f"(default: {DEFAULT_MODEL})")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="default: onnx")
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="file for the window graph (clip -> frame); with --streaming the encoder and "
                             "decoder graphs go beside it as <stem>.encoder<suffix> and <stem>.decoder<suffix>")
    parser.add_argument("--height", type=int, default=64,
                        help="example height for tracing, a multiple of the model's size multiple (default 64); "
                             "the graphs accept any batch size and any height and width that are such multiples")
    parser.add_argument("--width", type=int, default=64, help="example width (default 64)")
    parser.add_argument("--streaming", action="store_true",
                        help="also export encode_frame and decode_window, so a runtime can cache each frame's "
                             "features across windows (models with feature caching only)")
    parser.add_argument("--random-init", action="store_true",
                        help="export a registered model name with random weights (to try a runtime; the output "
                             "deblurs nothing)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip running the exported graphs against PyTorch on a random clip")


def run(args: argparse.Namespace) -> int:
    """Export the model; prints the files written and, unless ``--no-verify``, the largest difference."""
    from vdeblur.export import export_model
    from vdeblur.export.graphs import DECODER, ENCODER, WINDOW, part_path
    from vdeblur.export.model_spec import model_for_tooling
    from vdeblur.export.verify import largest_difference

    from vdeblur.checkpoint import resolve_weights_path
    from vdeblur.infer.outputs import check_new_file, same_path

    roles = (WINDOW, ENCODER, DECODER) if args.streaming else (WINDOW,)
    # A run directory names its best.safetensors: that file is the one to protect.
    weights = resolve_weights_path(args.model) if Path(args.model).exists() else None
    for role in roles:
        target = part_path(args.output, role)
        if weights is not None and same_path(weights, target):  # not even with --overwrite
            raise UserError(f"The output {target} is the weights file being exported; choose another output path.")
        check_new_file(target, args.overwrite)
    model = model_for_tooling(args.model, random_init=args.random_init or False)
    files = export_model(model, args.output, args.format, args.height, args.width, args.streaming)
    for path in files:
        print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    if args.verify:
        difference = largest_difference(model, files, args.format, args.height, args.width)
        print(f"largest difference from PyTorch on a random {args.width}x{args.height} clip: {difference:.2e}")
    return 0
