"""What a Wiener filter gains on the camera shake's blur, given the kernel, it rotated by 180°, or their mean.

A deconvolution front reads the blur from the autocorrelation of a tile's gradients, which is the same for a
kernel and for it rotated by 180° (so the estimate can at best be right up to that rotation); and it must choose
how to regularise. This measures both choices on sharp crops of a set's training frames, each blurred in linear
light by a fresh `random_shake` kernel centred on its centroid (`front_pretrain.shake_kernel`, as the front is
pretrained), with Gaussian noise of a few levels:

- the kernel: the true one, the true one rotated by 180°, or their mean, the symmetric part that the two
  share (the front's pretraining target, `front_pretrain.draw_batch`), or with ``--model`` the kernels a model's
  front estimates (its kernel size and tile then replace ``--kernel-size`` and 128);
- the regulariser: ``identity`` (a flat noise-to-signal ratio) or ``gradient`` (`wiener_deconvolve`).

Each cell is the mean PSNR of the crops (sRGB) at the best of a few regularisation weights (an oracle: the front
predicts its own), with that weight; a ``*`` marks a best weight at an end of the grid. The filter sees 2k pixels
of context faded to the mean, as in the front.

Usage:
    python benchmarks/shake_wiener.py /work/data/vdeblur-train-clean [--model W]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from front_pretrain import shake_kernel, sharp_frames  # noqa: E402

from vdeblur.checkpoint import load_model  # noqa: E402
from vdeblur.models.layers.deconvolution import (  # noqa: E402
    REGULARISERS,
    linear_to_srgb,
    srgb_to_linear,
    taper_margin,
    wiener_deconvolve,
)

NOISE_LEVELS = (0.0, 0.003, 0.01)  # Gaussian sigma in linear light
WEIGHTS = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def psnr(restored: torch.Tensor, sharp: torch.Tensor) -> float:
    """Mean over crops of the sRGB PSNR; both linear ``(N, 3, H, W)``."""
    error = (linear_to_srgb(restored.clamp(0, 1)) - linear_to_srgb(sharp)).pow(2).mean(dim=(1, 2, 3))
    return float((-10 * torch.log10(error)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="a set in GOPRO layout; its train/ sharp frames are cropped")
    parser.add_argument("--model", type=Path, help="also score the kernels this model's front estimates")
    parser.add_argument("--kernel-size", type=int, default=31)
    parser.add_argument("--crops", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    front, size, tile = None, args.kernel_size, 128
    if args.model is not None:
        front = getattr(load_model(args.model).eval(), "front", None)
        if front is None:
            raise SystemExit(f"{args.model} has no deconvolution front")
        size, tile = front.estimator.kernel_size, front.tile
    margin = 2 * size
    span = tile + 2 * margin
    frames = [f for f in sharp_frames(args.root, 2) if min(f.shape[1:]) > span + size]
    if not frames:
        raise SystemExit(f"{args.root / 'train'} has no sharp frames larger than {span + size} px")
    kernels, sharp, clean = [], [], []
    for _ in range(args.crops):
        frame = frames[rng.integers(len(frames))]
        y, x = rng.integers(frame.shape[1] - span - size), rng.integers(frame.shape[2] - span - size)
        crop = frame[:, y : y + span + size, x : x + span + size]
        kernel = torch.from_numpy(shake_kernel(rng, size)).float()
        # conv2d correlates; the flipped kernel makes it a convolution.
        clean.append(F.conv2d(crop[:, None], kernel.flip(0, 1)[None, None])[:, 0, :span, :span])
        inner = size // 2 + margin  # blurred pixel j is centred on the crop's pixel j + size // 2
        sharp.append(crop[:, inner : inner + tile, inner : inner + tile])
        kernels.append(kernel)
    true = torch.stack(kernels)
    rotated = true.flip(1, 2)
    variants = {"true kernel": true, "rotated 180°": rotated, "their mean": (true + rotated) / 2}
    sharp_crops = torch.stack(sharp)
    print(f"{args.crops} crops of {tile} px, shake kernels up to {size} px; PSNR at the best weight (weight)\n")
    header = ["noise (linear sigma)", "regulariser", "blurry input", *variants]
    header += ["the model's estimate"] if front is not None else []
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for sigma in NOISE_LEVELS:
        noise_rng = torch.Generator().manual_seed(args.seed)
        blurred = torch.stack(clean)
        blurred = (blurred + sigma * torch.randn(blurred.shape, generator=noise_rng)).clamp(0, 1)
        # 8-bit frames, as a set stores them.
        blurred = srgb_to_linear(torch.round(linear_to_srgb(blurred) * 255) / 255)
        windows = taper_margin(blurred, margin)
        tiles = blurred[..., margin:-margin, margin:-margin]
        input_psnr = f"{psnr(tiles, sharp_crops):.2f}"
        cells = variants.copy()
        if front is not None:
            with torch.no_grad():
                cells["estimate"] = front.estimator(tiles.mean(dim=1))[0]
        for regulariser in REGULARISERS:
            row = [f"{sigma:g}", regulariser, input_psnr]
            for kernel in cells.values():
                scores = [psnr(wiener_deconvolve(windows, kernel, torch.full((args.crops,), w), regulariser)
                               [..., margin:-margin, margin:-margin], sharp_crops) for w in WEIGHTS]
                best = int(np.argmax(scores))
                clipped = "*" if best in (0, len(WEIGHTS) - 1) else ""
                row.append(f"{scores[best]:.2f} ({WEIGHTS[best]:g}{clipped})")
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
