"""argparse value types: a bad number is a usage error naming the option, before any work starts."""

from __future__ import annotations

import argparse
import sys


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def non_negative_int(text: str) -> int:
    """An integer of 0 or more."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def positive_int(text: str) -> int:
    """An integer of 1 or more."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def crf(text: str) -> int:
    """An encoder quality (CRF): 0 to 63, the widest range of the encoders vdeblur writes with."""
    value = _integer(text)
    if not 0 <= value <= 63:
        raise argparse.ArgumentTypeError(f"must be between 0 and 63 (libx264 accepts up to 51), not {value}")
    return value


def port(text: str) -> int:
    """A TCP port: 1 to 65535, or 0 for any free one."""
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 (any free port) and 65535, not {value}")
    return value


PRECISION_CHOICES = ("auto", "fp32", "bf16")


def add_precision_option(parser: argparse.ArgumentParser, legacy_bf16: str | None = None) -> None:
    """``--precision auto|fp32|bf16`` (auto: bf16 only where this hardware runs it faster; see
    :mod:`vdeblur.precision`) and, where a command had one, its old bf16 switch kept as a hidden alias.

    Args:
        parser: the subcommand's parser.
        legacy_bf16: ``"switch"`` for an old ``--bf16`` flag, ``"both"`` for ``--bf16/--no-bf16``, None for none.
    """
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="auto (default): bf16 autocast where this hardware runs it faster than float32 (CPUs "
                             "with AMX, CUDA GPUs with bf16, or AVX-512 BF16 CPUs where a short measurement, made "
                             "once and cached, finds it faster), else fp32")
    if legacy_bf16 is not None:
        action = argparse.BooleanOptionalAction if legacy_bf16 == "both" else "store_const"
        extra = {"const": True} if legacy_bf16 == "switch" else {}
        parser.add_argument("--bf16", dest="legacy_bf16", action=action, default=None, help=argparse.SUPPRESS,
                            **extra)


def precision_option(args: argparse.Namespace) -> str:
    """The ``--precision`` asked for, with a deprecated ``--bf16``/``--no-bf16`` folded in (and a note on stderr)."""
    legacy = getattr(args, "legacy_bf16", None)
    if legacy is None:
        return args.precision
    chosen = "bf16" if legacy else "fp32"
    print(f"vdeblur: --{'' if legacy else 'no-'}bf16 is deprecated; use --precision {chosen}.", file=sys.stderr)
    return chosen
