"""A real training process stopped by SIGTERM checkpoints and exits; one killed with SIGKILL leaves a good state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vdeblur.train.config import save_config
from vdeblur.train.state import load_state
from vdeblur.train.trainer import Trainer

from .conftest import tiny_config


def _start(config_file: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # Its own session, so a signal can be sent to its whole process group (DataLoader workers included).
    return subprocess.Popen([sys.executable, "-m", "vdeblur", "train", "--config", str(config_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGKILL, False)],
    ids=["SIGTERM", "SIGTERM-to-group-with-workers", "SIGKILL"],
)
def test_interrupted_training_resumes(
    tiny_dataset: Path, tmp_path: Path, sig: signal.Signals, to_group: bool
) -> None:
    run = tmp_path / "run"
    # A scheduler signals every process of the job: the DataLoader worker must not die before the trainer saves.
    config = tiny_config(run, tiny_dataset, train__max_steps=100_000, train__checkpoint_every=1,
                         train__val_every=10**6, data__num_workers=1 if to_group else 0)
    save_config(config, tmp_path / "c.yaml")
    process = _start(tmp_path / "c.yaml")
    _wait_for(run / "state.pt", process)
    time.sleep(0.5)  # let it checkpoint a few more times, so a kill may land during a write
    if to_group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    stdout, _ = process.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert process.returncode == 130 and "Stopped by SIGTERM" in stdout
    else:
        assert process.returncode == -signal.SIGKILL
    state = load_state(run / "state.pt")  # never a half-written file
    assert state["step"] >= 1
    resumed = Trainer(tiny_config(run, tiny_dataset, train__max_steps=state["step"] + 1), torch.device("cpu"), quiet=True)
    assert resumed.resumed and resumed.step == state["step"]
    assert resumed.fit().step == state["step"] + 1
