"""Sliding windows: every item is the centre of one window, edges replicated, only T items held."""

from __future__ import annotations

import pytest

from vdeblur.infer.windows import sliding_windows


@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize("size", [1, 3, 5])
def test_windows_match_clamped_indexing(count: int, size: int) -> None:
    radius = size // 2
    expected = [[min(max(c + k, 0), count - 1) for k in range(-radius, radius + 1)] for c in range(count)]
    assert list(sliding_windows(range(count), size)) == expected


def test_windows_read_lazily() -> None:
    """A window is produced as soon as its last frame arrives, so a stream is never read ahead."""
    pulled = []

    def stream():
        for i in range(100):
            pulled.append(i)
            yield i

    for centre, window in enumerate(sliding_windows(stream(), 5)):
        assert window[2] == centre
        assert len(pulled) <= centre + 3


def test_even_size_rejected() -> None:
    with pytest.raises(ValueError):
        list(sliding_windows(range(3), 4))
