"""Stopping by signal: SIGTERM and SIGHUP take the path Ctrl-C takes.

Ctrl-C raises KeyboardInterrupt, which every writer answers by removing its temporary file or folder
(`vdeblur.io.atomic`, `vdeblur.infer.outputs`) and which the command line turns into one line and exit status 130.
Schedulers, ``docker stop`` and ``timeout`` send SIGTERM, and a closed terminal sends SIGHUP; Python's default for
both ends the process on the spot, leaving the temporary files behind. Inside :func:`interrupt_on_signals` they
raise :class:`Interrupted`, a KeyboardInterrupt, so the same clean-up runs; :func:`exit_status` and
:func:`interruption_message` give what the process should report. A long-running program (a server running jobs)
wraps its main loop the same way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop requested by a signal other than Ctrl-C's SIGINT; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(interruption: KeyboardInterrupt) -> int:
    """128 + the signal's number, as a shell reports a process the signal ended: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + getattr(interruption, "signum", signal.SIGINT)


def interruption_message(interruption: KeyboardInterrupt) -> str:
    """``interrupted.`` for Ctrl-C, ``interrupted by SIGTERM.`` (or the signal's name) otherwise."""
    signum = getattr(interruption, "signum", None)
    return "interrupted." if signum is None else f"interrupted by {signal.Signals(signum).name}."


def _once(stop: Any) -> Any:
    """A signal handler raising ``stop(signum)`` the first time; later signals are ignored, so that the clean-up
    the first one started can finish."""
    stopping = False

    def handle(signum: int, frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise stop(signum)

    return handle


@contextmanager
def interrupt_on_signals(
    signals: tuple[signal.Signals, ...] = TERMINATING_SIGNALS, handler: Callable[[int, Any], None] | None = None
) -> Iterator[None]:
    """Within the block, the first of ``signals`` raises :class:`Interrupted` in the main thread (or ``handler``,
    if given, handles them: a server that stops its own loop).

    The previous handlers come back when the block ends. Off the main thread, where Python cannot set signal
    handlers, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = handler or _once(Interrupted)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_worker_on_signals() -> None:
    """``initializer`` of a process pool: Ctrl-C, SIGTERM and SIGHUP end the worker with ``SystemExit``.

    Ctrl-C reaches every process of the terminal's group, and ``Pool.terminate`` (which leaving a ``with Pool``
    block calls) ends the workers with SIGTERM. Either way the worker unwinds through its clean-up (temporary
    folders) instead of dying with them, and exits with 128 + the signal without the traceback multiprocessing
    prints for any other exception; the main process reports the stop.
    """
    handler = _once(lambda signum: SystemExit(128 + signum))
    for sig in (signal.SIGINT, *TERMINATING_SIGNALS):
        signal.signal(sig, handler)
