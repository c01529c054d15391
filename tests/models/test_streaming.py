"""The streaming contract: which models stream, and what the engine makes of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch

from vdeblur.infer.engine import WindowEngine
from vdeblur.models import DBLRNet, STANet, StreamingModel, create_model, list_models, streams


@pytest.mark.parametrize("name", list_models())
def test_stanets_stream_and_dblrnets_do_not(name: str) -> None:
    model = create_model(name)
    assert streams(model) == isinstance(model, STANet)
    if isinstance(model, STANet):
        assert isinstance(model, StreamingModel)
    else:
        assert isinstance(model, DBLRNet)
        assert not isinstance(model, StreamingModel)  # no encode_frame / decode_window at all
    engine = WindowEngine(model, torch.device("cpu"), tile=0, fuse=False)
    assert engine.cache_features == streams(model)


class _Contract:
    """Every member of the contract, with the flag given."""

    num_frames = 3
    size_multiple = 1

    def __init__(self, supports_feature_cache: bool) -> None:
        self.supports_feature_cache = supports_feature_cache

    def encode_frame(self, frame: torch.Tensor) -> Any:
        return frame

    def decode_window(self, features: Sequence[Any], reference_frame: torch.Tensor) -> torch.Tensor:
        return reference_frame


class _NoDecoder:
    """Says it streams but lacks ``decode_window``."""

    num_frames = 3
    size_multiple = 1
    supports_feature_cache = True

    def encode_frame(self, frame: torch.Tensor) -> Any:
        return frame


def test_a_model_streams_when_it_has_the_whole_contract_and_its_flag_says_so() -> None:
    # An ONNX Runtime model exported without its halves has the methods and says no.
    assert isinstance(_Contract(False), StreamingModel) and not streams(_Contract(False))
    assert streams(_Contract(True))
    assert not isinstance(_NoDecoder(), StreamingModel) and not streams(_NoDecoder())
