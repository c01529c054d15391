"""`vdeblur eval`: the input baseline equals PSNR computed straight from the files; models are scored end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vdeblur.cli import main
from vdeblur.train.trainer import Trainer

from .conftest import tiny_config


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))  # an independent decoder (Pillow, not OpenCV)


def test_input_baseline_equals_scores_computed_from_the_files(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "scores.json"
    assert main(["eval", "--data", str(tiny_dataset), "--model", "input", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    per_sequence = {}
    for seq in sorted(p for p in tiny_dataset.iterdir() if p.is_dir()):
        pairs = [(_read(b), _read(seq / "sharp" / b.name)) for b in sorted((seq / "blur").glob("*.png"))]
        per_sequence[seq.name] = (
            np.mean([peak_signal_noise_ratio(s, b, data_range=255) for b, s in pairs]),
            np.mean([structural_similarity(b, s, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False, data_range=255) for b, s in pairs]),
        )
    for name, (expected_psnr, expected_ssim) in per_sequence.items():
        assert report["sequences"][name]["psnr"] == pytest.approx(expected_psnr, abs=1e-6)
        assert report["sequences"][name]["ssim"] == pytest.approx(expected_ssim, abs=1e-6)
        assert report["sequences"][name]["frames"] == 5
    assert report["sequence_mean"]["psnr"] == pytest.approx(np.mean([v[0] for v in per_sequence.values()]), abs=1e-6)
    assert report["frames"] == 10
    assert "| **mean over frames** | 10 |" in capsys.readouterr().out


def test_eval_scores_a_trained_run_and_saves_its_outputs(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(tiny_config(run, tiny_dataset, train__max_steps=1), torch.device("cpu"), quiet=True).fit()
    saved, out = tmp_path / "outputs", tmp_path / "scores.json"
    assert main(["eval", "--data", str(tiny_dataset), "--model", str(run), "--device", "cpu",
                 "--save-outputs", str(saved), "--json", str(out), "--max-sequences", "1"]) == 0
    report = json.loads(out.read_text())
    frames = sorted((saved / "seq0").glob("*.png"))
    assert len(frames) == 5 and list(report["sequences"]) == ["seq0"]
    # The saved frames are what was scored.
    expected = np.mean([peak_signal_noise_ratio(_read(tiny_dataset / "seq0" / "sharp" / f.name), _read(f), data_range=255)
                        for f in frames])
    assert report["psnr"] == pytest.approx(expected, abs=1e-6)


def test_unknown_dataset_folder_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["eval", "--data", str(tmp_path / "missing"), "--model", "input"]) == 2
    assert "Dataset folder not found" in capsys.readouterr().err


def test_eval_outputs_never_replace_the_dataset_or_earlier_files(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    truth = {p: p.read_bytes() for p in sorted(data.rglob("*.png"))}
    scores = tmp_path / "scores.json"
    scores.write_text("earlier results")
    for argv, message in [
        (["--save-outputs", str(data / "seq0")], "overlaps the dataset"),
        (["--save-outputs", str(tmp_path)], "overlaps the dataset"),
        (["--json", str(scores)], "already exists; pass --overwrite"),
        (["--json", str(data)], "is a folder"),
    ]:
        assert main(["eval", "--data", str(data), "--model", "input", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in sorted(data.rglob("*.png"))} == truth
    assert scores.read_text() == "earlier results"


def test_saved_outputs_appear_whole_or_not_at_all(
    tiny_dataset: Path, tmp_path: Path, capsys, monkeypatch, stop
) -> None:
    from vdeblur.train import evaluate

    saved = tmp_path / "outputs"
    frames_read = 0
    original = evaluate._frames

    def failing_frames(paths):
        nonlocal frames_read
        for frame in original(paths):
            frames_read += 1
            if frames_read == 7:  # in the second sequence, after the first one was saved
                stop.now()
            yield frame

    monkeypatch.setattr(evaluate, "_frames", failing_frames)
    assert main(["eval", "--data", str(tiny_dataset), "--model", "input", "--save-outputs", str(saved)]) == stop.status
    assert capsys.readouterr().err.endswith(f"vdeblur eval: {stop.message}\n")
    assert not saved.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.setattr(evaluate, "_frames", original)
    assert main(["eval", "--data", str(tiny_dataset), "--model", "input", "--save-outputs", str(saved)]) == 0
    assert main(["eval", "--data", str(tiny_dataset), "--model", "input", "--save-outputs", str(saved)]) == 2
    assert main(["eval", "--data", str(tiny_dataset), "--model", "input", "--save-outputs", str(saved),
                 "--overwrite"]) == 0
    assert sorted(p.relative_to(saved).as_posix() for p in saved.rglob("*.png")) == sorted(
        p.relative_to(tiny_dataset).as_posix().replace("/sharp/", "/") for p in tiny_dataset.glob("*/sharp/*.png")
    )
