"""Shared fixtures: small real photographs and deterministic seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_torch():
    # Tests compare against references; a fixed seed keeps random weights and inputs reproducible.
    torch.manual_seed(0)
    yield


@pytest.fixture
def photo() -> np.ndarray:
    """A real photograph (scikit-image's astronaut), cropped small, float32 RGB in [0, 1]."""
    from skimage import data

    return (data.astronaut()[100:196, 150:278].astype(np.float32) / 255.0).copy()
