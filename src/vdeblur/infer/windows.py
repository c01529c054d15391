"""Sliding temporal windows over a stream, with the edge frames replicated.

Every input item becomes the centre of exactly one window, so a video of N frames gives N outputs. Only the
last T items are held, whatever the stream's length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def sliding_windows(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield, for each item in order, the window of ``size`` items centred on it.

    Positions before the first item repeat the first item; positions after the last repeat the last.
    Each window is yielded as soon as its last item has arrived (``size // 2`` items of latency).

    Args:
        items: the stream (read lazily, once).
        size: the window length, an odd positive number.

    Returns:
        An iterator over lists of ``size`` items; the items themselves are shared, not copied.

    Example:
        >>> [''.join(w) for w in sliding_windows("abcd", 3)]
        ['aab', 'abc', 'bcd', 'cdd']
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"window size must be a positive odd number, got {size}")
    radius = size // 2
    recent: deque[T] = deque(maxlen=size)
    seen = 0  # items read so far
    centre = 0  # index of the next window's centre

    def window(last: int) -> list[T]:
        first_held = seen - len(recent)
        return [recent[min(max(centre + k, 0), last) - first_held] for k in range(-radius, radius + 1)]

    for item in items:
        recent.append(item)
        seen += 1
        if centre + radius < seen:
            yield window(seen - 1)
            centre += 1
    while centre < seen:
        yield window(seen - 1)
        centre += 1
