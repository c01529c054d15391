"""torch.compile for inference, with a fall-back to eager execution when compilation is not possible.

Inductor's *freezing* turns the weights into constants and pre-packs them for oneDNN, and fuses element-wise
ops (activations, additions) into the convolutions as post-ops; on a CPU with bf16 matrix units that moves
wide models closer to the convolution roofline (BENCHMARKS.md). Without freezing, the compiled STANet ran
slower than eager on the development CPU.

Compilation needs a C++ compiler on the CPU and takes tens of seconds per input shape (a video has one shape,
plus one per distinct edge-tile size when tiled), so it pays only on long videos. If it fails (no compiler,
an unsupported op), the model runs eagerly instead, after one warning: the output is the same.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

# The methods the inference engine calls; each is compiled on its own.
ENGINE_METHODS = ("forward", "encode_frame", "decode_window")
# cpp_wrapper: the generated code calls its kernels from C++ rather than Python (BENCHMARKS.md).
INDUCTOR_OPTIONS = {"cpp_wrapper": True}
# Freezing (weights become constants, pre-packed for oneDNN, with element-wise ops fused in as post-ops) is
# decided when Dynamo hands the graph over, from the global Inductor config, not from the options above;
# so it is patched in around each compiled call.
_FREEZING = {"freezing": True}


class CompileFallbackWarning(RuntimeWarning):
    """torch.compile failed and the model runs eagerly. Benchmarks turn it into an error, so that an eager run
    is never reported as a compiled one."""


@contextlib.contextmanager
def compile_failures_raise() -> Iterator[None]:
    """Inside this context a failed compilation raises :class:`CompileFallbackWarning` instead of falling back."""
    # Past Dynamo's recompile limit a function silently runs eagerly; here that is an error too.
    with warnings.catch_warnings(), torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
        warnings.simplefilter("error", CompileFallbackWarning)
        yield


class _Fallback:
    """Shared by the compiled methods of one model: after the first compilation failure all run eagerly."""

    def __init__(self) -> None:
        self.failed = False

    def call(self, compiled: Callable[..., Any], eager: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.failed:
            # A sliding window repeats the edge frames: the same tensors several times in one call. Dynamo
            # guards on such aliasing and would compile a graph for each pattern (and soon reach its recompile
            # limit); a copy of each repeat, a few feature maps at the ends of a video, keeps one graph.
            args, kwargs = _without_repeats((args, kwargs), set())
            try:
                with torch._inductor.config.patch(_FREEZING):
                    return compiled(*args, **kwargs)
            except Exception as exc:
                if not _is_compilation_error(exc):
                    raise
                self.failed = True
                first_line = (str(exc).strip().splitlines() or [""])[0][:200]
                warnings.warn(
                    f"torch.compile failed ({type(exc).__name__}: {first_line}); running the model without it.",
                    CompileFallbackWarning,
                    stacklevel=3,
                )
        return eager(*args, **kwargs)


def _without_repeats(value: Any, seen: set[int]) -> Any:
    """``value`` (nested lists, tuples, named tuples and dicts) with every tensor after its first occurrence
    replaced by a copy with the same strides (Dynamo guards on strides too)."""
    if isinstance(value, torch.Tensor):
        if id(value) in seen:
            return torch.empty_strided(value.size(), value.stride(), dtype=value.dtype, device=value.device).copy_(value)
        seen.add(id(value))
        return value
    if isinstance(value, (list, tuple)):
        items = [_without_repeats(item, seen) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {key: _without_repeats(item, seen) for key, item in value.items()}
    return value


def _is_compilation_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from Dynamo or Inductor (a failed compilation), not from the model's own code.

    An error raised by the model's own ops while Dynamo traces them (``TorchRuntimeError``) is the model's; the
    eager call would raise it too, so it is not a reason to fall back.
    """
    from torch._dynamo.exc import TorchDynamoException, TorchRuntimeError

    if isinstance(exc, TorchRuntimeError):
        return False
    module = type(exc).__module__
    return isinstance(exc, TorchDynamoException) or module.startswith(("torch._inductor", "torch._dynamo"))


def engine_calls(model: nn.Module, compile: bool | Mapping[str, Any]) -> SimpleNamespace:
    """``model``'s engine methods, as they are or each compiled by torch.compile with Inductor's freezing.

    ``compile`` is False (eager), True (:data:`INDUCTOR_OPTIONS`) or the Inductor options to compile with
    instead (the profiler turns on kernel profiling and turns off the C++ wrapper, which records the calls
    without their input shapes).

    The model itself is left as it is, so code that must run it eagerly (the engine's memory probes, whose
    forward hooks a compiled graph would skip) still can. Each call compiles at its first use for a new input
    shape; it must run under ``torch.no_grad()`` (freezing treats the weights as constants) on the model in the
    layout and on the device it will keep.

    Returns:
        A namespace with the compiled ``forward`` (called as the module would be) and, where the model has
        them, ``encode_frame`` and ``decode_window``.
    """
    fallback = _Fallback()
    calls = SimpleNamespace()
    for name in ENGINE_METHODS:
        if not hasattr(model, name):
            continue
        eager = model if name == "forward" else getattr(model, name)
        if compile is False:  # an empty mapping of options still compiles
            setattr(calls, name, eager)
            continue
        options = dict(INDUCTOR_OPTIONS if compile is True else compile)
        compiled = torch.compile(eager, dynamic=False, options=options)
        setattr(calls, name, functools.partial(fallback.call, compiled, eager))
    return calls
