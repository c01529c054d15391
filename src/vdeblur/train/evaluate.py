"""Scoring a restoration method on whole sequences with the published PSNR/SSIM protocol."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from vdeblur.data import Sequence
from vdeblur.io.images import read_image, write_image
from vdeblur.metrics import MetricTable, to_uint8

# Maps a stream of blurred frames (3, H, W) to one restored frame per input, in order.
Restorer = Callable[[Iterable[torch.Tensor]], Iterator[torch.Tensor]]


def identity_restorer(frames: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
    """The blurred input itself: the baseline row of a results table."""
    yield from frames


def _frames(paths: list[Path]) -> Iterator[torch.Tensor]:
    for path in paths:
        yield torch.from_numpy(read_image(path).transpose(2, 0, 1).copy())


def evaluate_sequences(
    sequences: list[Sequence],
    restore: Restorer,
    save_outputs: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Restore every frame of every sequence and score it against its sharp frame.

    Args:
        sequences: the test sequences.
        restore: the method (a model in a sliding window, or `identity_restorer`).
        save_outputs: if given, each restored frame is written as ``<dir>/<sequence>/<frame stem>.png``.
        progress: show a progress bar over all frames.

    Returns:
        The `MetricTable` summary: ``psnr``, ``ssim`` (frame means), ``sequence_mean``, ``sequences``.
    """
    table = MetricTable()
    total = sum(len(s) for s in sequences)
    with tqdm(total=total, disable=not progress, unit="frame", dynamic_ncols=True) as bar:
        for sequence in sequences:
            bar.set_description(sequence.name)
            for output, sharp_path in zip(restore(_frames(sequence.blur)), sequence.sharp, strict=True):
                restored = to_uint8(output)
                table.add_frame(sequence.name, restored, to_uint8(read_image(sharp_path)))
                if save_outputs is not None:
                    write_image(save_outputs / sequence.name / f"{sharp_path.stem}.png", restored)
                bar.update(1)
    return table.summary()


def markdown_table(summary: dict[str, Any], title: str) -> str:
    """Per-sequence rows and the two means as a Markdown table."""
    lines = [f"| {title} | frames | PSNR (dB) | SSIM |", "|---|---:|---:|---:|"]
    for name, scores in summary["sequences"].items():
        lines.append(f"| {name} | {scores['frames']} | {scores['psnr']:.2f} | {scores['ssim']:.4f} |")
    lines.append(f"| **mean over frames** | {summary['frames']} | {summary['psnr']:.2f} | {summary['ssim']:.4f} |")
    seq = summary["sequence_mean"]
    lines.append(f"| **mean over sequences** | {len(summary['sequences'])} | {seq['psnr']:.2f} | {seq['ssim']:.4f} |")
    return "\n".join(lines)

