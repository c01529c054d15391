"""``state.pt``: everything needed to resume a run exactly, saved atomically and loaded with weights_only."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from vdeblur.errors import CheckpointError, UserError
from vdeblur.io.atomic import atomic_output

STATE_FORMAT = 1


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write the training state atomically: a kill at any moment leaves the previous file intact."""
    with atomic_output(path) as tmp:
        torch.save({"format": STATE_FORMAT, **state}, tmp)


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a state file written by `save_state` (tensors and plain containers only: ``weights_only=True``).

    Raises:
        CheckpointError: the file is unreadable or of another format.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise CheckpointError(f"Cannot read the training state {path} ({exc}); delete it to start over.") from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path} is not a vdeblur training state of format {STATE_FORMAT}.")
    return state


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The torch random generators of the CPU and (if used) the current CUDA device."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Undo `rng_state`."""
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


class StopRequest:
    """Set by SIGINT/SIGTERM while training; the loop checkpoints and exits at the next step boundary."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name = ""


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Turn the first SIGINT/SIGTERM into a `StopRequest`; a second SIGINT interrupts at once."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum: int, frame: Any) -> None:
        if request.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        request.requested = True
        request.signal_name = signal.Signals(signum).name

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Schedulers wait about this long between SIGTERM and SIGKILL (Kubernetes' default grace period, SLURM's KillWait).
WORKER_GRACE_S = 30.0


def ignore_interrupts_in_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: only the trainer should react to a stop request.

    Ctrl-C reaches the whole process group, and schedulers (SLURM, Kubernetes, ``pkill``) send SIGTERM to every
    process of a job; a worker that died of it would make the DataLoader raise before the trainer could save.
    The trainer ends its workers itself when it stops. SIGTERM is not ignored outright: Python's multiprocessing
    also ends leftover workers with SIGTERM (and then waits for them) when the interpreter exits, so a worker
    that ignored it could hang that exit forever. It exits after a grace period instead.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_after_grace)


def _exit_after_grace(signum: int, frame: Any) -> None:
    timer = threading.Timer(WORKER_GRACE_S, os._exit, args=(0,))
    timer.daemon = True
    timer.start()


# Files that only a vdeblur run writes: a folder holding one of them is a run that may be resumed.
RUN_MARKERS = (".lock", "config.yaml", "state.pt")


@contextmanager
def run_dir_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``run_dir`` so that two trainers never write the same run.

    The folder must be new, empty or a run's: a trainer writes ``config.yaml`` and ``log.csv`` there, which
    must not replace a user's files. A folder this call created is removed again if training fails before
    writing anything into it.

    Raises:
        UserError: ``run_dir`` is a file or another folder's, or another process holds the lock.
    """
    import fcntl

    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"The run directory {run_dir} is a file; choose a folder.")
    if run_dir.is_dir() and not any((run_dir / name).exists() for name in RUN_MARKERS):
        foreign = next(iter(sorted(p.name for p in run_dir.iterdir())), None)
        if foreign is not None:
            raise UserError(f"The folder {run_dir} holds files ({foreign}) but no training run; choose a new or "
                            f"empty folder, or an earlier run's directory.")
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / ".lock"
    with open(lock, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:  # another trainer's folder now: never clean it up
            raise UserError(f"Run directory {run_dir} is in use by another training process.") from exc
        try:
            yield
        except BaseException:
            # Still holding the lock, so no other trainer can have started writing here.
            if created and [p.name for p in run_dir.iterdir()] == [lock.name]:
                with contextlib.suppress(OSError):  # never hide the error that ended training
                    lock.unlink()
                    run_dir.rmdir()
            raise
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def describe_path(path: Path) -> str:
    """A path for messages: relative to the working directory when that is shorter."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
