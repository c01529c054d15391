"""`vdeblur demo` deblurs the bundled sample with shipped weights and scores it like an independent reader."""

from __future__ import annotations

import re

import av
import numpy as np
import pytest
from av.video.reformatter import Interpolation
from skimage.metrics import peak_signal_noise_ratio

from vdeblur.cli import main
from vdeblur.commands.demo import sample_files


# A player interpolates the 4:2:0 chroma (bilinear); PyAV's default same-size conversion repeats each sample.
PLAYER = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def _decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24", interpolation=PLAYER) for frame in container.decode(video=0)]


def test_demo_writes_every_frame_and_reports_the_input_psnr_skimage_computes(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path / "demo"), "--model", "single-frame", "--quiet"]) == 0
    printed = capsys.readouterr().out
    sample = sample_files()
    blurry, sharp = _decode(sample["blur"]), _decode(sample["sharp"])
    written = _decode(tmp_path / "demo" / "deblurred.mp4")
    assert len(written) == len(blurry) == len(sharp)
    assert (tmp_path / "demo" / "side_by_side.mp4").is_file() and (tmp_path / "demo" / "compare.png").is_file()

    def reported(label: str) -> float:
        return float(re.search(rf"\| {re.escape(label)}\s+\|\s+([\d.]+)", printed).group(1))

    # Both rows that can be recomputed from files are, by scikit-image on frames PyAV decodes here.
    for label, frames in (("blurry input", blurry), ("deblurred (written H.264)", written)):
        expected = np.mean([peak_signal_noise_ratio(s, f, data_range=255) for s, f in zip(sharp, frames)])
        assert abs(reported(label) - expected) < 0.006, label  # printed with two decimals
    assert "model:  single-frame (6000 training steps)" in printed


def test_demo_folder_is_new_empty_or_an_earlier_demos(tmp_path) -> None:
    from vdeblur.commands.demo import MARKER, claim_folder
    from vdeblur.errors import UserError

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "deblurred.mp4").write_bytes(b"my own video")
    (mine / "holiday.mp4").write_bytes(b"another")
    with pytest.raises(UserError, match="not an earlier demo's output"):
        claim_folder(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["deblurred.mp4", "holiday.mp4"]
    claim_folder(tmp_path / "new" / "demo")
    assert (tmp_path / "new" / "demo" / MARKER).is_file()
    (tmp_path / "new" / "demo" / "notes.txt").write_text("added later")  # still the demo's folder: marked
    claim_folder(tmp_path / "new" / "demo")
    with pytest.raises(UserError, match="not a folder"):
        claim_folder(mine / "holiday.mp4")


def test_a_stopped_demo_leaves_no_result_and_no_temporary_file(tmp_path, monkeypatch, capsys, stop) -> None:
    from vdeblur.commands.demo import MARKER
    from vdeblur.io import video as video_io

    stop.at_call(monkeypatch, video_io.VideoWriter, "write", call=5)
    assert main(["demo", "--output", str(tmp_path / "demo"), "--model", "single-frame", "--quiet"]) == stop.status
    assert capsys.readouterr().err == f"vdeblur demo: {stop.message}\n"
    assert [p.name for p in (tmp_path / "demo").iterdir()] == [MARKER]
