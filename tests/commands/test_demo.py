"""`vdeblur demo` deblurs the bundled sample with shipped weights and scores it like an independent reader."""

from __future__ import annotations

import re

import av
import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from vdeblur.cli import main
from vdeblur.commands.demo import sample_files


def _decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_demo_writes_every_frame_and_reports_the_input_psnr_skimage_computes(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path / "demo"), "--model", "single-frame", "--quiet"]) == 0
    printed = capsys.readouterr().out
    sample = sample_files()
    blurry, sharp = _decode(sample["blur"]), _decode(sample["sharp"])
    assert len(_decode(tmp_path / "demo" / "deblurred.mp4")) == len(blurry) == len(sharp)
    assert (tmp_path / "demo" / "side_by_side.mp4").is_file() and (tmp_path / "demo" / "compare.png").is_file()
    expected = np.mean([peak_signal_noise_ratio(s, b, data_range=255) for s, b in zip(sharp, blurry)])
    reported = float(re.search(r"\| blurry input\s+\|\s+([\d.]+)", printed).group(1))
    assert abs(reported - expected) < 0.006  # printed with two decimals
    assert "model:  single-frame (6000 training steps)" in printed
