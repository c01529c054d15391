"""argparse value types: a bad number is a usage error naming the option, before any work starts."""

from __future__ import annotations

import argparse


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
