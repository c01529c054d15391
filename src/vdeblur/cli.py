"""The `vdeblur` command: one entry point, one module per subcommand.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``; its one-line
help is in :data:`SUBCOMMANDS`. Modules are imported only when their subcommand runs, so ``vdeblur --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vdeblur import __version__
from vdeblur.allocator import keep_freed_memory
from vdeblur.errors import UserError, describe_os_error
from vdeblur.interrupts import exit_status, interrupt_on_signals, interruption_message

# name -> (module, one-line help). Kept here, not discovered, so the command set is explicit.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("vdeblur.commands.demo", "deblur the bundled sample with the shipped model and show the result"),
    "deblur": ("vdeblur.commands.deblur", "deblur a video file, a folder of frames, a photograph, or many of these"),
    "models": ("vdeblur.commands.models", "list every model with parameters, GFLOPs per frame at 1280x720 and T"),
    "synth": ("vdeblur.commands.synth", "make blurred/sharp training pairs from sharp videos, frames or photos"),
    "train": ("vdeblur.commands.train", "train a model (resumable; torchrun for several processes)"),
    "eval": ("vdeblur.commands.eval", "score a model on a dataset with the published PSNR/SSIM protocol"),
    "export": ("vdeblur.commands.export", "export a model to ONNX or TorchScript"),
    "bench": ("vdeblur.commands.bench", "measure frames/s and memory of a model on this machine"),
    "serve": ("vdeblur.commands.serve", "a local web page to deblur a clip and compare before and after"),
}


def build_parser(load_subcommand_arguments: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the named subcommand's module is imported to add its arguments."""
    parser = argparse.ArgumentParser(prog="vdeblur", description="Video deblurring: STANet, DBLRNet, DBLRGAN.")
    parser.add_argument("--version", action="version", version=f"vdeblur {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == load_subcommand_arguments:
            importlib.import_module(module_name).add_arguments(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    try:
        # SIGTERM and SIGHUP clean up as Ctrl-C does: no command leaves a temporary file behind when stopped.
        with interrupt_on_signals():
            return int(module.run(args) or 0)
    except UserError as exc:
        print(f"vdeblur {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # What the checks up front cannot foresee (a full disk, a folder made read-only meanwhile, a path under
        # a file) still ends in one sentence; the writers have already removed their temporary files.
        print(f"vdeblur {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(f"vdeblur {args.command}: {interruption_message(exc)}", file=sys.stderr)
        return exit_status(exc)


def entry_point() -> int:
    """The installed ``vdeblur`` command: :func:`main` in a process that is the command's alone.

    Only here, not in :func:`main` (which tests and other programs call in their own process), does vdeblur
    change process-wide settings: glibc keeps freed large blocks for reuse (``vdeblur.allocator``).
    """
    keep_freed_memory()
    return main()


if __name__ == "__main__":
    sys.exit(entry_point())
