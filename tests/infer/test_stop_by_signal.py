"""A real `vdeblur deblur` process stopped by SIGTERM or SIGHUP while it writes: exit 128 + signal, one line, and
no file left beside the output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import make_video


def _writing(folder: Path) -> bool:
    """True once the hidden temporary output beside ``o.mp4`` holds encoded frames."""
    for tmp in folder.glob(".o.*.mp4"):
        try:
            if tmp.stat().st_size > 0:
                return True
        except FileNotFoundError:  # renamed or removed between the listing and the stat
            pass
    return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_deblur_stopped_mid_video_leaves_nothing(tmp_path: Path, tiny_weights: Path, sig: signal.Signals) -> None:
    video = make_video(tmp_path / "long.mp4", num_frames=400, size=(160, 120), audio=False)
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, "-m", "vdeblur", "deblur", str(video), "-o", str(out / "o.mp4"),
               "--model", str(tiny_weights), "--threads", "1", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while not _writing(out):
            assert process.poll() is None, f"finished before it could be stopped: {process.communicate()}"
            assert time.monotonic() < deadline, "never started writing"
            time.sleep(0.02)
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + sig, stderr
    assert stderr == f"vdeblur deblur: interrupted by {sig.name}.\n"
    assert list(out.iterdir()) == []
