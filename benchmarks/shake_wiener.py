"""What a Wiener filter gains on the camera shake's blur, given the kernel, it rotated by 180°, or their mean.

A deconvolution front reads the blur from the autocorrelation of a tile's gradients, which is the same for a
kernel and for it rotated by 180° (so the estimate can at best be right up to that rotation); and it must choose
how to regularise. This measures both choices on sharp crops of a set's training frames, each blurred in linear
light by a fresh `random_shake` kernel centred on its centroid (`front_pretrain.shake_kernel`, as the front is
pretrained), with Gaussian noise of a few levels:

- the kernel: the true one, the true one rotated by 180°, or their mean, the symmetric part that the two
  share (the front's pretraining target, `front_pretrain.draw_batch`), the mean again with the power spectrum the
  two share in the filter's denominator (the filter for a kernel known up to that rotation), or with ``--model``
  the kernels a model's front estimates, with its power spectrum if it estimates one (its kernel size and tile
  then replace ``--kernel-size`` and 128);
- the regulariser: ``identity`` (a flat noise-to-signal ratio) or ``gradient`` (`wiener_deconvolve`).

With ``--model``, a second table compares the lengths and directions of the estimates with the true kernels'
symmetric parts by bins of length.

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
from known_blur import kernel_shape  # noqa: E402

from vdeblur.checkpoint import load_model  # noqa: E402
from vdeblur.models.layers.deconvolution import (  # noqa: E402
    REGULARISERS,
    kernel_autocorrelation,
    linear_to_srgb,
    srgb_to_linear,
    taper_margin,
    wiener_deconvolve,
)

NOISE_LEVELS = (0.0, 0.003, 0.01)  # Gaussian sigma in linear light
WEIGHTS = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
LENGTH_BINS = ((0, 4), (4, 8), (8, 14), (14, 64))  # px, of the kernels' symmetric parts


def length_table(estimates: dict[float, torch.Tensor], targets: torch.Tensor) -> list[str]:
    """Markdown rows: per bin of the targets' lengths (second moments, `kernel_shape`), the median estimated and
    true length, their median ratio and the median error of direction, at each noise level."""
    shapes = np.array([kernel_shape(k.numpy()) for k in targets])
    rows = ["| noise (linear sigma) | bin of true length (px) | crops | estimated length | true length | ratio | "
            "direction error (°) |", "|---|---|---:|---:|---:|---:|---:|"]
    for sigma, kernels in estimates.items():
        found = np.array([kernel_shape(k.numpy()) for k in kernels])
        ratio = found[:, 0] / shapes[:, 0]
        turn = np.abs((found[:, 1] - shapes[:, 1] + 90) % 180 - 90)
        for low, high in LENGTH_BINS:
            inside = (shapes[:, 0] >= low) & (shapes[:, 0] < high)
            if inside.any():
                rows.append(f"| {sigma:g} | {low}-{high} | {inside.sum()} | {np.median(found[inside, 0]):.1f} | "
                            f"{np.median(shapes[inside, 0]):.1f} | {np.median(ratio[inside]):.2f} | "
                            f"{np.median(turn[inside]):.0f} |")
    return rows


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
    mean = (true + rotated) / 2
    # (kernel, expected autocorrelation or None): the last divides by the power the two share (`wiener_deconvolve`).
    variants = {"true kernel": (true, None), "rotated 180°": (rotated, None), "their mean": (mean, None),
                "their mean, their power": (mean, kernel_autocorrelation(true))}
    sharp_crops = torch.stack(sharp)
    print(f"{args.crops} crops of {tile} px, shake kernels up to {size} px; PSNR at the best weight (weight)\n")
    header = ["noise (linear sigma)", "regulariser", "blurry input", *variants]
    header += ["the model's estimate"] if front is not None else []
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    estimates = {}
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
                estimate = front.estimator(tiles.mean(dim=1))
                cells["estimate"] = estimate.kernels, estimate.autocorrelations
                estimates[sigma] = estimate.kernels
        for regulariser in REGULARISERS:
            row = [f"{sigma:g}", regulariser, input_psnr]
            for kernel, power in cells.values():
                scores = [psnr(wiener_deconvolve(windows, kernel, torch.full((args.crops,), w), regulariser, power)
                               [..., margin:-margin, margin:-margin], sharp_crops) for w in WEIGHTS]
                best = int(np.argmax(scores))
                clipped = "*" if best in (0, len(WEIGHTS) - 1) else ""
                row.append(f"{scores[best]:.2f} ({WEIGHTS[best]:g}{clipped})")
            print("| " + " | ".join(row) + " |")
    if estimates:
        print("\nThe estimates' lengths and directions against the kernels' symmetric parts (the front's target):\n")
        print("\n".join(length_table(estimates, mean)))


if __name__ == "__main__":
    main()
