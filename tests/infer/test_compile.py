"""The torch.compile backend: the eager outputs, and an eager fall-back (with one warning) if compilation fails."""

from __future__ import annotations

import shutil
import warnings

import pytest
import torch
from torch._dynamo.exc import TorchDynamoException

from .conftest import tiny_model
from vdeblur.infer import compiled
from vdeblur.infer.memory import tensors_in
from vdeblur.infer.compiled import CompileFallbackWarning, compile_failures_raise
from vdeblur.infer.deblurrer import Deblurrer


def _frames(count: int = 4) -> list[torch.Tensor]:
    torch.manual_seed(3)
    return [torch.rand(3, 45, 67) for _ in range(count)]  # odd size: padded and cropped back; streamed without
    # scene cuts below, which would find one between every two noise frames (each window one repeated frame)


@pytest.mark.slow
@pytest.mark.skipif(not any(map(shutil.which, ("g++", "c++", "clang++"))), reason="Inductor needs a C++ compiler")
def test_compiled_stream_equals_the_eager_stream() -> None:
    frames = _frames()
    eager = Deblurrer(tiny_model(), device="cpu", precision="fp32", scene_cuts=False)
    by_compile = Deblurrer(tiny_model(), device="cpu", precision="fp32", backend="compile", scene_cuts=False)
    assert by_compile.engine.cache_features  # so encode_frame and decode_window are the compiled calls
    with compile_failures_raise():  # an eager fall-back would make the comparison meaningless
        outputs = list(by_compile.deblur_frames(frames))
    for expected, got in zip(eager.deblur_frames(frames), outputs, strict=True):
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def _failing_compile(error: Exception):
    def fake_compile(function, **_options):
        def compiled_function(*_args, **_kwargs):
            raise error

        return compiled_function

    return fake_compile


def test_a_failed_compilation_falls_back_to_eager_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled.torch, "compile", _failing_compile(TorchDynamoException("no C++ compiler")))
    frames = _frames()
    # The fall-back runs the plain model, not the fused copy of the torch backend (which rounds differently on
    # some CPUs: 4e-7 on an AVX2-only one).
    expected = list(Deblurrer(tiny_model(), device="cpu", precision="fp32", fuse=False).deblur_frames(frames))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = list(Deblurrer(tiny_model(), device="cpu", precision="fp32", backend="compile").deblur_frames(frames))
    assert [str(w.message) for w in caught if w.category is CompileFallbackWarning] == [
        "torch.compile failed (TorchDynamoException: no C++ compiler); running the model without it."
    ]
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(b, a, atol=0, rtol=0)
    # Benchmarks make the fall-back an error, so that they never time eager runs as compiled ones.
    with compile_failures_raise(), pytest.raises(CompileFallbackWarning):
        list(Deblurrer(tiny_model(), device="cpu", precision="fp32", backend="compile", scene_cuts=False)
             .deblur_frames(frames))


def test_errors_of_the_model_itself_are_not_taken_for_compilation_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled.torch, "compile", _failing_compile(ValueError("expected a frame of shape")))
    with pytest.raises(ValueError, match="expected a frame of shape"):
        list(Deblurrer(tiny_model(), device="cpu", precision="fp32", backend="compile").deblur_frames(_frames()))


def test_every_window_goes_through_the_compiled_graph_without_repeated_tensors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Edge windows repeat a frame's features; the compiled call gets copies instead, so one graph serves all."""
    calls: dict[str, int] = {}

    def recording_compile(function, **_options):
        def compiled_function(*args, **kwargs):
            tensors = tensors_in((args, kwargs))
            assert len({id(t) for t in tensors}) == len(tensors)  # Dynamo would guard on (and recompile for) aliasing
            calls[function.__name__] = calls.get(function.__name__, 0) + 1
            return function(*args, **kwargs)

        return compiled_function

    monkeypatch.setattr(compiled.torch, "compile", recording_compile)
    frames = _frames(count=3)  # with T=3 and 3 frames, both edge windows repeat a frame
    expected = list(Deblurrer(tiny_model(), device="cpu", precision="fp32", fuse=False).deblur_frames(frames))
    got = list(Deblurrer(tiny_model(), device="cpu", precision="fp32", backend="compile").deblur_frames(frames))
    assert calls == {"encode_frame": 3, "decode_window": 3}
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(b, a, atol=0, rtol=0)


@pytest.mark.slow
def test_one_graph_per_method_for_a_whole_video(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Dynamo itself (a counting backend instead of Inductor): edge windows do not add graphs."""
    from torch._dynamo.testing import CompileCounter

    counters: dict[str, CompileCounter] = {}
    real_compile = torch.compile

    def counting_compile(function, **_options):
        name = getattr(function, "__name__", "forward")  # the module itself stands for forward
        counters[name] = CompileCounter()
        return real_compile(function, backend=counters[name], dynamic=False)

    monkeypatch.setattr(compiled.torch, "compile", counting_compile)
    torch._dynamo.reset()
    frames = _frames(count=5)  # T=3: both edge windows repeat a frame, three windows do not
    with compile_failures_raise():
        list(Deblurrer(tiny_model(), device="cpu", precision="fp32", backend="compile").deblur_frames(frames))
    assert {name: counter.frame_count for name, counter in counters.items()} == {
        "forward": 0, "encode_frame": 1, "decode_window": 1,
    }
