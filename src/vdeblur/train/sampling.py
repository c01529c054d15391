"""The order of training items as a pure function of (seed, step), so that resuming is exact.

The training stream is an endless sequence of draws. Draw ``p`` (counted from the start of training, over all
processes) belongs to epoch ``p // N`` of a dataset of N items and picks item ``perm_epoch[p % N]``, where
``perm_epoch`` is a permutation seeded by (seed, epoch). Step ``s`` of a global batch B consumes draws
``s·B … s·B + B − 1``; process ``r`` of W takes the contiguous slice ``r·B/W … (r+1)·B/W − 1``. A sample's crop
and augmentation are seeded by (seed, epoch, item) inside `VideoDeblurDataset`, so everything a step sees
depends only on the seed and the step number — not on the number of DataLoader workers or on restarts.
With ``crops_per_window`` K > 1 a step consumes B/K draws and the dataset cuts K crops from each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Sampler, default_collate

from vdeblur.data import VideoDeblurDataset
from vdeblur.errors import UserError


def stage_seed(seed: int, initial_steps: int) -> int:
    """The seed of a run's data draws: ``seed`` for a first stage, and one derived from ``seed`` and the steps
    behind its starting weights for a later stage (``train.init_from``).

    Every draw depends only on (seed, epoch, item), so a second stage with the same ``train.seed`` would replay
    the first stage's item order, crop positions and augmentations draw for draw.
    """
    if not initial_steps:
        return seed
    return int(np.random.SeedSequence([seed, initial_steps]).generate_state(1)[0])


@lru_cache(maxsize=4)
def epoch_permutation(seed: int, epoch: int, size: int) -> np.ndarray:
    """The item order of one epoch."""
    return np.random.default_rng([seed, epoch, 0x5EED]).permutation(size)


def draws_for_step(seed: int, step: int, global_batch: int, size: int, rank: int = 0, world_size: int = 1) -> list[tuple[int, int]]:
    """The ``(epoch, item index)`` draws process ``rank`` trains on at ``step``.

    Args:
        seed: the run's seed.
        step: the optimisation step (0-based).
        global_batch: items per step summed over all processes; a multiple of ``world_size``.
        size: the number of items in the dataset.
        rank, world_size: this process and how many there are.
    """
    local = global_batch // world_size
    start = step * global_batch + rank * local
    draws = []
    for position in range(start, start + local):
        epoch = position // size
        draws.append((epoch, int(epoch_permutation(seed, epoch, size)[position % size])))
    return draws


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields one batch of ``(epoch, index)`` draws per step, from ``start_step`` on, forever."""

    def __init__(self, seed: int, global_batch: int, size: int, start_step: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.seed, self.global_batch, self.size = seed, global_batch, size
        self.start_step, self.rank, self.world_size = start_step, rank, world_size

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        while True:
            yield draws_for_step(self.seed, step, self.global_batch, self.size, self.rank, self.world_size)
            step += 1


class EpochDrawDataset(Dataset):
    """Indexes a `VideoDeblurDataset` by ``(epoch, index)`` draws; each draw gives the window's
    ``crops_per_window`` items (:meth:`VideoDeblurDataset.crops`, seeded by seed, epoch and item).

    Each DataLoader worker holds its own copy of the dataset and builds items one at a time, so setting the
    epoch right before reading an item is safe.
    """

    def __init__(self, base: VideoDeblurDataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, draw: tuple[int, int]) -> list[dict[str, Any]] | FailedDraw:
        epoch, index = draw
        try:
            self.base.set_epoch(epoch)
            return self.base.crops(index)
        except UserError as exc:
            return FailedDraw(exc)


@dataclass(frozen=True)
class FailedDraw:
    """A user-caused error (e.g. an unreadable frame) met while building a training item, passed on as a value.

    A DataLoader re-raises a worker's exception with the worker's whole traceback pasted into its message;
    carried as a value, the error reaches the main process (and the CLI) as the one sentence it was.
    """

    error: UserError


def collate_draws(draws: list[list[dict[str, Any]] | FailedDraw]) -> dict[str, Any] | FailedDraw:
    """DataLoader ``collate_fn``: flatten the items of all draws into one batch (or pass a failure on)."""
    for draw in draws:
        if isinstance(draw, FailedDraw):
            return draw
    return default_collate([item for items in draws for item in items])


def next_batch(batches: Iterator[dict[str, Any] | FailedDraw]) -> dict[str, Any]:
    """The next batch of a loader using `collate_draws`.

    Raises:
        UserError: the error a draw of this batch failed with.
    """
    batch = next(batches)
    if isinstance(batch, FailedDraw):
        raise batch.error
    return batch


def close_batches(batches: Iterator[Any]) -> None:
    """End a DataLoader iterator's worker processes now, not whenever its last reference goes.

    A kept exception traceback (a caller's, a test runner's) references the iterator through the frames it
    passed, and live workers at interpreter exit make Python's multiprocessing wait for them. The iterator
    has no public close; ``_shutdown_workers`` is what its own finaliser calls, and it is idempotent.
    """
    shutdown = getattr(batches, "_shutdown_workers", None)
    if shutdown is not None:
        shutdown()


@contextmanager
def loader_batches(loader: Iterable[Any]) -> Iterator[Iterator[Any]]:
    """Iterate ``loader`` inside a ``with`` block whose exit, however it happens, ends the workers (`close_batches`)."""
    batches = iter(loader)
    try:
        yield batches
    finally:
        close_batches(batches)
