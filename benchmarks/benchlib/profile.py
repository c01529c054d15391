"""What limits the speed: where streaming inference spends its time, by op group and by pipeline stage.

:func:`profile_model` runs the model as ``vdeblur deblur`` does (:func:`~vdeblur.bench.throughput.stream_runner`)
under ``torch.profiler`` and sums every op's *self* CPU time into a few groups one can act on: each k×k
convolution shape on its own, 1×1 convolutions, the attention's matmuls and softmaxes, element-wise ops,
layout copies and dtype casts, other ops, and the time spent outside any op (Python, the engine). FLOPs come
from the shapes the profiler recorded (2 per multiply-add, as ``torch.utils.flop_counter`` counts them), so
each group also gets its achieved GFLOP/s.

:func:`profile_pipeline` times each stage of ``Deblurrer.deblur_video`` alone on one generated H.264 video —
decode, conversion to tensors, the model, conversion back, encode — next to the full pipeline, with the CPU
time each used, so that one can see whether the model or the video I/O and its threads set the pace.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.profiler import ProfilerActivity
from torch.profiler import profile as torch_profile

from vdeblur.bench.frames import write_test_video
from vdeblur.bench.throughput import CPU, stream_runner
from vdeblur.bench.timing import time_runs
from vdeblur.infer.compiled import INDUCTOR_OPTIONS
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.io.atomic import atomic_output
from vdeblur.io.images import quantize
from vdeblur.io.video import VideoReader, VideoWriter, iter_video_frames
from vdeblur.precision import precision_name

FLOP_SOURCE = "recorded op shapes (2 FLOPs per multiply-add, as torch.utils.flop_counter)"

CONV_1X1 = "conv 1×1"
# What torch.compile's freezing, and the eager engine's fused blocks (vdeblur.infer.fusion), turn a convolution
# into: a oneDNN call with the following element-wise ops (activation, residual addition) fused in as post-ops,
# so its time includes theirs.
_ONEDNN_CONV = "mkldnn::_convolution_pointwise"
COMPILED_CONV = "conv (oneDNN, post-ops fused)"
# The engine's compile options, with each kernel recorded by the profiler, and the Python wrapper: the C++ one
# records the calls without their input shapes, which the convolution groups need.
_PROFILED_COMPILE = {**INDUCTOR_OPTIONS, "cpp_wrapper": False, "cpp.enable_kernel_profile": True}
ATTENTION = "attention matmul/softmax"
ELEMENTWISE = "element-wise"
LAYOUT = "layout copies and casts"
OTHER = "other ops"
OUTSIDE = "outside ops (Python, engine)"

# Ops that only move or convert data; their self time counts as layout work wherever they are called from
# (autocast's input and weight casts inside a convolution, the copy before a bmm of a transposed operand).
_LAYOUT_OPS = frozenset({
    "aten::to", "aten::_to_copy", "aten::copy_", "aten::clone", "aten::contiguous", "aten::cat", "aten::stack",
    "aten::pixel_shuffle", "aten::pixel_unshuffle", "aten::constant_pad_nd", "aten::replication_pad2d",
    "aten::reflection_pad2d", "aten::pad",
})
_CONV_OPS = frozenset({
    "aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::convolution", "aten::_convolution",
    "aten::mkldnn_convolution",
})
_ATTENTION_OPS = frozenset({
    "aten::matmul", "aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm", "aten::linear", "aten::softmax",
    "aten::_softmax",
})
_ELEMENTWISE_OPS = frozenset({
    "aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::mul", "aten::mul_", "aten::div", "aten::div_",
    "aten::relu", "aten::relu_", "aten::clamp", "aten::clamp_", "aten::clamp_min", "aten::clamp_min_",
    "aten::sigmoid", "aten::sigmoid_", "aten::gelu", "aten::leaky_relu", "aten::leaky_relu_", "aten::where",
})


@dataclass(frozen=True)
class ConvShape:
    """The shape of one convolution call, as the profiler recorded it.

    Attributes:
        kernel: kernel size per spatial axis.
        in_channels: input channels.
        out_channels: output channels.
        out_size: output size per spatial axis (height, width for a 2-D convolution).
        stride: stride per spatial axis.
    """

    kernel: tuple[int, ...]
    in_channels: int
    out_channels: int
    out_size: tuple[int, ...]
    stride: tuple[int, ...]

    @property
    def label(self) -> str:
        """E.g. ``3×3 72→24 @ 320×180``, with ``/2`` for a stride of 2."""
        size = "×".join(str(s) for s in reversed(self.out_size))  # width × height, as frame sizes are written
        stride = "" if set(self.stride) == {1} else f" /{'×'.join(map(str, self.stride))}"
        return f"{'×'.join(map(str, self.kernel))} {self.in_channels}→{self.out_channels} @ {size}{stride}"


@dataclass(frozen=True)
class OpGroup:
    """Time and FLOPs of one group of ops, per output frame.

    Attributes:
        category: ``conv 3×3`` (every kernel with more than one tap has its own, e.g. ``conv 3 (1-D)``),
            :data:`CONV_1X1`, :data:`ATTENTION`, :data:`ELEMENTWISE`, :data:`LAYOUT`, :data:`OTHER` or :data:`OUTSIDE`.
        label: the convolution shape (:attr:`ConvShape.label`) for k×k convolutions, else the category.
        calls_per_frame: calls per frame that start the group: top-level ops, and the classified ops called
            by an unclassified one (a compiled graph's kernels); a convolution's own inner calls do not count.
        ms_per_frame: self CPU time of the group's ops, milliseconds per frame (wall time on the calling
            thread; intra-op threads work inside it).
        share: the group's part of the profiled wall time (all groups sum to 1).
        gflop_per_frame: GFLOPs per frame (convolutions and matmuls; 0 for the rest).
        gflops_per_second: achieved GFLOP/s (None for a group without FLOPs).
        conv: the convolution shape of a k×k group, else None.
    """

    category: str
    label: str
    calls_per_frame: float
    ms_per_frame: float
    share: float
    gflop_per_frame: float
    gflops_per_second: float | None
    conv: ConvShape | None = None


@dataclass(frozen=True)
class ModelProfile:
    """The op-group profile of one streaming run.

    Attributes:
        width: frame width.
        height: frame height.
        precision: ``fp32`` or ``bf16``.
        frames: frames streamed in the profiled run (after a warm-up run of as many).
        wall_ms_per_frame: wall time per frame of the profiled run (the profiler adds a little per op).
        groups: the op groups, largest time first.
        flop_source: how FLOPs were counted.
        backend: ``torch`` (eager) or ``compile``.
    """

    width: int
    height: int
    precision: str
    frames: int
    wall_ms_per_frame: float
    groups: tuple[OpGroup, ...]
    flop_source: str = FLOP_SOURCE
    backend: str = "torch"


class _Tally:
    """Microseconds, FLOPs and calls accumulated for one group."""

    def __init__(self) -> None:
        self.micros = 0.0
        self.flops = 0.0
        self.calls = 0


def profile_model(
    model: nn.Module, height: int, width: int, dtype: torch.dtype | None, frames: int = 8, compile: bool = False,
    fuse: bool | None = None,
) -> ModelProfile:
    """Profile streaming inference of ``frames`` frames of ``height × width`` and group the time by op kind.

    The stream runs through :class:`~vdeblur.infer.engine.WindowEngine` as in
    :func:`~vdeblur.bench.throughput.stream_runner` (which stores the model's weights channels-last, in place),
    once untimed so that oneDNN has picked its kernels, then once under the profiler.

    Args:
        model: a torch model.
        height: frame height.
        width: frame width.
        dtype: ``torch.bfloat16`` for bf16 autocast, None for float32.
        frames: frames per stream; every frame is encoded once and decoded once, so totals divided by
            ``frames`` are the streaming cost per frame.
        compile: profile the ``compile`` backend. Its kernels are compiled with Inductor's kernel profiling
            and a Python wrapper (the C++ one records calls without their shapes), so that each generated
            kernel appears by name (``cpp_fused_cat_…``) and the oneDNN convolutions (with their fused
            post-ops) as ``mkldnn::_convolution_pointwise``; the kernels are those of the C++-wrapped graph.
            This resets Dynamo first, which drops every graph compiled so far in the process.
        fuse: the eager engine's oneDNN-fused blocks (None: the engine's default, fused on the CPU); their
            convolutions are grouped by shape like the compiled ones, one group per part of a dense layer's chain.

    Returns:
        The :class:`ModelProfile`.
    """
    if compile:
        torch._dynamo.reset()  # a graph compiled earlier without kernel profiling would be reused
    run = stream_runner(model, height, width, dtype, frames, compile=_PROFILED_COMPILE if compile else False,
                        fuse=fuse)
    run()
    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        start = time.perf_counter()
        run()
        wall = time.perf_counter() - start
    groups = group_events(prof.events(), wall * 1e6, frames)
    return ModelProfile(
        width, height, precision_name(dtype), frames, wall * 1e3 / frames, tuple(groups),
        backend="compile" if compile else "torch",
    )


def group_events(events: Iterable[Any], wall_micros: float, frames: int) -> list[OpGroup]:
    """Sum the self CPU time and FLOPs of profiler events into :class:`OpGroup` rows, largest time first.

    Args:
        events: ``torch.profiler`` function events (with ``cpu_parent``/``cpu_children``, recorded shapes).
        wall_micros: wall time of the profiled region; what the ops do not account for is :data:`OUTSIDE`.
        frames: frames in the profiled region (the divisor of every per-frame figure).
    """
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    convs: dict[tuple[str, str], ConvShape] = {}
    for top in (e for e in events if e.cpu_parent is None):
        key = _group_of(top, None, convs)
        tallies[key].calls += 1
        stack = [(top, key)]
        while stack:
            event, key = stack.pop()
            tallies[key].micros += event.self_cpu_time_total
            tallies[key].flops += _flops(event)
            # Children of an op that belongs to a group stay in it (a convolution's kernel call, a matmul's
            # mm); children of an unclassified op are classified on their own.
            inherited = None if key[0] == OTHER else key
            for child in event.cpu_children:
                child_key = _group_of(child, inherited, convs)
                if inherited is None and child_key[0] != OTHER:  # a call of its own (a compiled graph's kernel)
                    tallies[child_key].calls += 1
                stack.append((child, child_key))
    traced = sum(t.micros for t in tallies.values())
    total = max(wall_micros, traced)  # a profile can never account for more than the wall time it covers
    tallies[OUTSIDE, OUTSIDE].micros += total - traced
    rows = [
        OpGroup(
            category, label, t.calls / frames, t.micros / 1e3 / frames, t.micros / total if total else 0.0,
            t.flops / 1e9 / frames, t.flops / 1e9 / (t.micros / 1e6) if t.flops and t.micros else None,
            convs.get((category, label)),
        )
        for (category, label), t in tallies.items()
    ]
    return sorted(rows, key=lambda row: -row.ms_per_frame)


def _group_of(
    event: Any, inherited: tuple[str, str] | None, convs: dict[tuple[str, str], ConvShape]
) -> tuple[str, str]:
    """The (category, label) of ``event``'s self time; records the shape of a new convolution group in ``convs``."""
    name = event.name
    if name in _LAYOUT_OPS:
        return LAYOUT, LAYOUT
    if inherited is not None:
        return inherited
    if "cpp_fused_" in name:  # a kernel Inductor generated; its name lists the ops it fuses
        return (LAYOUT, LAYOUT) if "cat" in name.split("cpp_fused_", 1)[1].split("_") else (ELEMENTWISE, ELEMENTWISE)
    if name.startswith(_ONEDNN_CONV):
        shape, _ = _onednn_conv_shape(event)
        key = (COMPILED_CONV, shape.label)
        convs[key] = shape
        return key
    if name in _CONV_OPS:
        shape = _conv_shape(_find_convolution(event))
        if all(k == 1 for k in shape.kernel):
            return CONV_1X1, CONV_1X1
        dims = "" if len(shape.kernel) == 2 else f" ({len(shape.kernel)}-D)"
        key = ("conv " + "×".join(map(str, shape.kernel)) + dims, shape.label)
        convs[key] = shape
        return key
    for category, ops in ((ATTENTION, _ATTENTION_OPS), (ELEMENTWISE, _ELEMENTWISE_OPS)):
        if name in ops:
            return category, category
    return OTHER, OTHER


def _onednn_conv_shape(event: Any) -> tuple[ConvShape, list[int]]:
    """The shape of a ``mkldnn::_convolution_pointwise`` call (any overload), and its weight's shape.

    The overloads take ``(input, weight, …)``, ``(input, other, weight, …)`` and, in place (the name ends in
    ``_``), ``(other, input, weight, …)``, where ``other`` is the output-sized tensor a binary post-op adds; all
    continue with ``bias, padding, stride, dilation, groups``. The padding is the first list argument, and the
    weight comes two places before it.
    """
    shapes, inputs = event.input_shapes, event.concrete_inputs
    pad_at = next(i for i, value in enumerate(inputs) if isinstance(value, list))
    out_channels, _, *kernel = shapes[pad_at - 2]
    padding, stride, dilation = inputs[pad_at : pad_at + 3]
    _, in_channels, *size = shapes[1 if event.name.endswith("_") else 0]
    out_size = tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation, strict=True)
    )
    return ConvShape(tuple(kernel), in_channels, out_channels, out_size, tuple(stride)), shapes[pad_at - 2]


def _find_convolution(event: Any) -> Any:
    """The convolution call at or below ``event`` that carries its arguments in one known order."""
    stack = [event]
    while stack:
        current = stack.pop()
        if _is_convolution_call(current):
            return current
        stack.extend(current.cpu_children)
    raise RuntimeError(f"profiled {event.name} without an aten::convolution call below it")


def _is_convolution_call(event: Any) -> bool:
    """Whether ``event`` is the one call per convolution that carries its arguments: ``aten::convolution``, or
    ``aten::_convolution`` (same leading arguments) where compiled code calls it directly."""
    if event.name == "aten::convolution":
        return True
    parent = event.cpu_parent
    return event.name == "aten::_convolution" and (parent is None or parent.name != "aten::convolution")


def _conv_shape(event: Any) -> ConvShape:
    # aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    (batch, in_channels, *size), (out_channels, _, *kernel) = event.input_shapes[:2]
    stride, padding, dilation, transposed = event.concrete_inputs[3:7]
    if transposed:  # flop_counter counts a transposed convolution over its input positions
        out_size = tuple(size)
    else:
        out_size = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(size, kernel, stride, padding, dilation, strict=True)
        )
    return ConvShape(tuple(kernel), in_channels, out_channels, out_size, tuple(stride))


def _flops(event: Any) -> float:
    """FLOPs of one op from its recorded shapes: convolutions and matrix products, as flop_counter counts."""
    name, shapes = event.name, event.input_shapes
    if _is_convolution_call(event):
        batch = shapes[0][0]
        shape = _conv_shape(event)
        return 2.0 * batch * prod(shapes[1]) * prod(shape.out_size)
    if name.startswith(_ONEDNN_CONV):
        shape, weight = _onednn_conv_shape(event)
        batch = next(dims[0] for dims in shapes if dims)
        return 2.0 * batch * prod(weight) * prod(shape.out_size)
    if name in ("aten::mm", "aten::addmm"):
        (n, k), (_, m) = shapes[-2:]
        return 2.0 * n * k * m
    if name in ("aten::bmm", "aten::baddbmm"):
        (b, n, k), (_, _, m) = shapes[-2:]
        return 2.0 * b * n * k * m
    return 0.0


# ---------------------------------------------------------------------------------------------------- pipeline

DECODE = "decode"
TO_TENSORS = "to tensors"
MODEL = "model"
FROM_TENSORS = "from tensors"
ENCODE = "encode"
FULL = "full pipeline"
STAGES = (DECODE, TO_TENSORS, MODEL, FROM_TENSORS, ENCODE)


@dataclass(frozen=True)
class StageTiming:
    """One stage timed alone.

    Attributes:
        stage: one of :data:`STAGES` or :data:`FULL`.
        seconds_per_frame: median wall seconds per frame.
        cpu_seconds_per_frame: process CPU seconds per frame in the same runs (all threads: decoder and
            encoder threads, torch's intra-op threads); divided by the wall time it is the number of cores busy.
    """

    stage: str
    seconds_per_frame: float
    cpu_seconds_per_frame: float

    @property
    def cores_busy(self) -> float:
        """CPU time over wall time: how many cores the stage kept busy on average."""
        return self.cpu_seconds_per_frame / self.seconds_per_frame


@dataclass(frozen=True)
class PipelineProfile:
    """Each stage of ``deblur_video`` alone, and the whole, on one video.

    Attributes:
        width: frame width.
        height: frame height.
        precision: ``fp32`` or ``bf16``.
        frames: frames in the video.
        runs: timed runs per stage (after one warm-up run).
        codec: the video encoder used by both the encode stage and the full pipeline.
        crf: its quality setting.
        torch_threads: torch's intra-op threads during the measurement.
        stages: :data:`STAGES` in pipeline order, then :data:`FULL`.
        frames_written: what ``deblur_video`` returned.
        output_frames: frames decoded back from the full pipeline's output file.
        model_seconds_in_pipeline: seconds per frame the model's own calls took inside the full pipeline
            (median run); above the *model* stage's time, the reader and writer threads slowed it down.
    """

    width: int
    height: int
    precision: str
    frames: int
    runs: int
    codec: str
    crf: int
    torch_threads: int
    stages: tuple[StageTiming, ...]
    frames_written: int
    output_frames: int
    model_seconds_in_pipeline: float

    def stage(self, name: str) -> StageTiming:
        """The timing of stage ``name``."""
        return next(s for s in self.stages if s.stage == name)

    @property
    def serial_seconds_per_frame(self) -> float:
        """The stages' times added up: what the full pipeline would take with no overlap at all."""
        return sum(self.stage(name).seconds_per_frame for name in STAGES)


def profile_pipeline(
    model: nn.Module, height: int, width: int, dtype: torch.dtype | None, frames: int = 8, runs: int = 3,
    codec: str | None = None, crf: int = 18,
) -> PipelineProfile:
    """Time decode, conversion, model, conversion back and encode of ``deblur_video`` one by one, and the whole.

    Every stage goes through the code the pipeline runs: :class:`~vdeblur.io.video.VideoReader` (H.264 →
    RGB uint8, what ``VideoSource`` wraps), the float conversion ``VideoSource`` and ``Deblurrer`` apply,
    the ``Deblurrer``'s own :class:`~vdeblur.infer.engine.WindowEngine`, the quantisation ``VideoSink``
    applies, and :class:`~vdeblur.io.video.VideoWriter` with the pipeline's codec, CRF and thread count
    (``Deblurrer.codec_threads``, also the decoder's) fed the model's own (quantised) outputs, since an
    encoder's speed depends on what it encodes.

    Args:
        model: a torch model (its weights are made channels-last in place, as ``Deblurrer`` does).
        height: frame height.
        width: frame width.
        dtype: ``torch.bfloat16`` for bf16 autocast, None for float32.
        frames: frames in the generated video.
        runs: timed runs per stage (median), after one warm-up run.
        codec: video encoder (None: the default for ``.mp4``, H.264).
        crf: encoder quality, passed to both the encode stage and ``deblur_video``.
    """
    timed = _TimedModel(model)
    deblurrer = Deblurrer(timed, CPU, precision=precision_name(dtype), tile=0)
    with tempfile.TemporaryDirectory(prefix="vdeblur-profile-") as folder:
        source = write_test_video(Path(folder) / "input.mp4", frames, height, width)
        target = Path(folder) / "output.mp4"
        with VideoReader(source) as reader:
            rate, rotation, color = reader.info.frame_rate, reader.rotation, reader.color
            images = [frame.image for frame in reader]
        tensors = _to_tensors(images)
        outputs = list(deblurrer.engine.run(tensors))  # kept for the stages after the model
        restored = _from_tensors(outputs)

        def decode() -> None:
            with VideoReader(source, threads=deblurrer.codec_threads) as video:
                for _ in video:
                    pass

        def encode() -> None:
            encoded = Path(folder) / "encoded.mp4"
            with atomic_output(encoded) as tmp, VideoWriter(
                tmp, rate, codec=codec, crf=crf, rotation=rotation, color=color, threads=deblurrer.codec_threads,
                destination=encoded,
            ) as writer:
                for image in restored:
                    writer.write(image)

        written: list[int] = []
        in_pipeline: list[float] = []

        def full() -> None:
            before = timed.clock.seconds
            written.append(
                deblurrer.deblur_video(source, target, codec=codec, crf=crf, overwrite=True, progress=False)
            )
            in_pipeline.append((timed.clock.seconds - before) / frames)

        stages = {
            DECODE: decode,
            TO_TENSORS: lambda: _to_tensors(images),
            MODEL: lambda: _drain(deblurrer.engine.run(tensors)),
            FROM_TENSORS: lambda: _from_tensors(outputs),
            ENCODE: encode,
            FULL: full,
        }
        timings = tuple(_time_stage(name, run, runs, frames) for name, run in stages.items())
        output_frames = sum(1 for _ in iter_video_frames(target))
    return PipelineProfile(
        width, height, precision_name(dtype), frames, runs, codec or "libx264", crf, torch.get_num_threads(), timings,
        written[-1], output_frames, statistics.median(in_pipeline[1:]),  # the first run was the warm-up
    )


class _Clock:
    """Seconds added up. Copies of a :class:`_TimedModel` (the engine streams through a fused copy of the model
    it is given) keep adding to the same clock."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __deepcopy__(self, memo: dict) -> _Clock:
        return self


class _TimedModel(nn.Module):
    """``model`` behind the same interface, adding up the wall time of its calls on :attr:`clock`, so that the
    model's share of the full pipeline can be timed without touching the pipeline."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.inner = model
        self.num_frames = int(getattr(model, "num_frames", 1))
        self.size_multiple = int(getattr(model, "size_multiple", 1))
        self.supports_feature_cache = bool(getattr(model, "supports_feature_cache", False))
        self.clock = _Clock()

    def _timed(self, call: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.clock.seconds += time.perf_counter() - start

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """The wrapped model's ``forward``."""
        return self._timed(self.inner, clip)

    def encode_frame(self, frame: torch.Tensor) -> Any:
        """The wrapped model's ``encode_frame``."""
        return self._timed(self.inner.encode_frame, frame)

    def decode_window(self, features: Sequence[Any], reference_frame: torch.Tensor) -> torch.Tensor:
        """The wrapped model's ``decode_window``."""
        return self._timed(self.inner.decode_window, features, reference_frame)


def _to_tensors(images: Sequence[np.ndarray]) -> list[torch.Tensor]:
    # What the reader thread does per frame: VideoSource scales to float32, Deblurrer permutes to (3, H, W).
    return [torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1) for image in images]


def _from_tensors(outputs: Iterable[torch.Tensor]) -> list[np.ndarray]:
    # What the writer thread does per frame before encoding: Deblurrer permutes to (H, W, 3), VideoSink quantises.
    return [quantize(out.permute(1, 2, 0).numpy(), 8) for out in outputs]


def _drain(items: Iterator[object]) -> None:
    for _ in items:
        pass


def _time_stage(name: str, run: Callable[[], object], runs: int, frames: int) -> StageTiming:
    """Median wall and process CPU seconds per frame of ``run`` (one warm-up run first)."""
    cpu: list[float] = []

    def measured() -> None:
        start = time.process_time()
        run()
        cpu.append(time.process_time() - start)

    timing = time_runs(measured, runs).per_item(frames)
    return StageTiming(name, timing.median, statistics.median(cpu[1:]) / frames)
