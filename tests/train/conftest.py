"""Fixtures for training tests: a tiny dataset of real-photo sequences and a tiny model config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from vdeblur.io.images import write_image
from vdeblur.train.config import RunConfig, load_config

# A few-thousand-parameter STANet: fast enough to train a handful of steps in a test.
TINY_STA = {"width": 8, "growth": [4, 8, 8], "num_layers": 2}


def write_generic_dataset(root: Path, sequences: int = 2, frames: int = 5, height: int = 40, width: int = 48) -> Path:
    """Sequences ``<root>/seqN/{blur,sharp}/NNNN.png``: a panning crop of a photograph and a blurred copy."""
    from skimage import data

    photo = data.astronaut().astype(np.float32) / 255.0
    for s in range(sequences):
        for f in range(frames):
            top, left = 60 * s + 2 * f, 100 + 3 * f
            sharp = photo[top : top + height, left : left + width]
            blur = gaussian_filter(sharp, sigma=(1.5, 1.5, 0))
            write_image(root / f"seq{s}" / "sharp" / f"{f:04d}.png", sharp)
            write_image(root / f"seq{s}" / "blur" / f"{f:04d}.png", blur)
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 5-frame 48x40 sequences in the generic layout."""
    return write_generic_dataset(tmp_path_factory.mktemp("data"))


def tiny_config(run_dir: Path, data: Path, **overrides: Any) -> RunConfig:
    """A config training the tiny STANet on ``data``; ``overrides`` use ``section__key=value`` names."""
    pairs = [
        ("run_dir", str(run_dir)), ("data.root", str(data)), ("model.name", "sta-cpu"),
        ("model.kwargs", dict(TINY_STA)), ("data.patch_size", 24), ("data.batch_size", 2),
        ("data.num_workers", 0), ("data.val_sequences", 1), ("data.val_frames_per_sequence", 2),
        ("data.val_crop", None), ("train.max_steps", 4), ("train.val_every", 2), ("train.checkpoint_every", 2),
        ("train.log_every", 1), ("train.device", "cpu"), ("train.threads", 1),
    ]
    pairs += [(key.replace("__", "."), value) for key, value in overrides.items()]
    return load_config(None, pairs)
