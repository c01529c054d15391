"""DBLRNet trains under CPU bf16 autocast (torch 2.13's bf16 Conv3d backward aborts the process on CPU)."""

from __future__ import annotations

import subprocess
import sys

STEP = """
import torch
from vdeblur.models import create_model
torch.manual_seed(0)
net = create_model("dblrnet-cpu", num_blocks=1, head_channels=16)
clip, target = torch.rand(8, 5, 3, 128, 128), torch.rand(8, 3, 128, 128)
with torch.autocast("cpu", dtype=torch.bfloat16):
    loss = (net(clip) - target).abs().mean()
loss.backward()
assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
print("trained")
"""


def test_dblrnet_bf16_training_step_on_cpu_does_not_abort():
    # In a subprocess: the failure this guards against is an abort that would take pytest down with it.
    result = subprocess.run([sys.executable, "-c", STEP], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "trained" in result.stdout, result.stderr[-2000:]
