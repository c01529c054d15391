"""Two processes under torchrun train the same weights as one process with the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vdeblur.train.config import save_config
from vdeblur.train.state import load_state
from vdeblur.train.trainer import Trainer

from .conftest import tiny_config

# DDP averages the two half-batch gradients, one process averages the whole batch: the same numbers summed in
# a different order, so the weights agree to float32 rounding (observed ~1e-8 after 4 Adam steps).
TOLERANCE = 1e-5


@pytest.mark.slow
def test_two_process_ddp_with_a_resume_equals_one_process(tiny_dataset: Path, tmp_path: Path) -> None:
    # No BatchNorm in STANet, so per-process batch statistics cannot make the two runs differ.
    settings = dict(optim__schedule="step", optim__step_size=2, data__batch_size=4, train__checkpoint_every=100)
    single = tmp_path / "single"
    Trainer(tiny_config(single, tiny_dataset, train__max_steps=4, **settings), torch.device("cpu"), quiet=True).fit()

    ddp = tmp_path / "ddp"
    for max_steps in (2, 4):  # the second launch resumes the first
        config_file = tmp_path / f"ddp-{max_steps}.yaml"
        save_config(tiny_config(ddp, tiny_dataset, train__max_steps=max_steps, **settings), config_file)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        completed = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
             "-m", "vdeblur", "train", "--config", str(config_file)],
            capture_output=True, text=True, timeout=120, env=env,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Resuming" in completed.stderr + completed.stdout

    expected, actual = load_state(single / "state.pt"), load_state(ddp / "state.pt")
    assert actual["step"] == 4
    for section in ("model",):
        for key, value in expected[section].items():
            torch.testing.assert_close(actual[section][key], value, atol=TOLERANCE, rtol=0, msg=key)
    for key, value in expected["ema"]["module"].items():
        torch.testing.assert_close(actual["ema"]["module"][key], value, atol=TOLERANCE, rtol=0, msg=key)
    log_rows = (ddp / "log.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in log_rows if row.split(",")[3]] == ["1", "2", "3", "4"]  # one writer
