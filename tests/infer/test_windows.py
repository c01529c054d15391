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


@pytest.mark.parametrize("size", [1, 3, 5, 7])
@pytest.mark.parametrize(
    "shots", [[0], [0, 1], [0, 0, 0, 1, 2, 2, 2, 2, 3], [0, 0, 1, 1, 1, 1, 1, 1, 1, 2], [0, 1, 2, 3]]
)
def test_windows_with_shots_equal_each_shot_as_a_stream_of_its_own(size: int, shots: list[int]) -> None:
    items = list(enumerate(shots))  # (position, shot)
    expected = []
    for shot in sorted(set(shots)):
        expected += sliding_windows([item for item in items if item[1] == shot], size)
    assert list(sliding_windows(items, size, shot_of=lambda item: item[1])) == expected


def test_shot_of_is_called_once_per_item_in_order() -> None:
    calls = []
    list(sliding_windows(range(6), 3, shot_of=lambda item: calls.append(item) or item // 3))
    assert calls == list(range(6))
