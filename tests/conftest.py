"""Shared fixtures: small real photographs and deterministic seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # `auto` precision and model measure the CPU once and cache it in the user's cache folder; the suite keeps
    # its measurement in a folder of its own (subprocesses inherit the variable) and never touches the user's.
    import os

    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


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
