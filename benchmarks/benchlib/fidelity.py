"""How much bf16 autocast, and the oneDNN-fused blocks (:mod:`vdeblur.infer.fusion`), change a model's output:
PSNR against the float32 output and the plain blocks' output, and against the sharp ground truth when a
benchmark set is at hand.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vdeblur.bench.frames import pattern_frame
from vdeblur.infer.engine import WindowEngine
from vdeblur.io.images import read_image
from vdeblur.metrics import psnr

CPU = torch.device("cpu")


@dataclass(frozen=True)
class Fidelity:
    """PSNR in dB (8-bit protocol of :func:`vdeblur.metrics.psnr`), averaged over the clips.

    Attributes:
        clips: clips compared.
        source: where the clips came from (a dataset folder, or ``synthetic``).
        bf16_vs_fp32: PSNR of the bf16 output against the float32 output (``inf``: identical after 8-bit
            quantisation).
        fp32_vs_sharp: PSNR of the float32 output against the ground truth (None without ground truth).
        bf16_vs_sharp: PSNR of the bf16 output against the ground truth.
        fused_vs_plain: PSNR of the bf16 output (fused blocks, as the engine runs on the CPU) against the bf16
            output of the plain blocks (``inf``: identical).
        plain_vs_sharp: PSNR of the plain blocks' bf16 output against the ground truth.
        fused: whether the bf16 engine did run the fused blocks (not where oneDNN has no bf16).
    """

    clips: int
    source: str
    bf16_vs_fp32: float
    fp32_vs_sharp: float | None
    bf16_vs_sharp: float | None
    fused_vs_plain: float = math.inf
    plain_vs_sharp: float | None = None
    fused: bool = False


def _mean(values: list[float]) -> float:
    # The mean of PSNRs with an infinite one is infinite; report it as such rather than as nan.
    return math.inf if any(math.isinf(v) for v in values) else float(np.mean(values))


def dataset_clips(root: str | os.PathLike, num_frames: int, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The first ``count`` clips (blurred ``(T, 3, H, W)``, sharp ``(3, H, W)``) of a dataset's test split, one
    per sequence, centred in the sequence."""
    from vdeblur.data import find_sequences

    clips = []
    for sequence in find_sequences(root, split="test")[:count]:
        centre = len(sequence.blur) // 2
        radius, last = num_frames // 2, len(sequence.blur) - 1
        indices = [min(max(centre + k, 0), last) for k in range(-radius, radius + 1)]
        blur = torch.stack([torch.from_numpy(read_image(sequence.blur[i])).permute(2, 0, 1) for i in indices])
        sharp = torch.from_numpy(read_image(sequence.sharp[centre])).permute(2, 0, 1)
        clips.append((blur, sharp))
    return clips


def synthetic_clips(num_frames: int, count: int, height: int, width: int) -> list[torch.Tensor]:
    """``count`` clips ``(T, 3, H, W)`` of the moving pattern (no ground truth)."""
    return [
        torch.stack([torch.from_numpy(pattern_frame(c * num_frames + t, height, width)).permute(2, 0, 1).float() / 255
                     for t in range(num_frames)])
        for c in range(count)
    ]


def bf16_fidelity(
    model: nn.Module, data: str | os.PathLike | None, count: int = 3, height: int = 360, width: int = 640
) -> Fidelity:
    """Compare bf16 and float32 outputs of ``model`` on ``count`` clips.

    Args:
        model: a torch model.
        data: a dataset folder with a ``test`` split (see :func:`vdeblur.data.find_sequences`); None or a
            missing folder uses synthetic clips of ``height × width``.
        count: clips to compare.
        height: synthetic clip height.
        width: synthetic clip width.
    """
    frames = int(getattr(model, "num_frames", 1))
    fp32 = WindowEngine(model, CPU, dtype=None, tile=0)
    bf16 = WindowEngine(model, CPU, dtype=torch.bfloat16, tile=0)
    plain = WindowEngine(model, CPU, dtype=torch.bfloat16, tile=0, fuse=False)
    if data is not None and Path(data).is_dir():
        pairs: list[tuple[torch.Tensor, torch.Tensor | None]] = list(dataset_clips(data, frames, count))
        source = str(data)
    else:
        pairs = [(clip, None) for clip in synthetic_clips(frames, count, height, width)]
        source = "synthetic"
    between, fused_plain, fp32_gt, bf16_gt, plain_gt = [], [], [], [], []
    for blur, sharp in pairs:
        a, b, c = fp32.deblur_clip(blur), bf16.deblur_clip(blur), plain.deblur_clip(blur)
        between.append(psnr(b, a))
        fused_plain.append(psnr(b, c))
        if sharp is not None:
            fp32_gt.append(psnr(a, sharp))
            bf16_gt.append(psnr(b, sharp))
            plain_gt.append(psnr(c, sharp))
    return Fidelity(
        len(pairs), source, _mean(between), _mean(fp32_gt) if fp32_gt else None, _mean(bf16_gt) if bf16_gt else None,
        _mean(fused_plain), _mean(plain_gt) if plain_gt else None, bf16.fused,
    )
