"""Overlapping file I/O with computation: a background producer and a background consumer, both bounded.

Decoding, encoding and PyTorch release the GIL for their heavy work, so one reader thread and one writer thread
around the main (compute) thread keep the cores busy. Bounded queues keep memory independent of video length.
Exceptions raised in a background thread are re-raised in the main thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.1  # how often a blocked thread checks whether the other side gave up
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterable[T], maxsize: int = 4) -> Iterator[T]:
    """Iterate ``items`` in a background thread, at most ``maxsize`` ahead of the consumer.

    Closing the returned generator (or abandoning it) stops the producer at its next item.

    Args:
        items: any iterable; it is iterated in the background thread only.
        maxsize: how many items may wait in the queue.

    Returns:
        An iterator over the same items in the same order.
    """
    buffer: queue.Queue = queue.Queue(maxsize=maxsize)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name="vdeblur-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


class BackgroundConsumer(Generic[T]):
    """Hand items to ``consume`` in a background thread through a bounded queue.

    Use as a context manager: leaving the block normally waits for every item to be consumed; leaving it with
    an exception drops what is queued. An exception in ``consume`` is re-raised by the next :meth:`submit` or at
    the end of the block.

    Args:
        consume: called once per item, in order, in the background thread.
        maxsize: how many items may wait.
    """

    def __init__(self, consume: Callable[[T], None], maxsize: int = 4) -> None:
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vdeblur-writer", daemon=True)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE or self._stop.is_set():
                return
            try:
                self._consume(item)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the submitting thread
                self._error = exc
                self._stop.set()
                return

    def submit(self, item: T) -> None:
        """Queue ``item``; blocks while the queue is full."""
        while True:
            self._raise_if_failed()
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundConsumer[T]:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self._stop.set()
            _drain(self._queue)
        # The thread may be blocked on an empty queue; the sentinel wakes it (after a drain there is room).
        while self._thread.is_alive():
            try:
                self._queue.put(_DONE, timeout=_POLL_SECONDS)
                break
            except queue.Full:
                continue
        self._thread.join()
        if exc_type is None:
            self._raise_if_failed()


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
