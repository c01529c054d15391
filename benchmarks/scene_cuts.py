"""What a scene cut does to a temporal model, and what finding it gives back.

Each sequence of a data set's test split is followed by the next one (the last by the first), cropped to a size
both have, as an edited video cuts from one shot to another. The frames on either side of the cut are restored
three ways, with the evaluation protocol of ``vdeblur eval`` (RGB, 8 bit, whole frames): in a stream that does not
look for cuts (each of the two frames then has a neighbour from the other shot), in a stream that does (the
default of ``vdeblur deblur``), and each shot as a stream of its own (the reference: what a perfect cut detector
gives). It also reports where the detector put cuts in the joined streams: exactly one at each join is right.

Usage:
    python benchmarks/scene_cuts.py --model sta-fast --data /work/data/vdeblur-bench [--frames 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from vdeblur.data import find_sequences
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.infer.shots import ShotCounter
from vdeblur.io.images import read_image
from vdeblur.metrics import psnr


def _frames(files: list, height: int, width: int) -> list[torch.Tensor]:
    """The frames of ``files`` centre-cropped to ``height × width``, as ``(3, H, W)`` tensors."""
    out = []
    for file in files:
        image = read_image(file)
        top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
        crop = np.ascontiguousarray(image[top : top + height, left : left + width])
        out.append(torch.from_numpy(crop).permute(2, 0, 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sta-fast", help="shipped name, run folder or weights")
    parser.add_argument("--data", required=True, help="a dataset with a test split (e.g. the benchmark set)")
    parser.add_argument("--frames", type=int, default=3, help="frames taken from each side of a cut")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sequences = find_sequences(args.data, split="test")
    with_cuts = Deblurrer(args.model, "cpu", precision="fp32")
    without = Deblurrer(args.model, "cpu", precision="fp32", scene_cuts=False)
    k = args.frames
    print("| join | input | cuts not looked for | cuts found | each shot alone | cuts found at (0 = the join) |")
    print("|---|---:|---:|---:|---:|---|")
    totals = np.zeros(4)
    for first, second in zip(sequences, sequences[1:] + sequences[:1]):
        sizes = [read_image(s.blur[0]).shape[:2] for s in (first, second)]
        height, width = (min(a, b) // 8 * 8 for a, b in zip(*sizes))
        blur = _frames(first.blur[-k:], height, width) + _frames(second.blur[:k], height, width)
        sharp = _frames(first.sharp[-k:], height, width) + _frames(second.sharp[:k], height, width)
        counter = ShotCounter()
        shots = [counter(frame) for frame in blur]
        cuts = [i - k for i in range(1, len(shots)) if shots[i] != shots[i - 1]]  # 0 is the join
        restored = {
            "blind": list(without.deblur_frames(blur)),
            "found": list(with_cuts.deblur_frames(blur)),
            "alone": list(without.deblur_frames(blur[:k])) + list(without.deblur_frames(blur[k:])),
        }
        beside = (k - 1, k)  # the last frame of one shot and the first of the next

        def score(frames: list[torch.Tensor]) -> float:
            return float(np.mean([psnr(frames[i], sharp[i]) for i in beside]))

        row = [score(blur), score(restored["blind"]), score(restored["found"]), score(restored["alone"])]
        totals += row
        print(f"| {first.name} → {second.name} | " + " | ".join(f"{v:.2f}" for v in row) + f" | {cuts} |")
    print("| mean | " + " | ".join(f"{v:.2f}" for v in totals / len(sequences)) + " | |")


if __name__ == "__main__":
    main()
