"""``vdeblur models``: every model with its parameters, GFLOPs per output frame and frames per window."""

from __future__ import annotations

import argparse

from vdeblur.errors import UserError
from vdeblur.models.cost import ModelCost, measure_cost
from vdeblur.models.registry import list_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``models`` options to ``parser``."""
    parser.add_argument("--height", type=int, default=720, help="frame height for the FLOP count (default 720)")
    parser.add_argument("--width", type=int, default=1280, help="frame width for the FLOP count (default 1280)")


def format_table(costs: list[ModelCost], height: int, width: int) -> str:
    """A fixed-width text table of ``costs``."""
    header = ("model", "params", "T", f"GFLOPs/frame window @{width}x{height}", "GFLOPs/frame streaming (cached)")
    rows = [
        (
            cost.name,
            f"{cost.parameters / 1e6:.3f} M",
            str(cost.num_frames),
            f"{cost.window_gflops:.1f}",
            f"{cost.streaming_gflops:.1f}" if cost.streaming_gflops is not None else "-  (no cache)",
        )
        for cost in costs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the table; returns the exit code."""
    if args.height < 1 or args.width < 1:
        raise UserError(f"--height and --width must be positive, got {args.height}x{args.width}.")
    costs = [measure_cost(name, args.height, args.width) for name in list_models()]
    print(format_table(costs, args.height, args.width))
    print(
        "\nFLOPs counted with torch.utils.flop_counter on the meta device at the full frame size "
        "(convolutions and matmuls, 2 FLOPs per multiply-add). 'window' runs every frame of the window through "
        "the encoder; 'streaming' encodes each frame once and reuses it in the T windows that contain it."
    )
    return 0
