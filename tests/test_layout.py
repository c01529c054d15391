"""Channels-last weights: same outputs, NHWC 4-D weights, and models with 3-D convolutions accepted."""

from __future__ import annotations

import copy

import pytest
import torch

from vdeblur.layout import to_channels_last
from vdeblur.models import create_model


@pytest.mark.parametrize("name", ["sta-cpu", "dblrnet-cpu"])
def test_channels_last_keeps_outputs_and_converts_only_2d_conv_weights(name):
    model = create_model(name).eval()
    converted = to_channels_last(copy.deepcopy(model))
    for tensor in converted.parameters():
        if tensor.dim() == 4:
            assert tensor.is_contiguous(memory_format=torch.channels_last) and tensor.stride(1) == 1
    assert any(p.dim() == 5 for p in converted.parameters()) == (name == "dblrnet-cpu")
    clip = torch.rand(1, model.num_frames, 3, 24, 40)
    with torch.no_grad():
        torch.testing.assert_close(converted(clip), model(clip), rtol=1e-5, atol=1e-5)
