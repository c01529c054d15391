"""Pretrain a deconvolution front's kernel estimator on sharp frames blurred on the fly by random known kernels.

Trained only through the restoration loss, inside `STANet` or alone, the front's `KernelEstimator` does not learn
to find the blur (BENCHMARKS.md, "A learnt blind deconvolution front"): the gradient a kernel gets through the
Wiener filter is weak beside the noise of the batches. Here it learns from the kernel itself. Every step cuts
sharp crops from a set's training frames, blurs each by a fresh random kernel in linear light (a straight line, or
with ``--kernels shake`` the path of a hand-held shake as the sets are blurred; ``--noise`` adds their sensor
noise), and

1. first fits the estimated kernel to the true one (``--kernel-loss``, L1 over the kernel's pixels by default; with
   ``--power`` the estimated autocorrelation to the true kernel's as well);
2. then adds the Wiener output's L1 error against the sharp crop (weighted 10), which tunes the lengths and the
   noise-to-signal ratio for the deconvolution they serve.

The result is written as a whole model (`--model` with ``deconv_kernel``; everything but the front freshly
initialised) to start `vdeblur train --init-from` from, and the front alone is scored on the set's test frames
(`known_blur.py front`).

Usage:
    python benchmarks/front_pretrain.py /work/data/known-random --out /work/runs/front/init.safetensors
    python benchmarks/front_pretrain.py /work/data/vdeblur-train-clean --kernels shake --noise \
        --regulariser gradient --kernel-size 31 --out /work/runs/front/shake.safetensors
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).parent))
from known_blur import RANDOM_LENGTHS, line_kernel, score_front, splat_points  # noqa: E402

from vdeblur.checkpoint import save_weights  # noqa: E402
from vdeblur.io.images import read_image  # noqa: E402
from vdeblur.models.layers import WienerFront  # noqa: E402
from vdeblur.models.layers.deconvolution import (  # noqa: E402
    REGULARISERS,
    kernel_autocorrelation,
    linear_to_srgb,
    srgb_to_linear,
)
from vdeblur.models.registry import create_model  # noqa: E402
from vdeblur.synth.config import SynthConfig  # noqa: E402
from vdeblur.synth.degrade import add_sensor_noise  # noqa: E402
from vdeblur.synth.pipeline import draw_degradation, exposure_times  # noqa: E402
from vdeblur.synth.trajectory import MIN_PATH_FRAMES, random_shake  # noqa: E402

# Median blur lengths of the shake paths, drawn log-uniformly as `SynthConfig` draws a sequence's (blur_min 2 px);
# the upper end is what a 31 px kernel holds of the sets' 40 px, most paths being curled rather than straight.
SHAKE_LENGTHS = (2.0, 30.0)
NOISE_ONLY = SynthConfig(codec="none")
KERNEL_LOSSES = ("l1", "l2", "ce")


def kernel_on_grid(length: float, angle: float, size: int) -> np.ndarray:
    """`line_kernel` centred on a ``size × size`` grid (cut to it where the line is longer), normalised."""
    line = line_kernel(length, angle)
    span = max(size, line.shape[0])
    grid = np.zeros((span, span))
    centre, half = span // 2, line.shape[0] // 2
    grid[centre - half : centre + half + 1, centre - half : centre + half + 1] = line
    grid = grid[centre - size // 2 : centre + size // 2 + 1, centre - size // 2 : centre + size // 2 + 1]
    return grid / grid.sum()


def shake_kernel(rng: np.random.Generator, size: int, lengths: tuple[float, float] = SHAKE_LENGTHS) -> np.ndarray:
    """The translation of one exposure of a random hand-held shake (`random_shake`, as the sets are blurred) as a
    normalised ``size × size`` kernel centred on its centroid (where sets built with ``target="centroid"`` put the
    sharp frame). Paths are splatted (`splat_points`) at 512 instants; one that leaves the grid is drawn again,
    since a cut kernel would teach the estimator a blur the data does not have, so a grid smaller than 31 px draws
    fewer long paths than `SHAKE_LENGTHS` asks (measured: 64 of 300 redrawn at 21 px, 38 at 31 px)."""
    centre = size // 2
    while True:
        exposure = rng.uniform(0.5, 1.0)
        length = math.exp(rng.uniform(math.log(lengths[0]), math.log(lengths[1])))
        path = random_shake(rng, MIN_PATH_FRAMES, exposure, length)
        # A frame of the path, so that per-frame lengths spread around the median as in a sequence.
        times = exposure_times(float(rng.integers(MIN_PATH_FRAMES)), exposure, 512)
        xs, ys = np.interp(times, path.times, path.x), np.interp(times, path.times, path.y)
        xs, ys = centre + xs - xs.mean(), centre + ys - ys.mean()
        if min(xs.min(), ys.min()) < 0 or max(xs.max(), ys.max()) >= size - 1:
            continue
        return splat_points(xs, ys, size)


def sharp_frames(root: Path, per_sequence: int) -> list[torch.Tensor]:
    """Every 7th sharp frame of each training sequence (at most ``per_sequence``), linear ``(3, H, W)``."""
    frames = []
    for sequence in sorted(p for p in (root / "train").iterdir() if (p / "sharp").is_dir()):
        for path in sorted((sequence / "sharp").glob("*.png"))[::7][:per_sequence]:
            frames.append(srgb_to_linear(torch.from_numpy(read_image(path)).permute(2, 0, 1)))
    return frames


def draw_batch(rng: np.random.Generator, frames: list[torch.Tensor], size: int, kernel_size: int, count: int,
               blur: str, noisy: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` crops blurred by random kernels: sRGB blurry and sharp ``(count, 3, size, size)``, the
    estimator's kernel targets and the true kernels, both ``(count, k, k)``.

    ``blur`` is ``lines`` (straight, centred) or ``shake`` (`shake_kernel`). A shake kernel's target is its
    symmetric part, ``(k + k rotated 180°) / 2``: the gradients' autocorrelation, all the estimator reads, is the
    same for a kernel and for it rotated by 180°, so it can at best find what the two share. ``noisy`` adds the
    sets' sensor noise (`draw_degradation`, codecs aside) after the blur. Every blurry crop is rounded to 8 bits, as
    a set's frames are (since the twenty-third session; the line-pretrained front of BENCHMARKS.md had float crops).
    """
    blurry, sharp, targets, kernels = [], [], [], []
    for _ in range(count):
        frame = frames[rng.integers(len(frames))]
        y = rng.integers(frame.shape[1] - size - 2 * kernel_size)
        x = rng.integers(frame.shape[2] - size - 2 * kernel_size)
        crop = frame[:, y : y + size + 2 * kernel_size, x : x + size + 2 * kernel_size]
        if blur == "shake":
            kernel = torch.from_numpy(shake_kernel(rng, kernel_size)).float()
            target = (kernel + kernel.flip(0, 1)) / 2
        elif blur == "lines":
            kernel = torch.from_numpy(kernel_on_grid(rng.uniform(*RANDOM_LENGTHS), rng.uniform(0, 180), kernel_size))
            target = kernel = kernel.float()
        else:
            raise ValueError(f"unknown blur {blur!r}: lines or shake")
        # conv2d correlates; the flipped kernel makes it a convolution.
        blurred = F.conv2d(crop[:, None], kernel.flip(0, 1)[None, None])[:, 0]
        inner = (blurred.shape[-1] - size) // 2
        blurred = blurred[:, inner : inner + size, inner : inner + size]
        if noisy:
            noise = draw_degradation(rng, NOISE_ONLY)
            blurred = torch.from_numpy(add_sensor_noise(blurred.numpy(), rng, noise.shot, noise.read))
        blurry.append(torch.round(linear_to_srgb(blurred.clamp(0, 1)) * 255) / 255)
        sharp.append(linear_to_srgb(crop[:, kernel_size : kernel_size + size, kernel_size : kernel_size + size]))
        targets.append(target)
        kernels.append(kernel)
    return torch.stack(blurry), torch.stack(sharp), torch.stack(targets), torch.stack(kernels)


def kernel_loss(estimate: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """The distance between estimated and true kernels ``(N, k, k)`` (or their autocorrelations), averaged over
    the batch.

    - ``l1``: the L1 distance. Its minimiser is the median of each pixel over the kernels the estimator cannot tell
      apart. Where their shapes vary (curled shake paths of the same length and direction) each pixel off the
      centre is zero in most of them, so L1 teaches kernels collapsed onto their centres.
    - ``l2``: 10 × the squared L2 distance. Its minimiser is their mean, but through the estimator's softmax a thin
      floor of mass over the whole grid costs almost nothing, and its gradient vanishes with the mass it moves.
    - ``ce``: the cross-entropy of the true kernel against the estimate, both read as distributions over pixels.
      Its minimiser is their mean too, and its gradient in the softmax's logits is the plain difference of the
      two kernels, so no mass is left stranded (as long as the estimate stays above the log's floor of 1e-12).
    """
    if kind == "l1":
        return (estimate - target).abs().sum(dim=(1, 2)).mean()
    if kind == "l2":
        return 10 * (estimate - target).square().sum(dim=(1, 2)).mean()
    if kind == "ce":
        return -(target * estimate.clamp_min(1e-12).log()).sum(dim=(1, 2)).mean()
    raise ValueError(f"unknown kernel loss {kind!r}: l1, l2 or ce")


def pretrain(front: WienerFront, frames: list[torch.Tensor], steps: int, lr: float, joint: bool, seed: int,
             batch: int, blur: str, noisy: bool, loss_kind: str = "l1") -> None:
    """One stage: the kernel loss (plus the same loss on the autocorrelation, if the estimator has the power head)
    alone, or (``joint``) with 10 × the Wiener output's L1; AdamW, one-cycle schedule."""
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.AdamW(front.parameters(), lr, betas=(0.9, 0.9), weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=steps, pct_start=0.05)
    size = front.tile
    kernel_size = front.estimator.kernel_size
    with tqdm(range(steps), desc="joint" if joint else "kernels", unit="step") as bar:
        for _ in bar:
            blurry, sharp, targets, true_kernels = draw_batch(rng, frames, size, kernel_size, batch, blur, noisy)
            if joint:
                # Each crop is one tile of the front's size: one estimate per crop.
                restored, per_tile = front.deconvolve(blurry)
                estimate = per_tile.map(lambda field: field[:, 0])
                image_loss = 10 * (restored - sharp).abs().mean()
            else:
                estimate, image_loss = front.estimator(srgb_to_linear(blurry).mean(dim=1)), 0.0
            loss = kernel_loss(estimate.kernels, targets, loss_kind) + image_loss
            if estimate.autocorrelations is not None:
                # Only a front with the power head needs the true autocorrelations.
                loss = loss + kernel_loss(estimate.autocorrelations, kernel_autocorrelation(true_kernels), loss_kind)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(front.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            bar.set_postfix(loss=f"{loss.item():.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="a set in GOPRO layout: train/ gives the sharp frames, test/ scores")
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (a whole model)")
    parser.add_argument("--model", default="sta-fast")
    parser.add_argument("--kernel-size", type=int, default=21, help="31 holds most shake paths (shake_kernel)")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--kernel-steps", type=int, default=1500)
    parser.add_argument("--joint-steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--joint-lr", type=float, default=5e-4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames-per-sequence", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kernels", choices=("lines", "shake"), default="lines",
                        help="straight lines of 4-20 px, or the translation of random hand-held shake")
    parser.add_argument("--noise", action="store_true", help="add the sets' sensor noise to the blurred crops")
    parser.add_argument("--regulariser", choices=REGULARISERS, default="identity", help="the Wiener filter's")
    parser.add_argument("--kernel-loss", choices=KERNEL_LOSSES, default="l1", help="see kernel_loss")
    parser.add_argument("--power", action="store_true",
                        help="estimate the kernels' expected power spectrum too (KernelEstimator's power head); the "
                             "filter needs the mean autocorrelation, which --kernel-loss ce (not l1) fits")
    args = parser.parse_args()
    if not (args.root / "train").is_dir():
        parser.error(f"{args.root} has no train/ folder of sequences")
    if min(args.kernel_steps, args.joint_steps, args.batch, args.frames_per_sequence) < 1:
        parser.error("steps, batch and frames per sequence must be 1 or more")
    torch.manual_seed(args.seed)
    model = create_model(args.model, deconv_kernel=args.kernel_size, deconv_tile=args.tile,
                         deconv_regulariser=args.regulariser, deconv_power=args.power)
    # A crop is a tile with the blur's context on each side (`draw_batch`).
    span = args.tile + 2 * args.kernel_size
    frames = [f for f in sharp_frames(args.root, args.frames_per_sequence) if min(f.shape[1:]) > span]
    if not frames:
        parser.error(f"{args.root / 'train'} has no sharp frames larger than {span} px")
    print(f"{len(frames)} sharp frames larger than {span} px from {args.root / 'train'}")
    for stage, (steps, lr) in enumerate(((args.kernel_steps, args.lr), (args.joint_steps, args.joint_lr))):
        pretrain(model.front, frames, steps, lr, stage == 1, args.seed + stage, args.batch, args.kernels, args.noise,
                 args.kernel_loss)
    save_weights(args.out, model)
    print(f"Wrote {args.out}")
    score_front(args.root, args.out, frames_per_sequence=8)


if __name__ == "__main__":
    main()
