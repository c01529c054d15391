"""Pretrain a deconvolution front's kernel estimator on sharp frames blurred on the fly by random line kernels.

Trained only through the restoration loss, inside `STANet` or alone, the front's `KernelEstimator` does not learn
to find the blur (BENCHMARKS.md, "A learnt blind deconvolution front"): the gradient a kernel gets through the
Wiener filter is weak beside the noise of the batches. Here it learns from the kernel itself. Every step cuts
sharp crops from a set's training frames, blurs each by a fresh random line (in linear light), and

1. first fits the estimated kernel to the true one (L1 over the kernel's pixels);
2. then adds the Wiener output's L1 error against the sharp crop (weighted 10), which tunes the lengths and the
   noise-to-signal ratio for the deconvolution they serve.

The result is written as a whole model (`--model` with ``deconv_kernel``; everything but the front freshly
initialised) to start `vdeblur train --init-from` from, and the front alone is scored on the set's test frames
(`known_blur.py front`).

Usage:
    python benchmarks/front_pretrain.py /work/data/known-random --out /work/runs/front/init.safetensors
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).parent))
from known_blur import RANDOM_LENGTHS, line_kernel, score_front  # noqa: E402

from vdeblur.checkpoint import save_weights  # noqa: E402
from vdeblur.io.images import read_image  # noqa: E402
from vdeblur.models.layers import WienerFront  # noqa: E402
from vdeblur.models.layers.deconvolution import linear_to_srgb, srgb_to_linear  # noqa: E402
from vdeblur.models.registry import create_model  # noqa: E402


def kernel_on_grid(length: float, angle: float, size: int) -> np.ndarray:
    """`line_kernel` centred on a ``size × size`` grid (cut to it where the line is longer), normalised."""
    line = line_kernel(length, angle)
    span = max(size, line.shape[0])
    grid = np.zeros((span, span))
    centre, half = span // 2, line.shape[0] // 2
    grid[centre - half : centre + half + 1, centre - half : centre + half + 1] = line
    grid = grid[centre - size // 2 : centre + size // 2 + 1, centre - size // 2 : centre + size // 2 + 1]
    return grid / grid.sum()


def sharp_frames(root: Path, per_sequence: int) -> list[torch.Tensor]:
    """Every 7th sharp frame of each training sequence (at most ``per_sequence``), linear ``(3, H, W)``."""
    frames = []
    for sequence in sorted(p for p in (root / "train").iterdir() if (p / "sharp").is_dir()):
        for path in sorted((sequence / "sharp").glob("*.png"))[::7][:per_sequence]:
            frames.append(srgb_to_linear(torch.from_numpy(read_image(path)).permute(2, 0, 1)))
    return frames


def draw_batch(rng: np.random.Generator, frames: list[torch.Tensor], size: int, kernel_size: int, count: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` crops blurred by random lines: sRGB blurry and sharp ``(count, 3, size, size)`` and the kernels."""
    blurry, sharp, kernels = [], [], []
    for _ in range(count):
        frame = frames[rng.integers(len(frames))]
        y = rng.integers(frame.shape[1] - size - 2 * kernel_size)
        x = rng.integers(frame.shape[2] - size - 2 * kernel_size)
        crop = frame[:, y : y + size + 2 * kernel_size, x : x + size + 2 * kernel_size]
        kernel = torch.from_numpy(kernel_on_grid(rng.uniform(*RANDOM_LENGTHS), rng.uniform(0, 180), kernel_size))
        kernel = kernel.float()
        # conv2d correlates; the flipped kernel makes it a convolution.
        blurred = F.conv2d(crop[:, None], kernel.flip(0, 1)[None, None])[:, 0]
        inner = (blurred.shape[-1] - size) // 2
        blurry.append(linear_to_srgb(blurred[:, inner : inner + size, inner : inner + size]))
        sharp.append(linear_to_srgb(crop[:, kernel_size : kernel_size + size, kernel_size : kernel_size + size]))
        kernels.append(kernel)
    return torch.stack(blurry), torch.stack(sharp), torch.stack(kernels)


def pretrain(front: WienerFront, frames: list[torch.Tensor], steps: int, lr: float, joint: bool, seed: int,
             batch: int) -> None:
    """One stage: kernel L1 alone, or (``joint``) with 10 × the Wiener output's L1; AdamW, one-cycle schedule."""
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.AdamW(front.parameters(), lr, betas=(0.9, 0.9), weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=steps, pct_start=0.05)
    size = front.tile
    kernel_size = front.estimator.kernel_size
    with tqdm(range(steps), desc="joint" if joint else "kernels", unit="step") as bar:
        for _ in bar:
            blurry, sharp, true_kernels = draw_batch(rng, frames, size, kernel_size, batch)
            kernels, _ = front.estimator(srgb_to_linear(blurry).mean(dim=1))
            loss = (kernels - true_kernels).abs().sum(dim=(1, 2)).mean()
            if joint:
                loss = loss + 10 * (front(blurry) - sharp).abs().mean()
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
    parser.add_argument("--kernel-size", type=int, default=21)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--kernel-steps", type=int, default=1500)
    parser.add_argument("--joint-steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--joint-lr", type=float, default=5e-4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames-per-sequence", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.root / "train").is_dir():
        parser.error(f"{args.root} has no train/ folder of sequences")
    if min(args.kernel_steps, args.joint_steps, args.batch, args.frames_per_sequence) < 1:
        parser.error("steps, batch and frames per sequence must be 1 or more")
    torch.manual_seed(args.seed)
    model = create_model(args.model, deconv_kernel=args.kernel_size, deconv_tile=args.tile)
    frames = sharp_frames(args.root, args.frames_per_sequence)
    print(f"{len(frames)} sharp frames from {args.root / 'train'}")
    pretrain(model.front, frames, args.kernel_steps, args.lr, False, args.seed, args.batch)
    pretrain(model.front, frames, args.joint_steps, args.joint_lr, True, args.seed + 1, args.batch)
    save_weights(args.out, model)
    print(f"Wrote {args.out}")
    score_front(args.root, args.out, frames_per_sequence=8)


if __name__ == "__main__":
    main()
