"""Shared fixtures: small real photographs, deterministic seeds, and the ways a command is stopped."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # `auto` precision and model measure the CPU once and cache it in the user's cache folder; the suite keeps
    # its measurement in a folder of its own (subprocesses inherit the variable) and never touches the user's.
    import os

    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(autouse=True)
def _deterministic_torch():
    # Tests compare against references; a fixed seed keeps random weights and inputs reproducible.
    torch.manual_seed(0)
    yield


@pytest.fixture
def photo() -> np.ndarray:
    """A real photograph (scikit-image's astronaut), cropped small, float32 RGB in [0, 1]."""
    from skimage import data

    return (data.astronaut()[100:196, 150:278].astype(np.float32) / 255.0).copy()


@dataclass(frozen=True)
class Stop:
    """One way to stop a running command, and what the command must report then."""

    signum: int | None  # None: Ctrl-C (a KeyboardInterrupt, as Python raises it for SIGINT)
    status: int
    message: str

    def now(self) -> None:
        """Stop this process here: Ctrl-C, or the signal sent to itself (the command's handler raises at once)."""
        if self.signum is None:
            raise KeyboardInterrupt
        # Python's default for these signals kills the test run: fail instead if no handler is in place.
        assert signal.getsignal(self.signum) not in (signal.SIG_DFL, signal.SIG_IGN, None), "no handler installed"
        os.kill(os.getpid(), self.signum)

    def at_call(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str, call: int) -> None:
        """Make ``owner.name`` (a function or method) stop the process on its ``call``-th call."""
        original = getattr(owner, name)
        calls = 0

        def stopping(*args, **kwargs):
            nonlocal calls
            calls += 1
            if calls == call:
                self.now()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, stopping)


@pytest.fixture(params=[Stop(None, 130, "interrupted."), Stop(signal.SIGTERM, 143, "interrupted by SIGTERM."),
                        Stop(signal.SIGHUP, 129, "interrupted by SIGHUP.")], ids=["ctrl-c", "SIGTERM", "SIGHUP"])
def stop(request: pytest.FixtureRequest) -> Stop:
    """Ctrl-C, a scheduler's SIGTERM and a closed terminal's SIGHUP: every command must clean up alike."""
    return request.param
