"""Every registered model: shapes, gradients, feature caching, input checks, presets and rebuild from kwargs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr

from vdeblur.errors import ConfigError, UserError
from vdeblur.export.graphs import plan_graphs
from vdeblur.layout import to_channels_last
from vdeblur.models import DBLRNet, create_discriminator, create_model, list_models, streams
from vdeblur.models.cost import gflops_per_frame
from vdeblur.models.layers import LocalFusion, stack_frames


def _randomise_zero_parameters(model: torch.nn.Module) -> None:
    # W_o of a new attention block is zero, which blocks every gradient behind it; give it values so the
    # gradient test and the cache test exercise the whole network.
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.1)


def test_list_models_names_the_presets() -> None:
    assert list_models() == [
        "sta-wide", "sta-cpu", "sta-fast", "sta-fullres", "sta-naf", "single-frame", "sta-paper", "dblrnet",
        "dblrnet-cpu",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_model_restores_a_37x53_clip_and_trains_every_parameter(name: str) -> None:
    model = create_model(name)
    _randomise_zero_parameters(model)
    clip = torch.rand(2, model.num_frames, 3, 37, 53)
    out = model(clip)
    assert out.shape == (2, 3, 37, 53)
    assert torch.isfinite(out).all()
    (out - clip[:, model.num_frames // 2]).square().mean().backward()
    without_gradient = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert without_gradient == []


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("name", [n for n in list_models() if streams(create_model(n))])
def test_forward_equals_decode_window_of_cached_frame_features(name: str, channels_last: bool) -> None:
    model = create_model(name).eval()
    _randomise_zero_parameters(model)
    multiple = model.size_multiple
    clip = torch.rand(1, model.num_frames, 3, 3 * multiple, 5 * multiple)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:  # the inference engine's layout: weights and frames NHWC
        to_channels_last(model)
    with torch.no_grad():
        features = [model.encode_frame(clip[:, t].contiguous(memory_format=layout)) for t in range(model.num_frames)]
        cached = model.decode_window(features, clip[:, model.num_frames // 2])
        direct = model(clip)
    torch.testing.assert_close(cached, direct, rtol=1e-5, atol=1e-5)


def _check_grown_model_streams_and_trains(model: torch.nn.Module) -> torch.Tensor:
    """A three-frame model with an added branch: every parameter gets a gradient, and cached features give the
    direct output. Returns the clip used."""
    _randomise_zero_parameters(model)
    clip = torch.rand(1, model.num_frames, 3, 2 * model.size_multiple, 3 * model.size_multiple)
    out = model(clip)
    (out - clip[:, 1]).square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()] == []
    with torch.no_grad():
        features = [model.encode_frame(clip[:, t]) for t in range(model.num_frames)]
        torch.testing.assert_close(model.decode_window(features, clip[:, 1]), out, rtol=1e-5, atol=1e-5)
    return clip


@pytest.mark.parametrize("scale", [1, 2])
def test_a_detail_branch_streams_trains_and_works_at_its_scale(scale: int) -> None:
    model = create_model("sta-fast", width=(8, 8, 8), growth=(4, 4, 4), detail_width=6, detail_scale=scale)
    clip = _check_grown_model_streams_and_trains(model)
    with torch.no_grad():
        # The branch's maps are at 1/scale of the frame, whatever the unshuffle of the levels before it.
        seen = []
        hook = model.detail.blocks.register_forward_hook(lambda _m, _i, output: seen.append(output.shape[-2:]))
        model(clip)
        hook.remove()
    assert tuple(seen[0]) == (clip.shape[-2] // scale, clip.shape[-1] // scale)


@pytest.mark.parametrize("name", [n for n in list_models() if getattr(create_model(n), "supports_stills", False)])
def test_a_still_is_restored_as_a_window_of_identical_frames(name: str) -> None:
    # Single-frame pretraining's cheap path (one encoder pass) must equal the window it stands for.
    model = create_model(name).eval()
    _randomise_zero_parameters(model)
    still = torch.rand(2, 1, 3, 37, 53)
    with torch.no_grad():
        window = model(still.expand(-1, model.num_frames, -1, -1, -1).contiguous())
        torch.testing.assert_close(model(still), window, rtol=1e-5, atol=1e-5)


def test_local_fusion_mixes_the_frames_in_frame_major_channel_order() -> None:
    # The reference: the T frames' features flattened to T·C channels (frame 0's channels first) and mixed.
    block = LocalFusion(channels=4, num_frames=3)
    x = torch.randn(2, 3, 4, 6, 5)
    mixed = torch.relu(torch.nn.functional.conv2d(x.flatten(1, 2), block.mix.weight, block.mix.bias))
    expected = block.refine(torch.relu(block.spread(mixed)))
    for layout in (torch.contiguous_format, torch.channels_last):
        frames = [x[:, t].contiguous(memory_format=layout) for t in range(3)]
        torch.testing.assert_close(block(frames), expected)
        torch.testing.assert_close(block(stack_frames(frames).unbind(1)), expected)


def test_sta_cpu_uses_its_neighbours_and_single_frame_shares_its_backbone() -> None:
    sta = create_model("sta-cpu")
    single = create_model("single-frame")
    assert sta.num_frames == 5 and single.num_frames == 1
    sta_shapes = {n: p.shape for n, p in sta.named_parameters() if not n.startswith("fusions.")}
    assert sta_shapes == {n: p.shape for n, p in single.named_parameters()}
    # Changing a neighbour frame must change the output (the local path lets it in even at initialisation).
    clip = torch.rand(1, 5, 3, 32, 32)
    other = clip.clone()
    other[:, 0] = torch.rand(3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(sta(clip), sta(other))


def test_fourier_branches_stream_and_train_every_parameter() -> None:
    model = create_model("sta-fast", width=(8, 8, 8), growth=(4, 4, 4), fourier_levels=(0, 2))
    assert sorted(model.encoder_fourier) == sorted(model.decoder_fourier) == ["0", "2"]
    _check_grown_model_streams_and_trains(model)


@pytest.mark.parametrize("power", [False, True])
def test_a_deconvolution_front_streams_trains_and_is_the_decoders_base(power: bool) -> None:
    model = create_model("sta-fast", width=(8, 8, 8), growth=(4, 4, 4), deconv_kernel=5, deconv_tile=16,
                         deconv_power=power)
    clip = _check_grown_model_streams_and_trains(model)
    with torch.no_grad():
        # With the decoder's residual zeroed, the output is the front's deconvolution of the reference frame.
        model.head[0].weight.zero_()
        model.head[0].bias.zero_()
        torch.testing.assert_close(model(clip), model.front(clip[:, 1]), rtol=1e-6, atol=1e-6)


def test_a_front_models_cost_is_counted_and_it_refuses_export() -> None:
    model = create_model("sta-fast", width=(8, 8, 8), growth=(4, 4, 4), deconv_kernel=5, deconv_tile=16).eval()
    assert gflops_per_frame(model, 64, 64) > 0  # on the meta device, where autocast does not exist
    with pytest.raises(UserError, match="deconvolution front"):
        plan_graphs(model, 64, 64, streaming=True)


def test_a_frozen_front_keeps_its_weights_through_a_training_step() -> None:
    model = create_model("sta-fast", width=(8, 8, 8), growth=(4, 4, 4), deconv_kernel=5, deconv_tile=16,
                         deconv_frozen=True)
    before = {k: v.clone() for k, v in model.front.state_dict().items()}
    optimiser = torch.optim.AdamW(model.parameters(), weight_decay=0.1)  # as the trainer builds it
    clip = torch.rand(1, 3, 3, 32, 48)
    (model(clip) - clip[:, 1]).square().mean().backward()
    optimiser.step()
    assert all(torch.equal(before[k], v) for k, v in model.front.state_dict().items())
    assert model.head[0].weight.grad is not None


def test_sta_paper_is_factorized_attention_only() -> None:
    model = create_model("sta-paper")
    assert model.model_kwargs == {
        "num_frames": 5, "width": 32, "growth": 32, "num_layers": 5, "num_spatial": 8, "num_temporal": 8,
        "attention_levels": [1, 2], "local_fusion_levels": [], "unshuffle": 1, "block": "rdb", "num_blocks": 1,
        "decoder_num_blocks": None, "attention_window": 0, "attention_norm": False,
        "attention_temperature": 0.0, "detail_width": 0, "detail_blocks": 2, "detail_scale": 1,
        "fourier_levels": [], "deconv_kernel": 0, "deconv_tile": 128, "deconv_frozen": False,
        "deconv_regulariser": "identity", "deconv_power": False,
    }
    assert not any(fusion.local is not None for fusion in model.fusions)


@pytest.mark.parametrize("name", list_models())
def test_model_kwargs_rebuild_the_same_architecture_through_json(name: str) -> None:
    model = create_model(name, **({"num_frames": 3} if name.startswith("sta") else {}))
    kwargs = json.loads(json.dumps(model.model_kwargs))
    rebuilt = create_model(model.model_name, **kwargs)
    assert rebuilt.model_name == name
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }


def test_unknown_names_and_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="Unknown model 'nope'"):
        create_model("nope")
    with pytest.raises(ConfigError, match="no argument 'widht'"):
        create_model("sta-cpu", widht=8)
    with pytest.raises(ConfigError, match="num_frames must be a positive odd number"):
        create_model("sta-cpu", num_frames=4)
    with pytest.raises(ConfigError, match="width must be a positive int or 3 positive ints"):
        create_model("sta-wide", width=[128, 128])


@pytest.mark.parametrize(
    ("name", "kwargs", "problem"),
    [
        ("dblrnet-cpu", {"channels": -1}, "channels must be an integer of at least 1, got -1"),
        ("dblrnet-cpu", {"head_channels": 0}, "head_channels must be an integer of at least 1, got 0"),
        ("dblrnet-cpu", {"num_blocks": -2}, "num_blocks must be an integer of at least 0, got -2"),
        ("dblrnet-cpu", {"spatio_temporal_channels": "16"}, "spatio_temporal_channels must be an integer"),
        ("sta-cpu", {"width": 0}, "width must be an integer of at least 1, got 0"),
        ("sta-cpu", {"num_layers": 2.5}, "num_layers must be an integer of at least 1, got 2.5"),
        ("sta-cpu", {"unshuffle": -4}, "unshuffle must be an integer of at least 1, got -4"),
        ("sta-naf", {"block": "resnet"}, "block must be 'rdb' or 'naf', got 'resnet'"),
        ("sta-naf", {"attention_window": -8}, "attention_window must be 0 (whole map) or a positive tile size"),
        ("sta-naf", {"num_blocks": (2, 2)}, "num_blocks must be a positive int or 3 positive ints"),
        ("sta-fast", {"detail_scale": 3}, "detail_scale must divide unshuffle (4), got 3"),
        # Not checked by the constructor: whatever it raises becomes a ConfigError all the same.
        ("sta-cpu", {"attention_levels": 5}, "'int' object is not iterable"),
    ],
)
def test_bad_argument_values_are_config_errors_naming_model_and_problem(
    name: str, kwargs: dict, problem: str
) -> None:
    # Every case fails before the first layer is allocated, so this stays fast.
    expected = f"Model '{name}' cannot be built from these arguments: {problem}"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        create_model(name, **kwargs)


def test_bad_discriminator_sizes_are_config_errors() -> None:
    expected = "Model 'dblrgan-disc' cannot be built from these arguments: widths[1] must be an integer of at least 1"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        create_discriminator(widths=[8, -1])


@pytest.mark.parametrize("case", ["rank", "even T", "channels", "other T"])
@pytest.mark.parametrize("name", list_models())
def test_wrong_input_shapes_raise_value_error_naming_the_expected_shape(name: str, case: str) -> None:
    model = create_model(name)
    frames = model.num_frames
    expected = re.escape(f"expected a clip of shape (B, T={frames}, C=3, H, W)")
    shape, message = {
        "rank": ((1, 3, 16, 16), expected + ", got a 4-D tensor"),
        "even T": ((1, frames + 1, 3, 16, 16), expected + " with an odd number of frames"),
        "channels": ((1, frames, 4, 16, 16), expected + re.escape(f", got (1, {frames}, 4, 16, 16)")),
        "other T": ((1, frames + 2, 3, 16, 16), expected + re.escape(f", got (1, {frames + 2}, 3, 16, 16)")),
    }[case]
    with pytest.raises(ValueError, match=message):
        model(torch.rand(*shape))


def test_encode_frame_requires_the_size_multiple() -> None:
    model = create_model("sta-cpu")
    assert model.size_multiple == 8
    with pytest.raises(ValueError, match="multiples of 8"):
        model.encode_frame(torch.rand(1, 3, 36, 40))


def test_dblrnet_has_the_paper_sizes() -> None:
    model = create_model("dblrnet")
    # 3->16 and 16->64 Conv3d, 15 residual blocks (bias-free convs + BN), 64->256->256->3 head.
    assert sum(p.numel() for p in model.parameters()) == 1_883_491
    assert model.num_frames == 5
    assert sum(p.numel() for p in create_model("dblrnet", color="y").parameters()) < 1_883_491


def test_dblrnet_y_restores_luma_and_keeps_the_centre_frame_chroma(photo: np.ndarray) -> None:
    model = create_model("dblrnet-cpu", color="y").eval()
    frames = np.stack([np.roll(photo, shift, axis=1) for shift in (-2, -1, 0, 1, 2)])  # (5, H, W, 3)
    clip = torch.from_numpy(frames).permute(0, 3, 1, 2)[None]
    with torch.no_grad():
        out = model(clip)[0].permute(1, 2, 0).double().numpy()
        # scikit-image's studio-range BT.601 YCbCr is an affine map of the full-range one used inside.
        luma = (rgb2ycbcr(frames.astype(np.float64))[..., 0] - 16.0) / 219.0
        expected_luma = model.restore(torch.from_numpy(luma).float()[None, :, None])[0, 0].double().numpy()
    assert np.abs(rgb2ycbcr(out)[..., 1:] - rgb2ycbcr(photo.astype(np.float64))[..., 1:]).max() < 1e-3
    assert np.abs((rgb2ycbcr(out)[..., 0] - 16.0) / 219.0 - expected_luma).max() < 1e-5


def test_dblrnet_rejects_an_unknown_colour() -> None:
    with pytest.raises(ConfigError, match="color must be 'rgb' or 'y'"):
        DBLRNet(color="yuv")


def test_discriminator_gives_one_logit_per_frame_and_trains_every_parameter() -> None:
    disc = create_discriminator()
    logits = disc(torch.rand(3, 3, 37, 53))  # odd sizes: stride-2 stages must not assume even ones
    assert logits.shape == (3,)
    logits.sum().backward()
    assert all(p.grad is not None and p.grad.any() for p in disc.parameters())
    with pytest.raises(ConfigError, match="Unknown discriminator"):
        create_discriminator("patchgan")


def test_sta_cpu_under_bf16_autocast_stays_close_to_float32() -> None:
    model = create_model("sta-cpu").eval()
    _randomise_zero_parameters(model)
    clip = torch.rand(1, 5, 3, 48, 64)
    with torch.no_grad():
        reference = model(clip)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(clip)
    assert torch.isfinite(low).all()
    assert (low.float() - reference).abs().max().item() < 0.05
