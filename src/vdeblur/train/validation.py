"""Validation during training: a few frames of a few held-out sequences, scored with PSNR/SSIM."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vdeblur.data import Sequence, VideoDeblurDataset, find_sequences
from vdeblur.metrics import MetricTable
from vdeblur.precision import autocast_context
from vdeblur.train.config import DataConfig


def validation_sequences(config: DataConfig) -> list[Sequence]:
    """The first ``val_sequences`` sequences of the validation split (empty when there are none)."""
    if config.val_sequences <= 0:
        return []
    root = config.val_root or config.root
    return find_sequences(root, config.layout, config.val_split, config.blur_folder)[: config.val_sequences]


def _centre_crop(tensor: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None:
        return tensor
    height, width = tensor.shape[-2:]
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    return tensor[..., top : top + size, left : left + size]


class Validator:
    """Scores a model on fixed, evenly spaced frames of each validation sequence (centre crops if configured).

    Args:
        sequences: the validation sequences.
        num_frames: the model's T.
        config: frames per sequence and crop size.
    """

    def __init__(self, sequences: list[Sequence], num_frames: int, config: DataConfig) -> None:
        self.crop = config.val_crop
        self.items: list[tuple[str, VideoDeblurDataset, int]] = []
        for sequence in sequences:
            dataset = VideoDeblurDataset([sequence], num_frames)
            count = min(len(dataset), config.val_frames_per_sequence)
            for index in np.unique(np.linspace(0, len(dataset) - 1, count).round().astype(int)):
                self.items.append((sequence.name, dataset, int(index)))

    def __len__(self) -> int:
        return len(self.items)

    @torch.no_grad()
    def run(self, model: nn.Module, device: torch.device, precision: str = "fp32") -> dict[str, float]:
        """Frame-mean ``psnr`` and ``ssim`` of ``model`` (switched to eval mode and back)."""
        was_training = model.training
        model.eval()
        table = MetricTable()
        try:
            for name, dataset, index in self.items:
                item = dataset[index]
                clip = _centre_crop(item["blur"], self.crop).unsqueeze(0).to(device)
                with autocast_context(device, precision):
                    output = model(clip)
                table.add_frame(name, output[0].float().clamp(0, 1), _centre_crop(item["sharp"], self.crop))
        finally:
            model.train(was_training)
        summary = table.summary()
        return {"psnr": summary["psnr"], "ssim": summary["ssim"]}
