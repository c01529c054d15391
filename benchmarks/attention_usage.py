"""What the factorized attention of trained weights does: how peaked its maps are, and what it adds.

For each model and each fused level, over the middle 5-frame window of every sequence (a centre crop):
- the entropy of the spatial (A_s), temporal (A_t) and pixel (A_p) maps as a share of a uniform map's (1.000:
  the softmax gives every position the same weight, so the descriptors are plain averages);
- the spread of the logits behind A_s and A_p (their standard deviation across positions and maps) and the RMS
  of the features they are computed from;
- the RMS of the term the block adds to the reference features, relative to those features, and how much of that
  term varies across pixels (its spatial standard deviation over its RMS; 0: the same vector at every pixel);
- how far zeroing the attention's output projections moves the restored frame (grey levels, RMS).

Usage:
    python benchmarks/attention_usage.py --model sta-fast --model sta-wide --data /work/data/vdeblur-bench
"""

from __future__ import annotations

import argparse
import copy
import math
from collections import defaultdict

import numpy as np
import torch

from vdeblur.checkpoint import load_model
from vdeblur.data import find_sequences
from vdeblur.io.images import read_image
from vdeblur.models.layers.attention import FactorizedSTAttention

CROP = 256


def _entropy_share(maps: torch.Tensor, dim: int) -> float:
    """Mean entropy of probability maps along ``dim`` over the entropy of a uniform map of that size."""
    entropy = -(maps.clamp_min(1e-12).log() * maps).sum(dim)
    return float(entropy.mean() / math.log(maps.shape[dim]))


def _rms(tensor: torch.Tensor) -> float:
    return float(tensor.float().pow(2).mean().sqrt())


def _windows(root: str, frames: int) -> list[torch.Tensor]:
    """The middle window of every test sequence, centre-cropped to CROP², as (1, T, 3, H, W)."""
    windows = []
    for sequence in find_sequences(root, split="test"):
        middle = len(sequence.blur) // 2
        images = [read_image(path) for path in sequence.blur[middle - frames // 2 : middle + frames // 2 + 1]]
        height, width = images[0].shape[:2]
        top, left = max(0, (height - CROP) // 2), max(0, (width - CROP) // 2)
        clip = np.stack([image[top : top + CROP, left : left + CROP] for image in images])
        windows.append(torch.from_numpy(clip).permute(0, 3, 1, 2)[None])
    return windows


@torch.no_grad()
def measure(model: torch.nn.Module, windows: list[torch.Tensor]) -> tuple[dict[int, dict[str, float]], float]:
    """Per attention block (in forward order), the mean of each figure over the windows; and the output shift."""
    blocks = [m for m in model.modules() if isinstance(m, FactorizedSTAttention)]
    figures: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def record(block: FactorizedSTAttention, inputs: tuple, output: torch.Tensor) -> None:
        x, ref = inputs
        row = figures[blocks.index(block)]
        a_s, a_t, a_p = block.attention_maps(x, ref)
        row["A_s"].append(_entropy_share(a_s, -1))
        row["A_t"].append(_entropy_share(a_t, -1))
        row["A_p"].append(_entropy_share(a_p, 1))
        features = block.map_features(x)
        spatial_logits = block.spatial_logits(features)
        row["spatial logit spread"].append(float(spatial_logits.std(dim=(2, 3)).mean()))
        row["pixel logit spread"].append(float(block.f_p(features[:, ref]).std(dim=1).mean()))
        row["feature RMS"].append(_rms(x))
        added = output - x[:, ref]
        row["added / reference RMS"].append(_rms(added) / _rms(x[:, ref]))
        row["added spatial std / RMS"].append(_rms(added.std(dim=(2, 3))) / max(_rms(added), 1e-12))

    hooks = [block.register_forward_hook(record) for block in blocks]
    outputs = [model(window) for window in windows]
    for hook in hooks:
        hook.remove()
    zeroed = copy.deepcopy(model)
    for block in zeroed.modules():
        if isinstance(block, FactorizedSTAttention):
            block.out.weight.zero_()
            block.out.bias.zero_()
    shift = [_rms(zeroed(window) - out) * 255 for window, out in zip(windows, outputs)]
    means = {index: {key: float(np.mean(values)) for key, values in row.items()} for index, row in figures.items()}
    return means, float(np.mean(shift))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="shipped name, run folder or weights")
    parser.add_argument("--data", required=True, help="a dataset with a test split (e.g. the benchmark set)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for spec in args.model:
        model = load_model(spec).eval()
        per_block, shift = measure(model, _windows(args.data, model.num_frames))
        print(f"{spec}: zeroing the attention moves the output by {shift:.2f} grey levels RMS")
        for index, row in per_block.items():
            print(f"  block {index}: " + ", ".join(f"{key} {value:.3f}" for key, value in row.items()))


if __name__ == "__main__":
    main()
