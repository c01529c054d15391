"""Weights files: a round trip rebuilds the same network, and wrong files fail with the right error."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import save_file

from vdeblur.checkpoint import METADATA_KEY, load_model, load_weights_into, read_weights, save_weights
from vdeblur.errors import CheckpointError, UserError
from vdeblur.models import create_model


def test_round_trip_rebuilds_model_from_metadata_alone(tmp_path):
    model = create_model("dblrnet-cpu").eval()
    save_weights(tmp_path / "w.safetensors", model, {"steps": 7})
    _, metadata = read_weights(tmp_path / "w.safetensors")
    assert metadata["steps"] == 7 and metadata["model"] == "dblrnet-cpu"
    loaded = load_model(tmp_path / "w.safetensors")
    clip = torch.rand(1, model.num_frames, 3, 19, 23)
    with torch.no_grad():
        torch.testing.assert_close(loaded(clip), model(clip), rtol=0, atol=0)


def test_float16_storage_halves_the_file_and_loads_the_rounded_weights_as_float32(tmp_path):
    model = create_model("dblrnet-cpu").eval()
    save_weights(tmp_path / "w32.safetensors", model)
    save_weights(tmp_path / "w16.safetensors", model, dtype=torch.float16)
    size32, size16 = ((tmp_path / f"w{n}.safetensors").stat().st_size for n in (32, 16))
    assert 0.45 < size16 / size32 < 0.55
    loaded = load_model(tmp_path / "w16.safetensors")
    for name, value in loaded.state_dict().items():
        original = model.state_dict()[name]
        assert value.dtype == original.dtype
        expected = original.half().to(original.dtype) if original.is_floating_point() else original
        assert torch.equal(value, expected), name


def test_run_directory_prefers_best_weights(tmp_path):
    best, last = create_model("single-frame"), create_model("single-frame")
    save_weights(tmp_path / "last.safetensors", last)
    save_weights(tmp_path / "best.safetensors", best)
    loaded = load_model(tmp_path)
    for name, tensor in best.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_weights_of_another_architecture_are_refused(tmp_path):
    save_weights(tmp_path / "dblr.safetensors", create_model("dblrnet-cpu"))
    with pytest.raises(CheckpointError, match="dblrnet-cpu"):
        load_weights_into(create_model("single-frame"), tmp_path / "dblr.safetensors")


def test_bad_model_specs_raise_the_matching_error(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_model(tmp_path / "junk.safetensors")
    with pytest.raises(UserError, match="Unknown model 'no-such-net'"):
        load_model("no-such-net")
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "missing.safetensors")


def test_shipped_weights_load_by_their_file_name_even_when_it_is_not_a_preset():
    from vdeblur.checkpoint import shipped_weights_names

    assert {"sta-cpu", "dblrgan-cpu"} <= set(shipped_weights_names())
    gan, net = load_model("dblrgan-cpu"), load_model("dblrnet-cpu")
    # DBLRGAN's generator is a dblrnet-cpu network with its own (adversarially fine-tuned) weights.
    assert gan.model_name == net.model_name == "dblrnet-cpu" and gan.weights_metadata["gan"] is True
    assert any(not torch.equal(a, b) for a, b in zip(gan.state_dict().values(), net.state_dict().values()))


def _weights_with_metadata(path, raw: str):
    save_file({"x": torch.zeros(1)}, str(path), metadata={METADATA_KEY: raw})
    return path


@pytest.mark.parametrize(
    ("raw", "problem"),
    [('{"model": "dblrnet-cpu", ', "is not valid JSON"), ("[1, 2]", "is a JSON list, not an object")],
)
def test_damaged_metadata_is_a_checkpoint_error_naming_the_file(tmp_path, raw, problem):
    path = _weights_with_metadata(tmp_path / "badjson.safetensors", raw)
    for load in (read_weights, load_model, lambda p: load_weights_into(create_model("dblrnet-cpu"), p)):
        with pytest.raises(CheckpointError, match=f"metadata of {re.escape(str(path))} {problem}.*intact copy"):
            load(path)


def test_metadata_with_bad_model_sizes_is_a_checkpoint_error(tmp_path):
    raw = json.dumps({"model": "dblrnet-cpu", "model_kwargs": {"channels": -1}})
    path = _weights_with_metadata(tmp_path / "negative.safetensors", raw)
    problem = "channels must be an integer of at least 1, got -1"
    with pytest.raises(CheckpointError, match=f"{re.escape(str(path))} describes a model .*{problem}"):
        load_model(path)
    path = _weights_with_metadata(tmp_path / "nameless.safetensors", json.dumps({"model_kwargs": {}}))
    with pytest.raises(CheckpointError, match="lacks the model name"):
        load_model(path)


def test_weights_grow_into_a_model_with_a_zero_start_branch_and_compute_the_same_frames(tmp_path):
    small = dict(width=(8, 8, 8), growth=(4, 4, 4))
    trained = create_model("sta-fast", **small).eval()
    save_weights(tmp_path / "w.safetensors", trained, {"steps": 5})
    clip = torch.rand(1, trained.num_frames, 3, 32, 48)
    for scale in (1, 2):
        grown = create_model("sta-fast", detail_width=6, detail_scale=scale, **small).eval()
        with pytest.raises(CheckpointError, match=r"lacks tensor detail\..* and 13 more"):
            load_weights_into(grown, tmp_path / "w.safetensors")  # a plain load stays strict
        metadata = load_weights_into(grown, tmp_path / "w.safetensors", grow=True)
        assert metadata["grown"] == ["detail."] and metadata["steps"] == 5
        with torch.no_grad():
            torch.testing.assert_close(grown(clip), trained(clip), rtol=0, atol=0)
    fourier = create_model("sta-fast", fourier_levels=(0, 1, 2), **small).eval()
    assert load_weights_into(fourier, tmp_path / "w.safetensors", grow=True)["grown"] == [
        "decoder_fourier.", "encoder_fourier."
    ]
    with torch.no_grad():
        torch.testing.assert_close(fourier(clip), trained(clip), rtol=0, atol=0)
    # Growing forgives only the modules that start from zero, not any other missing tensor.
    state, metadata = read_weights(tmp_path / "w.safetensors")
    del state["head.0.weight"]
    save_file(state, str(tmp_path / "cut.safetensors"), metadata={METADATA_KEY: json.dumps(metadata)})
    before = {k: v.clone() for k, v in grown.state_dict().items()}
    with pytest.raises(CheckpointError, match="lacks tensor head.0.weight"):
        load_weights_into(grown, tmp_path / "cut.safetensors", grow=True)
    assert all(torch.equal(v, grown.state_dict()[k]) for k, v in before.items())  # refused before loading
