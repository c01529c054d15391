"""`VideoDeblurDataset`: windows of T blurred frames around a target, with their sharp middle frame."""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import numpy as np
import torch
from torch.utils.data import Dataset

from vdeblur.data.augment import Augmentation, draw_augmentation, item_rng
from vdeblur.data.layouts import Sequence
from vdeblur.errors import MediaError, UserError
from vdeblur.io.images import read_image


def window_indices(center: int, length: int, num_frames: int) -> list[int]:
    """Frame indices of the ``num_frames``-window centred on ``center`` in a sequence of ``length`` frames.

    Indices beyond either end are replicated from the edge frame, so every frame of a sequence is a target.
    """
    radius = num_frames // 2
    return [min(max(center + offset, 0), length - 1) for offset in range(-radius, radius + 1)]


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


class VideoDeblurDataset(Dataset):
    """Every frame of every sequence as a training/evaluation item.

    Frames are read lazily: an item decodes only the T blurred frames of its window and its sharp target.

    Args:
        sequences: from `find_sequences` (or built by hand).
        num_frames: T, odd; the window is centred on the target and replicated at sequence ends.
        patch_size: side of a square crop whose position is drawn at random (deterministically for the seed,
            epoch and item); ``None`` returns whole frames.
        augment: also draw flips, 90° turns and temporal reversal, the same for all frames and the target.
        seed: base seed of the draws. Call `set_epoch` each epoch to get new draws.
        crops_per_window: crops cut from one decoded window by :meth:`crops`, each drawn on its own
            (decoding PNG/JPEG frames is what limits the data rate on a small CPU, so several crops per
            window divide the decoding work per training item).

    Item:
        ``{"blur": (T, 3, h, w) float32, "sharp": (3, h, w) float32, "key": "<seq>/<frame stem>"}``, in [0, 1];
        ``dataset[i]`` is the first of ``dataset.crops(i)``.

    Raises:
        UserError: ``num_frames`` is even or < 1, no sequence is given, or (when an item is read) a frame is
            unreadable, blurred and sharp sizes differ, or a frame is smaller than ``patch_size``.
    """

    def __init__(
        self,
        sequences: SequenceOf[Sequence],
        num_frames: int,
        patch_size: int | None = None,
        augment: bool = False,
        seed: int = 0,
        crops_per_window: int = 1,
    ) -> None:
        if num_frames < 1 or num_frames % 2 == 0:
            raise UserError(f"The number of frames per window must be odd and positive, got {num_frames}.")
        if patch_size is not None and patch_size < 1:
            raise UserError(f"The patch size must be positive, got {patch_size}.")
        if not sequences:
            raise UserError("The dataset has no sequence.")
        if crops_per_window < 1:
            raise UserError(f"The crops per window must be 1 or more, got {crops_per_window}.")
        self.sequences = list(sequences)
        self.num_frames = num_frames
        self.patch_size = patch_size
        self.augment = augment
        self.seed = seed
        self.crops_per_window = crops_per_window
        self.epoch = 0
        # (sequence index, frame index) for every item, in sequence then frame order.
        self._items = [(s, f) for s, seq in enumerate(self.sequences) for f in range(len(seq))]

    def set_epoch(self, epoch: int) -> None:
        """Select the random draws of ``epoch`` (crops and augmentation differ between epochs)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._items)

    def key(self, index: int) -> str:
        """The item's key, ``"<seq>/<frame stem>"``, without reading any frame."""
        seq_index, frame = self._items[index]
        sequence = self.sequences[seq_index]
        return f"{sequence.name}/{sequence.sharp[frame].stem}"

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        return self.crops(index)[0]

    def crops(self, index: int) -> list[dict[str, torch.Tensor | str]]:
        """The ``crops_per_window`` items cut from item ``index``'s window, which is decoded once."""
        if not 0 <= index < len(self._items):
            raise IndexError(index)
        seq_index, frame = self._items[index]
        sequence = self.sequences[seq_index]
        sharp = read_image(sequence.sharp[frame])
        window = [sequence.blur[i] for i in window_indices(frame, len(sequence), self.num_frames)]
        blur = [read_image(path) for path in window]
        height, width = sharp.shape[:2]
        for path, image in zip(window, blur):
            if image.shape != sharp.shape:
                raise MediaError(
                    f"Frame {path} is {image.shape[1]}x{image.shape[0]} but the sharp frames of sequence "
                    f"{sequence.name} are {width}x{height}."
                )
        if self.patch_size is not None and min(height, width) < self.patch_size:
            raise UserError(
                f"Sequence {sequence.name} has {width}x{height} frames, smaller than the {self.patch_size}-pixel patches."
            )
        # One crop draws from the item's generator; several draw each from its own, numbered by crop.
        if self.crops_per_window == 1:
            rngs = [item_rng(self.seed, self.epoch, index)]
        else:
            rngs = [item_rng(self.seed, self.epoch, index, crop) for crop in range(self.crops_per_window)]
        return [self._cut(blur, sharp, draw_augmentation(rng, height, width, self.patch_size, self.augment), index)
                for rng in rngs]

    def _cut(self, blur: list[np.ndarray], sharp: np.ndarray, aug: Augmentation, index: int) -> dict:
        frames = [_to_tensor(aug.apply(image)) for image in blur]
        return {
            "blur": torch.stack(frames[::-1] if aug.reverse_time else frames),
            "sharp": _to_tensor(aug.apply(sharp)),
            "key": self.key(index),
        }
