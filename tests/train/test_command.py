"""`vdeblur train` on the command line: shorthands, saved config, resuming, clear errors."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import yaml

from vdeblur.cli import main
from vdeblur.train.state import load_state, run_dir_lock

CONFIGS = Path(__file__).parents[2] / "configs"


def _argv(run: Path, data: Path, steps: int) -> list[str]:
    return [
        "train", "--config", str(CONFIGS / "single-frame.yaml"), "--data", str(data), "--run-dir", str(run),
        "--max-steps", str(steps), "--batch-size", "2", "--patch-size", "24", "--workers", "0", "--device", "cpu",
        "--set", "model.kwargs={width: 8, growth: [4, 8, 8], num_layers: 2}", "--set", "data.val_crop=null",
        "--set", "train.precision=fp32", "--set", "train.threads=1", "--set", "data.crops_per_window=1",
    ]


def test_train_command_saves_config_and_resumes(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(_argv(run, tiny_dataset, 2)) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"] == {"name": "single-frame", "kwargs": {"width": 8, "growth": [4, 8, 8], "num_layers": 2}}
    assert saved["data"]["patch_size"] == 24 and saved["train"]["max_steps"] == 2
    capsys.readouterr()
    # Resuming needs only the run directory: the saved config is the base, the shorthand extends the run.
    assert main(["train", "--run-dir", str(run), "--max-steps", "3"]) == 0
    assert "Resuming" in capsys.readouterr().out
    assert load_state(run / "state.pt")["step"] == 3


def test_train_command_errors_are_one_sentence(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", "--run-dir", str(tmp_path / "r"), "--data", str(tiny_dataset), "--set", "optim.lrr=1"]) == 2
    assert "Unknown config key 'optim.lrr' (did you mean 'lr'?)" in capsys.readouterr().err
    run = tmp_path / "busy"
    with run_dir_lock(run):
        assert main(_argv(run, tiny_dataset, 1)) == 2
    assert "in use by another training process" in capsys.readouterr().err


def test_unreadable_frame_in_a_dataloader_worker_is_one_sentence(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    (data / "seq1" / "blur" / "0003.png").write_bytes(b"not a png")
    # 10 items, 2 per step: the broken one is drawn within the first 5 steps, in a worker process.
    assert main([*_argv(tmp_path / "run", data, 6), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "DataLoader worker" not in err
    assert err.strip().splitlines()[-1] == (
        f"vdeblur train: error: Cannot read image {data / 'seq1' / 'blur' / '0003.png'}: it is corrupt or not an image."
    )
    assert not multiprocessing.active_children()  # the error path ends the workers too


def test_run_directory_must_be_new_empty_or_a_run(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    """A trainer writes config.yaml and log.csv into its run directory: never into a user's folder."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "log.csv").write_text("my own log")
    assert main(_argv(mine, tiny_dataset, 1)) == 2
    assert "holds files (log.csv) but no training run" in capsys.readouterr().err
    assert (mine / "log.csv").read_text() == "my own log" and sorted(p.name for p in mine.iterdir()) == ["log.csv"]
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert main(_argv(a_file, tiny_dataset, 1)) == 2
    assert "is a file" in capsys.readouterr().err
    # A run that fails before writing anything takes back the folder it created.
    new = tmp_path / "new" / "run"
    assert main([*_argv(new, tmp_path / "no-data", 1)]) == 2
    assert "not found" in capsys.readouterr().err and not new.exists()


def test_losing_the_lock_never_removes_the_winners_folder(tmp_path: Path, monkeypatch) -> None:
    """Two trainers starting at once on a new folder: the one refused must not clean up the other's."""
    import pytest

    from vdeblur.errors import UserError

    run = tmp_path / "new"
    exists = Path.exists
    with run_dir_lock(run):
        # As if the second trainer had looked before the first one created the folder.
        monkeypatch.setattr(Path, "exists", lambda self: False if self == run else exists(self))
        with pytest.raises(UserError, match="in use by another training process"), run_dir_lock(run):
            pass
        monkeypatch.undo()
        assert (run / ".lock").is_file()
