"""scripts/device_train.sh, dry-run on the CPU as on a lent GPU machine: without PyAV, from a bundle of photographs."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
import skimage.data
import torch

from vdeblur.checkpoint import read_weights
from vdeblur.errors import MediaError
from vdeblur.io import video
from vdeblur.io.images import write_image
from vdeblur.models import create_model
from vdeblur.synth import SynthConfig, synthesize
from vdeblur.synth.degrade import h264_roundtrip
from vdeblur.train.config import load_config
from vdeblur.train.schedule import learning_rate

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "device_train.sh"


def test_without_pyav_video_use_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(video, "av", None)
    sample = files("vdeblur.samples") / "bikes_blur.mp4"
    with pytest.raises(MediaError, match=r"needs PyAV .* pip install av\.$"):
        video.probe_video(sample)
    with pytest.raises(MediaError, match="needs PyAV"):
        h264_roundtrip([skimage.data.coffee()[:64, :64]], crf=20)
    # A set whose codecs may include H.264 is refused before anything is rendered.
    with pytest.raises(MediaError, match="needs PyAV"):
        synthesize([tmp_path / "photo.png"], tmp_path / "set", config=SynthConfig(codec="jpeg,h264"))
    assert not (tmp_path / "set").exists()


@pytest.mark.slow
def test_the_device_script_trains_without_pyav_and_returns_the_planned_weights(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "photos").mkdir(parents=True)
    for name in ("coffee", "chelsea"):
        write_image(bundle / "photos" / f"{name}.png", getattr(skimage.data, name)()[::2, ::2])
    (bundle / "validation.txt").write_text("coffee.png\n")
    # The machine's image has no PyAV: every process the script starts must do without it.
    no_pyav = tmp_path / "no_pyav"
    no_pyav.mkdir()
    (no_pyav / "sitecustomize.py").write_text("import sys\nsys.modules['av'] = None\n")
    assert subprocess.run([sys.executable, "-c", "import av"], env={**os.environ, "PYTHONPATH": str(no_pyav)},
                          capture_output=True).returncode != 0
    out, work = tmp_path / "out", tmp_path / "work"
    env = {
        **os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(no_pyav), "DEVICE": "cpu", "DEADLINE": "70",
        "SEQUENCES": "1", "FRAMES": "4", "WARMUP": "4", "BUNDLE": str(bundle), "WORK": str(work),
        "TRAIN_ARGS": "--batch-size 2 --patch-size 64 --set data.crops_per_window=1 --set train.log_every=1 "
                      "--set data.val_crop=64 --set optim.warmup_steps=4",
    }
    result = subprocess.run(["bash", str(SCRIPT), str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    summary = (out / "summary.txt").read_text()
    planned = int(re.search(r"of (\d+) planned: as planned", summary).group(1))
    assert planned > 4  # the timed warm-up, then as many steps as the time left holds
    config = load_config(out / "config.yaml")
    assert config.train.max_steps == planned and config.train.stop_at is None
    log = list(csv.DictReader((out / "log.csv").open()))
    assert int(log[-1]["step"]) == planned and float(log[-1]["val_psnr"]) > 0  # validated once, at the end
    # The schedule spans the planned steps: the last step's learning rate is the cosine's at its end.
    last_lr = float(next(row["lr"] for row in reversed(log) if row["lr"]))
    assert last_lr == pytest.approx(learning_rate(planned - 1, config.optim, planned), rel=1e-4)
    state, metadata = read_weights(out / "last.safetensors")
    assert metadata["model"] == "sta-wide" and metadata["steps"] == planned
    assert all(tensor.dtype == torch.float16 for tensor in state.values() if tensor.is_floating_point())
    create_model("sta-wide", **metadata["model_kwargs"]).load_state_dict(state)
    records = [json.loads(path.read_text()) for path in (work / "data").rglob("synth.json")]
    assert len(records) == 2 + 1  # one sequence per photograph, one for validation
    assert {record["degradation"]["codec"] for record in records} <= {"none", "jpeg"}
