"""Sliding temporal windows over a stream, with the edge frames replicated at the ends and at scene cuts.

Every input item becomes the centre of exactly one window, so a video of N frames gives N outputs. Only the
last T items are held, whatever the stream's length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def sliding_windows(items: Iterable[T], size: int, shot_of: Callable[[T], int] | None = None) -> Iterator[list[T]]:
    """Yield, for each item in order, the window of ``size`` items centred on it.

    Positions before the first item repeat the first item; positions after the last repeat the last. With
    ``shot_of``, a window also stops at the edges of its centre's shot: positions in another shot repeat the
    shot's first or last item, exactly as if the shot were a stream of its own.
    Each window is yielded as soon as its last item has arrived (``size // 2`` items of latency).

    Args:
        items: the stream (read lazily, once).
        size: the window length, an odd positive number.
        shot_of: the shot number of an item, called once per item in stream order (so it may keep state, as
            :class:`vdeblur.infer.shots.ShotCounter` does); wherever the number changes, a new shot begins.

    Returns:
        An iterator over lists of ``size`` items; the items themselves are shared, not copied.

    Example:
        >>> [''.join(w) for w in sliding_windows("abcd", 3)]
        ['aab', 'abc', 'bcd', 'cdd']
        >>> [''.join(w) for w in sliding_windows("abCD", 3, shot_of=str.isupper)]
        ['aab', 'abb', 'CCD', 'CDD']
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"window size must be a positive odd number, got {size}")
    radius = size // 2
    recent: deque[T] = deque(maxlen=size)
    shots: deque[int] = deque(maxlen=size)
    seen = 0  # items read so far
    centre = 0  # index of the next window's centre

    def window() -> list[T]:
        first_held = seen - len(recent)
        shot = shots[centre - first_held]
        first, last = centre, centre  # the held part of the centre's shot, within the window's reach
        while first > max(centre - radius, first_held) and shots[first - 1 - first_held] == shot:
            first -= 1
        while last < min(centre + radius, seen - 1) and shots[last + 1 - first_held] == shot:
            last += 1
        return [recent[min(max(centre + k, first), last) - first_held] for k in range(-radius, radius + 1)]

    for item in items:
        recent.append(item)
        shots.append(0 if shot_of is None else shot_of(item))
        seen += 1
        if centre + radius < seen:
            yield window()
            centre += 1
    while centre < seen:
        yield window()
        centre += 1
