"""What a model's neighbouring frames are worth: its score on its windows against its score with every
neighbour replaced by the reference frame.

The attention and the local fusion path are the model's only ways to use the neighbours, so this bounds what
any temporal mechanism in those weights adds: if the neighbours are worth 0.1 dB, zeroing the attention cannot
cost more. Each frame of each test sequence is restored twice, with the evaluation protocol of ``vdeblur eval``
(RGB, 8 bit, whole frames, frame means): once in its sliding window (edge frames repeated), once from a window
of T copies of itself, which is how a still photograph is restored.

It also reports what the training data offers the neighbours: over camera-shake paths drawn as ``vdeblur synth``
draws them, how much each frame's blur length varies within a sequence, and how often a 5-frame window holds a
neighbour blurred by at most half as much as its reference frame.

Usage:
    python benchmarks/temporal_usage.py --model sta-fast --data /work/data/vdeblur-bench
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from vdeblur.data import find_sequences
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.synth.config import SynthConfig
from vdeblur.synth.trajectory import exposure_lengths, random_shake
from vdeblur.train.evaluate import evaluate_sequences

WINDOW = 5


def still_restorer(deblurrer: Deblurrer):
    """Each frame restored on its own, as a one-frame stream: the engine repeats it into all T frames of the
    window, as `vdeblur deblur` restores a photograph, so the model works without its neighbours."""

    def restore(frames: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        for frame in frames:
            yield from deblurrer.deblur_frames([frame])

    return restore


def shake_variation(paths: int = 300, frames: int = 24, seed: int = 0) -> tuple[float, float]:
    """Median coefficient of variation of the per-frame blur length within a sequence, and the share of 5-frame
    windows with a neighbour blurred by at most half the reference frame's length. The blur length only scales a
    path, so one length (10 px) stands for all; exposures are drawn from ``vdeblur synth``'s default range."""
    rng, config = np.random.default_rng(seed), SynthConfig()
    variations, sharper_neighbour = [], []
    for _ in range(paths):
        exposure = rng.uniform(config.exposure_min, config.exposure_max)
        lengths = exposure_lengths(random_shake(rng, frames, exposure, 10.0), frames, exposure)
        variations.append(lengths.std() / lengths.mean())
        for start in range(0, frames - WINDOW + 1, WINDOW):
            window = lengths[start : start + WINDOW]
            neighbours = np.delete(window, WINDOW // 2)
            sharper_neighbour.append(neighbours.min() <= 0.5 * window[WINDOW // 2])
    return float(np.median(variations)), float(np.mean(sharper_neighbour))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="shipped name, run folder or weights")
    parser.add_argument("--data", required=True, help="a dataset with a test split (e.g. the benchmark set)")
    parser.add_argument("--precision", default="fp32", choices=["auto", "fp32", "bf16"])
    args = parser.parse_args()
    variation, share = shake_variation()
    print(f"camera shake as synthesized: per-frame blur length varies by {variation:.2f} (median coefficient of "
          f"variation); {share:.0%} of {WINDOW}-frame windows hold a neighbour with at most half the reference's blur")
    sequences = find_sequences(args.data, split="test")
    print("| weights | windows PSNR / SSIM | neighbours replaced by the reference PSNR / SSIM "
          "| what the neighbours add (dB) |")
    print("|---|---:|---:|---:|")
    for spec in args.model:
        deblurrer = Deblurrer(spec, device="cpu", precision=args.precision, scene_cuts=False)  # as `vdeblur eval`
        windows = evaluate_sequences(sequences, deblurrer.deblur_frames, progress=False)
        stills = evaluate_sequences(sequences, still_restorer(deblurrer), progress=False)
        print(
            f"| {spec} | {windows['psnr']:.3f} / {windows['ssim']:.4f} | {stills['psnr']:.3f} / {stills['ssim']:.4f}"
            f" | {windows['psnr'] - stills['psnr']:+.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
