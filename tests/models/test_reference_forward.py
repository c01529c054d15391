"""Models against forward passes written out from their descriptions with torch.nn.functional only."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vdeblur.models import create_model

BN_EPS = 1e-5  # PyTorch's BatchNorm default, as the model's layers use it


def _randomise(model: torch.nn.Module) -> None:
    """Non-trivial values everywhere: default BatchNorm (γ=1, β=0, mean 0, var 1) would hide a wrong BN wiring."""
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 2.0)
            elif name.endswith(("running_mean", "bias")) or tensor.dim() == 1:
                tensor.uniform_(-0.3, 0.3)
            else:
                fan_in = tensor[0].numel()
                tensor.normal_(0.0, 1.0 / fan_in**0.5)


def _bn(x: torch.Tensor, sd: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    return F.batch_norm(x, sd[f"{prefix}.running_mean"], sd[f"{prefix}.running_var"], sd[f"{prefix}.weight"],
                        sd[f"{prefix}.bias"], training=False, eps=BN_EPS)


def _dblrnet_reference(clip: torch.Tensor, sd: dict[str, torch.Tensor], num_blocks: int, residual: bool) -> torch.Tensor:
    """DBLRNet (Zhang et al. 2018): two 3×3×3 convs without temporal padding fold 5 frames into one map (each
    followed by ReLU); residual blocks conv-BN-ReLU-conv-BN + identity; a long skip around all blocks; a head
    conv-ReLU-conv-ReLU-conv; optionally the blurry centre frame added to the output."""
    x = clip.permute(0, 2, 1, 3, 4)  # (B, C, T, H, W)
    x = F.relu(F.conv3d(x, sd["conv3d_1.weight"], sd["conv3d_1.bias"], padding=(0, 1, 1)))
    x = F.relu(F.conv3d(x, sd["conv3d_2.weight"], sd["conv3d_2.bias"], padding=(0, 1, 1)))
    assert x.shape[2] == 1  # 5 -> 3 -> 1 frames
    features = x[:, :, 0]
    y = features
    for i in range(num_blocks):
        p = f"blocks.{i}.body"
        h = F.relu(_bn(F.conv2d(y, sd[f"{p}.0.weight"], padding=1), sd, f"{p}.1"))
        y = y + _bn(F.conv2d(h, sd[f"{p}.3.weight"], padding=1), sd, f"{p}.4")
    y = y + features
    y = F.relu(F.conv2d(y, sd["head.0.weight"], sd["head.0.bias"], padding=1))
    y = F.relu(F.conv2d(y, sd["head.2.weight"], sd["head.2.bias"], padding=1))
    y = F.conv2d(y, sd["head.4.weight"], sd["head.4.bias"], padding=1)
    return y + clip[:, 2] if residual else y


@pytest.mark.parametrize("residual", [True, False])  # dblrnet-cpu adds the centre frame; the paper's model does not
def test_dblrnet_matches_a_functional_reference(residual: bool) -> None:
    torch.manual_seed(0)
    model = create_model("dblrnet-cpu", spatio_temporal_channels=6, channels=8, num_blocks=2, head_channels=8,
                         global_residual=residual)
    _randomise(model)
    model.eval()
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    clip = torch.rand(1, 5, 3, 20, 24)
    with torch.no_grad():
        out = model(clip)
    expected = _dblrnet_reference(clip.double(), {k: v.double() for k, v in sd.items()}, 2, residual)
    assert out.shape == (1, 3, 20, 24)
    assert expected.abs().max() > 0.1  # a reference that is not trivially near zero
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=0)
    # Evaluation must not move the running statistics.
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, sd[key], atol=0, rtol=0)


# A tiny sta-cpu (pixel-unshuffle ×2, so sizes must be multiples of 8 inside); T=3, reference frame 1.
TINY_STA = dict(width=4, growth=4, num_layers=1, num_spatial=2, num_temporal=2, num_frames=3)


def _tiny_sta() -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model("sta-cpu", **TINY_STA).eval()
    with torch.no_grad():  # zero-initialised projections (the attention's output) get values, so every path is on
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.1)
    return model


def test_stanet_with_a_zero_head_returns_the_centre_frame_at_an_odd_size() -> None:
    model = _tiny_sta()
    assert model.size_multiple == 8
    head_conv = model.head[0]
    assert isinstance(head_conv, torch.nn.Conv2d)
    with torch.no_grad():
        head_conv.weight.zero_()
        head_conv.bias.zero_()
    clip = torch.rand(2, 3, 3, 37, 53)  # neither side a multiple of 8: padded inside, cropped back
    with torch.no_grad():
        out = model(clip)
    assert out.shape == (2, 3, 37, 53)
    assert torch.equal(out, clip[:, 1])  # the residual is added to frame T // 2, not its neighbours


def test_stanet_pads_bottom_right_by_replication_and_crops_back() -> None:
    """The docstrings: any H, W, padded inside (``pad_to_multiple``: bottom/right, replicate) and cropped back."""
    model = _tiny_sta()
    clip = torch.rand(1, 3, 3, 37, 53)
    with torch.no_grad():
        out = model(clip)
        # The same padding done by hand, to a size the model takes as it is (40×56).
        by_hand = clip.flatten(0, 1)
        by_hand = F.pad(by_hand, (0, 56 - 53, 0, 40 - 37), mode="replicate").reshape(1, 3, 3, 40, 56)
        expected = model(by_hand)[..., :37, :53]
    assert out.shape == (1, 3, 37, 53)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
    # The network's residual is non-zero at (nearly) every pixel: the previous test's identity was not vacuous.
    assert ((out - clip[:, 1]).abs() > 1e-4).float().mean() > 0.95
