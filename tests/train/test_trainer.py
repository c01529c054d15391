"""The trainer: exact resume, clean stops, divergence handling, checkpoints that load, run-directory checks."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest
import torch

from vdeblur.checkpoint import load_model, read_weights
from vdeblur.errors import CheckpointError, ConfigError
from vdeblur.train.sampling import close_batches, stage_seed
from vdeblur.train.state import load_state, stop_on_signals
from vdeblur.train.trainer import Trainer, TrainingDiverged

from .conftest import tiny_config

CPU = torch.device("cpu")


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = load_state(run_dir / "state.pt")
    return {**state["model"], **{f"ema.{k}": v for k, v in state["ema"]["module"].items()}}


def test_resuming_gives_exactly_the_uninterrupted_weights(tiny_dataset: Path, tmp_path: Path) -> None:
    # The step schedule does not depend on max_steps, so stopping after 3 of 6 steps changes nothing else.
    common = dict(optim__schedule="step", optim__step_size=2, data__num_workers=1, train__checkpoint_every=100)
    Trainer(tiny_config(tmp_path / "straight", tiny_dataset, train__max_steps=6, **common), CPU, quiet=True).fit()
    Trainer(tiny_config(tmp_path / "split", tiny_dataset, train__max_steps=3, **common), CPU, quiet=True).fit()
    resumed = Trainer(tiny_config(tmp_path / "split", tiny_dataset, train__max_steps=6, **common), CPU, quiet=True)
    assert resumed.resumed and resumed.step == 3
    resumed.fit()
    straight, split = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    for key in straight:
        assert torch.equal(straight[key], split[key]), key
    assert load_state(tmp_path / "split" / "state.pt")["step"] == 6
    # Workers left alive would make the interpreter's exit wait for them (they outlast a plain SIGTERM).
    assert not multiprocessing.active_children()


def test_stop_at_pauses_on_the_full_schedule(tiny_dataset: Path, tmp_path: Path) -> None:
    # The cosine schedule depends on max_steps: a run stopped at step 3 of 6 and resumed must match the straight one,
    # which --max-steps 3 would not.
    common = dict(optim__schedule="cosine", data__num_workers=0, train__checkpoint_every=100, train__max_steps=6)
    Trainer(tiny_config(tmp_path / "straight", tiny_dataset, **common), CPU, quiet=True).fit()
    paused = Trainer(tiny_config(tmp_path / "split", tiny_dataset, train__stop_at=3, **common), CPU, quiet=True).fit()
    assert paused.step == 3 and not paused.stopped_early
    assert load_state(tmp_path / "split" / "state.pt")["step"] == 3
    resumed = Trainer(tiny_config(tmp_path / "split", tiny_dataset, **common), CPU, quiet=True).fit()
    assert (resumed.start_step, resumed.step) == (3, 6)  # a resume, not a fresh run that happens to agree
    straight, split = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    for key in straight:
        assert torch.equal(straight[key], split[key]), key


def test_checkpoints_hold_ema_weights_and_metadata_and_load(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = Trainer(tiny_config(run, tiny_dataset), CPU, quiet=True).fit()
    assert {"config.yaml", "last.safetensors", "best.safetensors", "state.pt", "log.csv", "loss.png"} <= {
        p.name for p in run.iterdir()
    }
    state, metadata = read_weights(run / "last.safetensors")
    assert metadata["model"] == "sta-cpu" and metadata["steps"] == 4 and metadata["ema"] is True
    ema = load_state(run / "state.pt")["ema"]["module"]
    assert all(torch.equal(state[k], ema[k]) for k in state)
    _, best = read_weights(run / "best.safetensors")
    assert best["metrics"]["psnr"] == pytest.approx(result.best_psnr)
    model = load_model(run)  # best.safetensors: rebuilds the tiny architecture from the metadata alone
    assert model(torch.rand(1, 5, 3, 20, 28)).shape == (1, 3, 20, 28)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trainer = Trainer(tiny_config(run, tiny_dataset, train__max_steps=6), CPU, quiet=True)
    real_loss = trainer.loss_fn

    def poisoned(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = real_loss(output, target)
        return loss * float("nan") if trainer.step == 3 else loss

    trainer.loss_fn = poisoned
    good = None
    with pytest.raises(TrainingDiverged, match="became nan at step 4"):
        original = trainer._checkpoint

        def remember() -> None:
            nonlocal good
            original()
            good = (run / "last.safetensors").read_bytes()

        trainer._checkpoint = remember
        trainer.fit()
    assert load_state(run / "state.pt")["step"] == 2
    assert (run / "last.safetensors").read_bytes() == good


def test_time_limit_stops_cleanly_with_a_checkpoint(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = Trainer(tiny_config(run, tiny_dataset, train__max_steps=50, train__max_minutes=0.0), CPU, quiet=True).fit()
    assert result.stopped_early and result.step == 1 and result.stop_signal == ""
    assert load_state(run / "state.pt")["step"] == 1


def test_signals_become_a_stop_request_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as request:
        os.kill(os.getpid(), signal.SIGTERM)
        assert request.requested and request.signal_name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_worker_outlives_sigterm_only_for_the_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from torch.utils.data import DataLoader

    from vdeblur.train import state

    # Workers are forked and inherit it; 3 s leaves the check below a margin on a loaded machine.
    monkeypatch.setattr(state, "WORKER_GRACE_S", 3.0)
    batches = iter(DataLoader(range(4), num_workers=1, worker_init_fn=state.ignore_interrupts_in_worker))
    next(batches)
    (worker,) = multiprocessing.active_children()
    try:
        os.kill(worker.pid, signal.SIGTERM)
        time.sleep(0.3)
        assert worker.is_alive()  # the trainer still gets its batches while it saves
        worker.join(timeout=30)
        assert not worker.is_alive() and worker.exitcode == 0
    finally:
        close_batches(batches)


def test_resuming_with_another_model_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(tiny_config(run, tiny_dataset, train__max_steps=1), CPU, quiet=True).fit()
    with pytest.raises(CheckpointError, match="holds a run of model 'sta-cpu'"):
        Trainer(tiny_config(run, tiny_dataset, model__name="single-frame"), CPU, quiet=True)


def test_a_run_saved_before_a_model_option_existed_still_resumes(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(tiny_config(run, tiny_dataset, train__max_steps=1), CPU, quiet=True).fit()
    state = load_state(run / "state.pt")
    del state["model_kwargs"]["detail_width"]  # as recorded before the option was added
    torch.save(state, run / "state.pt")
    assert Trainer(tiny_config(run, tiny_dataset, train__max_steps=2), CPU, quiet=True).resumed
    # A recorded value that differs from the model asked for is still refused.
    state["model_kwargs"]["attention_temperature"] = 1.0
    torch.save(state, run / "state.pt")
    with pytest.raises(CheckpointError, match="with other settings"):
        Trainer(tiny_config(run, tiny_dataset, train__max_steps=2), CPU, quiet=True)


def test_init_from_starts_a_new_run_from_given_weights(tiny_dataset: Path, tmp_path: Path) -> None:
    Trainer(tiny_config(tmp_path / "a", tiny_dataset, train__max_steps=2, train__ema_decay=None), CPU, quiet=True).fit()
    config = tiny_config(tmp_path / "b", tiny_dataset, train__init_from=str(tmp_path / "a" / "last.safetensors"))
    trainer = Trainer(config, CPU, quiet=True)
    source, _ = read_weights(tmp_path / "a" / "last.safetensors")
    assert not trainer.resumed and trainer.step == 0
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in source.items())
    trainer.fit()  # 4 steps of its own on top of the 2 behind its starting weights, also after a resume
    assert read_weights(tmp_path / "b" / "last.safetensors")[1]["initial_steps"] == 2
    assert Trainer(config, CPU, quiet=True).initial_steps == 2


def test_batches_depend_on_seed_and_step_only_not_on_workers(tiny_dataset: Path, tmp_path: Path) -> None:
    def batches(workers: int, start_step: int) -> list[torch.Tensor]:
        trainer = Trainer(tiny_config(tmp_path / f"w{workers}", tiny_dataset, data__num_workers=workers), CPU, quiet=True)
        trainer.step = start_step
        loader = iter(trainer._loader())
        try:
            return [next(loader)["blur"] for _ in range(3)]
        finally:
            close_batches(loader)

    from_zero, with_workers, from_step_one = batches(0, 0), batches(2, 0), batches(0, 1)
    assert all(torch.equal(a, b) for a, b in zip(from_zero, with_workers))
    assert torch.equal(from_zero[1], from_step_one[0]) and torch.equal(from_zero[2], from_step_one[1])
    assert not torch.equal(from_zero[0], from_zero[1])


def test_single_frame_steps_train_on_the_reference_frame_then_on_windows(tiny_dataset: Path, tmp_path: Path) -> None:
    def training_inputs(name: str, **overrides: object) -> list[torch.Tensor]:
        trainer = Trainer(tiny_config(tmp_path / name, tiny_dataset, train__val_every=100, **overrides), CPU, quiet=True)
        seen: list[torch.Tensor] = []
        # Validation runs without gradients; only the training steps' inputs are kept.
        trainer.model.register_forward_pre_hook(lambda _, args: seen.append(args[0]) if torch.is_grad_enabled() else None)
        trainer.fit()
        return seen

    stills = training_inputs("stills", train__single_frame_steps=2)
    windows = training_inputs("windows")  # the same seed draws the same batches
    frames = windows[0].shape[1]
    assert [clip.shape[1] for clip in stills] == [1, 1, frames, frames]
    for still, window in zip(stills[:2], windows[:2]):
        assert torch.equal(still[:, 0], window[:, frames // 2])
    assert torch.equal(stills[2], windows[2])


def test_single_frame_steps_need_a_model_that_restores_stills(tiny_dataset: Path, tmp_path: Path) -> None:
    config = tiny_config(tmp_path / "run", tiny_dataset, model__name="dblrnet-cpu", model__kwargs={},
                         train__single_frame_steps=2)
    with pytest.raises(ConfigError, match="single_frame_steps needs a model that restores stills"):
        Trainer(config, CPU, quiet=True)


def test_several_crops_per_window_are_regions_of_that_window(tiny_dataset: Path, tmp_path: Path) -> None:
    from vdeblur.io.images import read_image

    config = tiny_config(tmp_path / "r", tiny_dataset, data__crops_per_window=2, data__batch_size=4, data__augment=False)
    trainer = Trainer(config, CPU, quiet=True)
    batch = next(iter(trainer._loader()))
    assert batch["blur"].shape == (4, 5, 3, 24, 24)
    assert batch["key"][0] == batch["key"][1] and batch["key"][2] == batch["key"][3]
    for i, key in enumerate(batch["key"]):
        sequence, stem = key.split("/")
        full = torch.from_numpy(read_image(tiny_dataset / sequence / "sharp" / f"{stem}.png").transpose(2, 0, 1).copy())
        crop = batch["sharp"][i]
        found = [
            (top, left) for top in range(full.shape[1] - 23) for left in range(full.shape[2] - 23)
            if torch.equal(full[:, top : top + 24, left : left + 24], crop)
        ]
        assert found, f"crop {i} is not a region of {key}"
    assert not torch.equal(batch["sharp"][0], batch["sharp"][1])  # two different crops of one window


def test_a_later_stage_draws_other_crops_than_the_one_it_starts_from(tiny_dataset: Path, tmp_path: Path) -> None:
    """Same train.seed, started from a first stage's weights: its batches are not the first stage's again."""
    first = Trainer(tiny_config(tmp_path / "first", tiny_dataset, train__max_steps=2), CPU, quiet=True)
    first_batch = next(iter(first._loader()))  # step 0 of each stage
    first.fit()
    config = tiny_config(tmp_path / "second", tiny_dataset, train__max_steps=2, train__init_from=str(tmp_path / "first"))
    second = Trainer(config, CPU, quiet=True)
    assert (first.data_seed, second.data_seed) == (0, stage_seed(0, 2)) and second.data_seed != 0
    second_batch = next(iter(second._loader()))
    assert first_batch["blur"].shape == second_batch["blur"].shape
    assert not torch.equal(first_batch["blur"], second_batch["blur"])
    second.fit()
    assert Trainer(config, CPU, quiet=True).data_seed == second.data_seed  # resuming keeps the stage's draws
