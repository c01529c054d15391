"""The training loop: resumable, deterministic in (seed, step), single process or DistributedDataParallel.

`Trainer` owns what surrounds an architecture (BasicSR's split): optimiser, learning-rate schedule, losses,
EMA, the optional DBLRGAN discriminator, validation, logging and checkpoints. The model stays a plain module.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from vdeblur.checkpoint import load_weights_into, model_metadata, resolve_weights_path, save_weights
from vdeblur.data import Sequence, VideoDeblurDataset, find_sequences
from vdeblur.errors import CheckpointError, ConfigError, UserError
from vdeblur.io.images import image_size
from vdeblur.launch import DistContext
from vdeblur.layout import to_channels_last
from vdeblur.models import create_discriminator, create_model
from vdeblur.models.registry import constructor_defaults
from vdeblur.train.config import RunConfig, plain, save_config
from vdeblur.train.distributed import all_reduce_sum
from vdeblur.train.ema import ModelEMA
from vdeblur.train.gan import Adversary
from vdeblur.train.logbook import Logbook
from vdeblur.train.losses import ContentLoss
from vdeblur.train.sampling import (
    EpochDrawDataset, StepBatchSampler, collate_draws, loader_batches, next_batch, stage_seed,
)
from vdeblur.train.schedule import learning_rate
from vdeblur.train.state import (
    StopRequest, describe_path, ignore_interrupts_in_worker, load_state, restore_rng_state, rng_state, save_state,
    stop_on_signals,
)
from vdeblur.precision import autocast_context, resolve_precision
from vdeblur.train.validation import Validator, validation_sequences


def _recorded_kwargs_match(recorded: dict[str, Any], model: nn.Module) -> bool:
    """Whether constructor arguments recorded in a run's state describe ``model``'s architecture.

    A state saved before an argument was added lacks it; it is taken at its constructor default, which is how the
    model was built then (a new argument defaults to the old behaviour) and how ``load_model`` rebuilds weights
    from such a record. Without this, every run in progress would stop resuming when a model gained an option.
    """
    complete = {**constructor_defaults(type(model)), **recorded}
    return plain(complete) == plain(model_metadata(model)["model_kwargs"])


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


@dataclass
class TrainResult:
    """What a call to `Trainer.fit` did."""

    start_step: int
    step: int
    stopped_early: bool
    stop_signal: str  # the signal that stopped training early, "" otherwise
    best_psnr: float | None
    last_metrics: dict[str, float] | None


class Trainer:
    """Trains ``config.model`` on ``config.data`` into ``config.run_dir``; resumes when the run exists.

    Args:
        config: the resolved run configuration.
        device: where to train.
        context: this process's place in a torchrun process group (default: a single process).
        quiet: no progress bar or messages (tests).
    """

    def __init__(
        self, config: RunConfig, device: torch.device, context: DistContext | None = None, quiet: bool = False
    ) -> None:
        if not config.run_dir:
            raise ConfigError("No run directory given; pass --run-dir DIR (or set run_dir in the config).")
        if not config.data.root:
            raise ConfigError("No training data given; pass --data DIR (or set data.root in the config).")
        self.config = config
        self.device = device
        self.context = context or DistContext()
        self.quiet = quiet or not self.context.is_main
        self.run_dir = Path(config.run_dir)
        self.state_path = self.run_dir / "state.pt"
        train = config.train
        # auto resolves here, once: the run then keeps one precision, recorded in its weights' metadata.
        self.precision = resolve_precision(train.precision, device)
        if self.precision == "fp16" and (device.type != "cuda" or config.gan.enabled):
            raise ConfigError("train.precision fp16 needs a CUDA device and no GAN; use bf16 or fp32.")
        self.windows_per_step = config.data.batch_size // config.data.crops_per_window
        if self.windows_per_step % self.context.world_size:
            raise ConfigError(
                f"data.batch_size / data.crops_per_window = {self.windows_per_step} windows per step must be a "
                f"multiple of the {self.context.world_size} processes."
            )
        if train.threads:
            torch.set_num_threads(train.threads)
        if device.type == "cuda":
            # Every step's crops have one size, so cuDNN's search for its fastest convolution algorithms pays once.
            torch.backends.cudnn.benchmark = True

        # The seed fixes the initial weights; every process builds the same ones.
        torch.manual_seed(train.seed)
        # channels_last lets oneDNN pick its fast NHWC kernels (measured ~12% per bf16 step on CPU, more at
        # inference); it changes memory layout only, not the weights' values or names.
        self.model = to_channels_last(create_model(config.model.name, **config.model.kwargs).to(device))
        if train.single_frame_steps and not getattr(self.model, "supports_stills", False):
            raise ConfigError(
                f"train.single_frame_steps needs a model that restores stills (the STANet family); "
                f"{config.model.name} takes only whole windows."
            )
        self.loss_fn = ContentLoss(config.loss)
        optimizer = torch.optim.AdamW if config.optim.name == "adamw" else torch.optim.Adam
        self.optimizer = optimizer(
            self.model.parameters(), lr=config.optim.lr, betas=config.optim.betas, weight_decay=config.optim.weight_decay
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.ema = ModelEMA(self.model, train.ema_decay) if train.ema_decay else None
        self.adversary: Adversary | None = None
        if config.gan.enabled:
            discriminator = create_discriminator(config.gan.discriminator, **config.gan.discriminator_kwargs).to(device)
            self.adversary = Adversary(self._distribute(discriminator), config.gan)

        self.step = 0
        self.elapsed_s = 0.0
        self.cpu_s = 0.0
        self.best_psnr: float | None = None
        self.last_metrics: dict[str, float] | None = None
        self.initial_steps = 0  # steps behind the train.init_from weights, so that weights record their whole history
        self.resumed = self._restore_or_initialise()  # also sets data_seed, every draw's seed
        self.net = self._distribute(self.model)

        self.sequences = find_sequences(config.data.root, config.data.layout, config.data.split, config.data.blur_folder)
        _check_patch_fits(self.sequences, config.data.patch_size)
        data = config.data
        self.dataset = EpochDrawDataset(VideoDeblurDataset(
            self.sequences, self.model.num_frames, data.patch_size, data.augment, self.data_seed, data.crops_per_window,
        ))
        self.validator: Validator | None = None
        self.logbook: Logbook | None = None
        if self.context.is_main:
            sequences = self._validation_sequences()
            self.validator = Validator(sequences, self.model.num_frames, config.data) if sequences else None
            self.logbook = Logbook(self.run_dir / "log.csv", self.step)

    # ----------------------------------------------------------------------------------------------- set-up

    def _distribute(self, module: nn.Module) -> nn.Module:
        if not self.context.enabled:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def _validation_sequences(self) -> list:
        """The validation set; without an explicit ``data.val_root``, a missing split only turns validation off."""
        try:
            return validation_sequences(self.config.data)
        except UserError as exc:
            if self.config.data.val_root:
                raise
            self._say(f"No validation set ({exc}); training without validation. Set data.val_root to add one.")
            return []

    def _say(self, message: str) -> None:
        if not self.quiet:
            tqdm.write(message)

    def _restore_or_initialise(self) -> bool:
        """Load ``state.pt`` if the run directory has one; else apply ``train.init_from``. True when resuming."""
        if self.state_path.is_file():
            state = load_state(self.state_path)
            expected = model_metadata(self.model)
            same = state["model_name"] == expected["model"] and _recorded_kwargs_match(state["model_kwargs"], self.model)
            if not same:
                raise CheckpointError(
                    f"Run directory {self.run_dir} holds a run of model '{state['model_name']}' with other settings "
                    f"than '{expected['model']}' asked for here; choose another --run-dir or the same model."
                )
            if (state.get("adversary") is None) != (self.adversary is None):
                raise CheckpointError(
                    f"Run directory {self.run_dir} was trained with gan.enabled={state.get('adversary') is not None}; "
                    "start a GAN run in a new directory with --init-from instead."
                )
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scaler.load_state_dict(state["scaler"])
            if self.ema is not None and state.get("ema") is not None:
                self.ema.load_state_dict(state["ema"])
            if self.adversary is not None:
                self.adversary.load_state_dict(state["adversary"])
            restore_rng_state(state["rng"], self.device)
            self.step = int(state["step"])
            self.elapsed_s = float(state["elapsed_s"])
            self.cpu_s = float(state.get("cpu_s", 0.0))  # not recorded by runs checkpointed before it was added
            self.best_psnr = state.get("best_psnr")
            self.initial_steps = int(state.get("initial_steps", 0))
            # A run checkpointed before data seeds were recorded drew from train.seed itself.
            self.data_seed = int(state.get("data_seed", self.config.train.seed))
            self._say(f"Resuming {describe_path(self.run_dir)} from step {self.step}.")
            return True
        if self.config.train.init_from:
            path = resolve_weights_path(self.config.train.init_from)
            source = load_weights_into(self.model, path, grow=True)
            self.initial_steps = int(source.get("steps", 0)) + int(source.get("initial_steps", 0))
            if self.ema is not None:
                self.ema = ModelEMA(self.model, self.config.train.ema_decay)
            grown = "".join(f"; {prefix.rstrip('.')} starts from zero" for prefix in source.get("grown", []))
            self._say(f"Starting from the weights in {path}{grown}.")
        self.data_seed = stage_seed(self.config.train.seed, self.initial_steps)
        return False

    def _loader(self) -> DataLoader:
        workers = self.config.data.num_workers
        sampler = StepBatchSampler(
            self.data_seed, self.windows_per_step, len(self.dataset), self.step,
            self.context.rank, self.context.world_size,
        )
        return DataLoader(
            self.dataset, batch_sampler=sampler, collate_fn=collate_draws, num_workers=workers,
            persistent_workers=workers > 0, pin_memory=self.device.type == "cuda",
            worker_init_fn=ignore_interrupts_in_worker if workers > 0 else None,
            prefetch_factor=4 if workers > 0 else None,
        )

    # ------------------------------------------------------------------------------------------------ steps

    def _train_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """One optimiser step (and one discriminator step for DBLRGAN); returns detached scalars."""
        blur = batch["blur"].to(self.device, non_blocking=True)
        sharp = batch["sharp"].to(self.device, non_blocking=True)
        if self.step < self.config.train.single_frame_steps:
            reference = blur.shape[1] // 2
            blur = blur[:, reference : reference + 1]  # the model restores it as a still
        with autocast_context(self.device, self.precision):
            output = self.net(blur)
        loss = self.loss_fn(output, sharp)
        stats: dict[str, torch.Tensor] = {}
        if self.adversary is not None and self.step >= self.config.gan.pretrain_steps:
            with autocast_context(self.device, self.precision):
                stats = self.adversary.discriminator_step(sharp, output)
                adversarial = self.adversary.generator_loss(output)
            loss = loss + self.config.gan.adv_weight * adversarial
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.optim.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {"loss": loss.detach(), **stats}

    def _set_learning_rate(self) -> float:
        lr = learning_rate(self.step, self.config.optim, self.config.train.max_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    # ------------------------------------------------------------------------------------------- the loop

    def fit(self) -> TrainResult:
        """Train until ``train.max_steps`` (or ``train.stop_at``), the time limit, or a signal; checkpoint on the
        way and at the end."""
        train = self.config.train
        start_step = self.step
        if self.context.is_main:
            save_config(self.config, self.run_dir / "config.yaml")
        last_step = train.max_steps if train.stop_at is None else train.stop_at  # validated: at most max_steps
        if self.step >= last_step:
            until = "" if last_step == train.max_steps else " (train.stop_at; --set train.stop_at=null goes on)"
            self._say(f"{describe_path(self.run_dir)} already finished {self.step} of {last_step} steps{until}.")
            return TrainResult(start_step, self.step, False, "", self.best_psnr, self.last_metrics)
        if not self.resumed:
            self._say(f"Training {self.config.model.name} into {describe_path(self.run_dir)} in {self.precision}"
                      f"{' (auto)' if self.config.train.precision == 'auto' else ''}.")
        session_start = last_checkpoint = time.monotonic()
        running: dict[str, float] = {}
        stopped_early = False
        stop_signal = ""
        progress = tqdm(
            total=train.max_steps, initial=self.step, disable=self.quiet, unit="step", dynamic_ncols=True,
            desc=self.config.model.name,
        )
        # The bar closes on errors too, so that an error message is not followed by a stray bar line; the loader's
        # workers end on every way out.
        with loader_batches(self._loader()) as batches, stop_on_signals() as stop, progress:
            self.net.train()
            while self.step < last_step:
                tick, tick_cpu = time.monotonic(), time.process_time()
                lr = self._set_learning_rate()
                stats = self._train_step(next_batch(batches))
                self.step += 1
                if self.ema is not None:
                    self.ema.update(self.model)
                # Reading the loss waits for the step's queued GPU work, so the step's time includes it: a CUDA
                # step timed before it counts only the host's share (scripts/device_train.sh plans by this time).
                loss = float(stats["loss"])
                now = time.monotonic()
                self.elapsed_s += now - tick
                self.cpu_s += time.process_time() - tick_cpu
                out_of_time = train.max_minutes is not None and now - session_start >= 60 * train.max_minutes
                flags = self._agree(loss, stop, out_of_time)
                if not math.isfinite(flags["loss"]):
                    raise TrainingDiverged(
                        f"The loss became {flags['loss']} at step {self.step}; training stopped and the last good "
                        f"checkpoint in {describe_path(self.run_dir)} was kept (try a lower optim.lr, "
                        "optim.grad_clip, or train.precision fp32)."
                    )
                for key, value in {**stats, "loss": flags["loss"]}.items():
                    running[key] = running.get(key, 0.0) + float(value)
                running["count"] = running.get("count", 0) + 1
                progress.update(1)
                if self.step % train.log_every == 0 or self.step == last_step:
                    self._log(running, lr, progress)
                    running = {}
                stopping = flags["stop"] or flags["out_of_time"]
                finished = self.step == last_step
                # After a signal, exit quickly (schedulers allow seconds): checkpoint without validating.
                if self.step % train.val_every == 0 or finished or flags["out_of_time"]:
                    self._validate()
                due = now - last_checkpoint >= 60 * train.checkpoint_minutes  # only the main process writes
                if self.step % train.checkpoint_every == 0 or finished or stopping or due:
                    self._checkpoint()
                    last_checkpoint = time.monotonic()
                if stopping:
                    stop_signal = (stop.signal_name or "a signal") if flags["stop"] else ""
                    reason = stop_signal or "the time limit"
                    self._say(f"Stopped by {reason} at step {self.step}; checkpoint written. Run again to resume.")
                    stopped_early = True
                    break
        return TrainResult(start_step, self.step, stopped_early, stop_signal, self.best_psnr, self.last_metrics)

    def _agree(self, loss: float, stop: StopRequest, out_of_time: bool) -> dict[str, Any]:
        """Make every process see the same mean loss and the same decision to stop.

        The main process's clock alone decides the time limit, so that all processes stop at the same step.
        """
        values = torch.tensor(
            [loss, float(stop.requested), float(out_of_time and self.context.is_main)], dtype=torch.float64
        )
        values = all_reduce_sum(values, self.context)
        return {
            "loss": float(values[0]) / self.context.world_size,
            "stop": bool(values[1] > 0),
            "out_of_time": bool(values[2] > 0),
        }

    # ------------------------------------------------------------------------------- logging and outputs

    def _log(self, running: dict[str, float], lr: float, progress: tqdm) -> None:
        count = running.pop("count")
        means = {key: value / count for key, value in running.items()}
        if self.logbook is not None:
            self.logbook.add(step=self.step, elapsed_s=self.elapsed_s, cpu_s=self.cpu_s, lr=lr, **means)
        postfix = {"loss": f"{means['loss']:.4g}", "lr": f"{lr:.2g}"}
        if "d_real" in means:
            postfix.update(d_real=f"{means['d_real']:.2f}", d_fake=f"{means['d_fake']:.2f}")
        progress.set_postfix(postfix, refresh=False)

    def _validate(self) -> None:
        if self.validator is None:
            return
        weights = self.ema.module if self.ema is not None else self.model
        self.last_metrics = self.validator.run(weights, self.device, self.precision)
        if self.logbook is not None:
            self.logbook.add(step=self.step, elapsed_s=self.elapsed_s, val_psnr=self.last_metrics["psnr"],
                             val_ssim=self.last_metrics["ssim"])
        improved = self.best_psnr is None or self.last_metrics["psnr"] > self.best_psnr
        self._say(
            f"step {self.step}: validation PSNR {self.last_metrics['psnr']:.2f} dB, SSIM {self.last_metrics['ssim']:.4f}"
            + (" (best so far)" if improved else "")
        )
        if improved:
            self.best_psnr = self.last_metrics["psnr"]
            save_weights(self.run_dir / "best.safetensors", weights, self._weights_metadata())

    def _weights_metadata(self) -> dict[str, Any]:
        return {
            "steps": self.step,
            "initial_steps": self.initial_steps,
            "data": str(self.config.data.root),
            "metrics": self.last_metrics or {},
            "ema": self.ema is not None,
            "precision": self.precision,
            "gan": self.config.gan.enabled,
        }

    def _checkpoint(self) -> None:
        """Write ``last.safetensors`` then ``state.pt`` (rank 0 only), each atomically."""
        if not self.context.is_main:
            return
        weights = self.ema.module if self.ema is not None else self.model
        save_weights(self.run_dir / "last.safetensors", weights, self._weights_metadata())
        metadata = model_metadata(self.model)
        save_state(self.state_path, {
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "cpu_s": self.cpu_s,
            "best_psnr": self.best_psnr,
            "initial_steps": self.initial_steps,
            "data_seed": self.data_seed,
            "model_name": metadata["model"],
            "model_kwargs": plain(metadata["model_kwargs"]),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "adversary": self.adversary.state_dict() if self.adversary is not None else None,
            "rng": rng_state(self.device),
        })
        if self.logbook is not None:
            self.logbook.write()


def _check_patch_fits(sequences: list[Sequence], patch_size: int) -> None:
    """Fail before training starts, not inside a DataLoader worker, when frames are smaller than the patches."""
    for sequence in sequences:
        width, height = image_size(sequence.sharp[0])
        if min(width, height) < patch_size:
            raise ConfigError(
                f"Sequence {sequence.name} has {width}x{height} frames, smaller than data.patch_size {patch_size}."
            )
