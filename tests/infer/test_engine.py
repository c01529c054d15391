"""Tiling and feature caching against the model's own full-frame forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from .conftest import tiny_model
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.infer.engine import WindowEngine
from vdeblur.infer.tiling import TileConfig, TilePlan

CPU = torch.device("cpu")


@pytest.mark.parametrize(("length", "tile", "align"), [(300, 96, 1), (517, 128, 8), (150, 168, 8), (64, 200, 4)])
def test_blend_weights_form_a_partition_of_unity(length: int, tile: int, align: int) -> None:
    plan = TilePlan(length, length + 37, tile, TileConfig(context=16, feather=8), align)
    total = torch.zeros(length, length + 37)
    for t in plan.tiles:
        assert t.top % align == 0 and t.left % align == 0
        t.crop(total).add_(t.weight)
    torch.testing.assert_close(total, torch.ones_like(total))


class SmallReceptiveField(nn.Module):
    """Two 3×3 convolutions: each output pixel depends on a 5×5 neighbourhood only."""

    num_frames = 1

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return clip[:, 0] + 0.1 * self.body(clip[:, 0])


def test_tiling_is_exact_when_the_context_covers_the_receptive_field() -> None:
    torch.manual_seed(0)
    model = SmallReceptiveField()
    clip = torch.rand(1, 1, 3, 45, 67)
    with torch.no_grad():
        reference = model(clip).clamp(0, 1)
    engine = WindowEngine(model, CPU, tile=16, tile_config=TileConfig(context=2, feather=3))
    assert len(engine.plan(45, 67).tiles.tiles) > 6
    torch.testing.assert_close(engine.deblur_clip(clip), reference, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cache", [False, True])
def test_tiled_equals_untiled_within_one_level(cache: bool) -> None:
    model = tiny_model()
    frames = [torch.rand(3, 150, 230) for _ in range(4)]
    whole = WindowEngine(model, CPU, tile=0, cache_features=cache, scene_cuts=False)  # noise frames: all cuts
    tiled = WindowEngine(model, CPU, tile=176, cache_features=cache, scene_cuts=False)
    assert len(tiled.plan(150, 230).tiles.tiles) > 1
    for a, b in zip(whole.run(frames), tiled.run(frames), strict=True):
        assert (a - b).abs().max().item() < 1 / 255


def test_feature_cache_equals_forward_on_replicated_windows() -> None:
    """The streamed, cached output of frame i is the model's forward on frames (i-1, i, i+1), edges clamped."""
    model = tiny_model()
    frames = [torch.rand(3, 45, 67) for _ in range(5)]
    with torch.no_grad():
        expected = [
            model(torch.stack([frames[min(max(i + k, 0), 4)] for k in (-1, 0, 1)])[None])[0].clamp(0, 1)
            for i in range(5)
        ]
    engine = WindowEngine(model, CPU, tile=0, cache_features=True, scene_cuts=False)  # noise frames: all cuts
    outputs = list(engine.run(iter(frames)))
    assert len(outputs) == 5
    for out, ref in zip(outputs, expected, strict=True):
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=0)


def test_deblur_frames_streams_with_bounded_buffering() -> None:
    """Lightweight streaming check: never more than a window's worth of frames are waiting inside."""
    deblurrer = Deblurrer(tiny_model(), device="cpu", precision="fp32")
    pulled = 0

    def frames():
        nonlocal pulled
        for i in range(40):
            pulled += 1
            yield np.full((16, 24, 3), i * 6, dtype=np.uint8)

    most_waiting = 0
    for done, out in enumerate(deblurrer.deblur_frames(frames()), start=1):
        assert out.dtype == np.uint8 and out.shape == (16, 24, 3)
        most_waiting = max(most_waiting, pulled - done)
    assert done == 40
    assert most_waiting <= deblurrer.num_frames // 2 + 1


def test_bf16_autocast_stays_close_to_float32() -> None:
    model = tiny_model()
    clip = torch.rand(1, 3, 3, 40, 48)
    fp32 = Deblurrer(model, device="cpu", precision="fp32").deblur_clip(clip)
    bf16 = Deblurrer(model, device="cpu", precision="bf16").deblur_clip(clip)
    assert bf16.dtype == torch.float32
    assert (fp32 - bf16).abs().mean().item() < 0.02


@pytest.mark.parametrize("cache", [False, True])
def test_channels_last_gives_the_outputs_of_the_contiguous_layout(cache: bool) -> None:
    frames = [torch.rand(3, 45, 67) for _ in range(4)]
    contiguous = WindowEngine(tiny_model(), CPU, tile=0, cache_features=cache, channels_last=False, scene_cuts=False)
    nhwc = WindowEngine(tiny_model(), CPU, tile=0, cache_features=cache, scene_cuts=False)  # NHWC: the CPU default
    convs = [p for p in nhwc.model.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert not all(p.is_contiguous(memory_format=torch.channels_last) for p in contiguous.model.parameters()
                   if p.dim() == 4)
    for a, b in zip(contiguous.run(frames), nhwc.run(frames), strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- automatic tiling (tile=None, the default)

def _feature_cache_bytes(model: nn.Module, height: int, width: int) -> int:
    """What caching T+1 frames' encoder features really takes, measured on a frame of that padded size."""
    m = model.size_multiple
    padded = torch.zeros(1, 3, -(-height // m) * m, -(-width // m) * m)
    with torch.no_grad():
        features = model.encode_frame(padded)
    return (model.num_frames + 1) * sum(t.numel() * t.element_size() for t in features)


# (cache_features, free memory as a multiple of the 720p cache, the caching the rule implies). The engine plans
# with half the free memory and caches only when the cache takes at most half of that plan (unless forced), so
# 4x the cache is the exact boundary.
_CACHE_RULE_CASES = [
    (None, 4.0, True),
    (None, 4.0 - 1e-6, False),
    (None, 6.0, True),
    (True, 1.0, True),
    (False, 6.0, False),
]


@pytest.mark.parametrize(("cache_features", "free_in_caches", "expect_cache"), _CACHE_RULE_CASES)
def test_automatic_plan_at_720p_tiles_within_the_budget_and_caches_by_the_rule(
    monkeypatch: pytest.MonkeyPatch, cache_features: bool | None, free_in_caches: float, expect_cache: bool
) -> None:
    from vdeblur.infer import engine as engine_module

    model = tiny_model()
    height, width = 720, 1280
    cache = _feature_cache_bytes(model, height, width)
    free = int(free_in_caches * cache)
    monkeypatch.setattr(engine_module, "available_bytes", lambda device: free)
    engine = WindowEngine(model, CPU, cache_features=cache_features, memory_fraction=0.5)
    plan = engine.plan(height, width)

    assert plan.use_cache is expect_cache
    tiles = plan.tiles.tiles
    assert len(tiles) > 1
    # Interior tiles (and the first) have exactly the planned side; only the last may be longer by the alignment.
    side = tiles[0].width
    assert tiles[0].height == min(side, height)
    assert side % model.size_multiple == 0 and side >= engine_module._MIN_TILE
    assert all(t.top % model.size_multiple == 0 and t.left % model.size_multiple == 0 for t in tiles)
    # The tile is the largest aligned square whose (safety-doubled) activations fit what the cache leaves.
    left = 0.5 * free - (cache if expect_cache else 0)
    fits = left / (2.0 * engine._activation_bpp())
    if side > engine_module._MIN_TILE:
        assert side**2 <= fits < (side + model.size_multiple) ** 2


@pytest.mark.parametrize("free_in_caches", [4.5, 2.0])  # the cache fits / does not fit
def test_automatically_tiled_stream_matches_the_untiled_one(
    monkeypatch: pytest.MonkeyPatch, free_in_caches: float
) -> None:
    from vdeblur.infer import engine as engine_module

    model = tiny_model()
    # The smallest automatic tile is 256 px, so the frame must be larger than that to be tiled at all.
    height, width = 300, 420
    free = int(free_in_caches * _feature_cache_bytes(model, height, width))
    monkeypatch.setattr(engine_module, "available_bytes", lambda device: free)
    auto = WindowEngine(model, CPU, scene_cuts=False)  # noise frames would all be scene cuts
    plan = auto.plan(height, width)
    assert len(plan.tiles.tiles) >= 4 and plan.use_cache is (free_in_caches >= 4)

    frames = [torch.rand(3, height, width) for _ in range(4)]
    whole = WindowEngine(model, CPU, tile=0, scene_cuts=False)
    for a, b in zip(whole.run(frames), auto.run(frames), strict=True):
        assert (a - b).abs().max().item() < 1 / 255
