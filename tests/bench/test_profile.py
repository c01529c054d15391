"""The "what limits it" profiles: op groups against FlopCounterMode, module hooks and a hand-built event tree;
the pipeline's stage table against the file it wrote."""

from __future__ import annotations

import copy
import shutil
from collections import Counter
from dataclasses import dataclass, field

import pytest
import torch
from torch import nn

from vdeblur.bench.throughput import stream_runner
from vdeblur.infer.fusion import fusion_available
from vdeblur.models import create_model
from vdeblur.models.cost import gflops_per_frame

from benchlib.profile import (
    ATTENTION,
    CONV_1X1,
    ELEMENTWISE,
    FULL,
    LAYOUT,
    OTHER,
    OUTSIDE,
    STAGES,
    COMPILED_CONV,
    ConvShape,
    group_events,
    profile_model,
    profile_pipeline,
)

TINY = dict(width=4, growth=4, num_layers=1, num_spatial=2, num_temporal=2, num_frames=3)
# Inductor hands convolutions this small in channels to oneDNN with fused post-ops; TINY's stay aten calls.
SMALL = dict(width=16, growth=16, num_layers=2, num_spatial=2, num_temporal=2, num_frames=3)
HEIGHT, WIDTH, FRAMES = 24, 40, 3


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return create_model("sta-cpu", **TINY).eval()


def _conv_calls(model: nn.Module) -> Counter[ConvShape]:
    """Every convolution module's calls in one stream of FRAMES frames, with the output size it returned."""
    seen: Counter[ConvShape] = Counter()

    def record(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        seen[ConvShape(tuple(module.kernel_size), module.in_channels, module.out_channels,
                       tuple(output.shape[2:]), tuple(module.stride))] += 1

    hooked = copy.deepcopy(model)
    for module in hooked.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            module.register_forward_hook(record)
    stream_runner(hooked, HEIGHT, WIDTH, None, FRAMES, fuse=False)()  # fused blocks call no conv modules
    return seen


@pytest.mark.parametrize("fuse", [False, True], ids=["aten", "fused"])
@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["fp32", "bf16"])
def test_group_flops_add_up_to_flop_counter_and_shares_to_one(dtype: torch.dtype | None, fuse: bool) -> None:
    if fuse and not fusion_available(torch.device("cpu"), dtype):
        pytest.skip("oneDNN's fused convolutions are not available here")
    profile = profile_model(tiny_model(), HEIGHT, WIDTH, dtype, frames=FRAMES, fuse=fuse)
    # gflops_per_frame counts one encode_frame + one decode_window with FlopCounterMode on a meta copy.
    reference = gflops_per_frame(tiny_model(), HEIGHT, WIDTH)
    assert sum(g.gflop_per_frame for g in profile.groups) == pytest.approx(reference)
    assert sum(g.share for g in profile.groups) == pytest.approx(1.0)
    assert all(g.share >= 0 and g.ms_per_frame >= 0 for g in profile.groups)
    categories = {g.category for g in profile.groups}
    # The fused copy sends every 2-D convolution to oneDNN's fused operator.
    convolutions = {COMPILED_CONV} if fuse else {"conv 3×3", CONV_1X1}
    assert convolutions | {ATTENTION, ELEMENTWISE, LAYOUT} <= categories


@pytest.mark.parametrize("fuse", [False, True], ids=["aten", "fused"])
def test_conv_groups_match_the_convolutions_modules_run(fuse: bool) -> None:
    if fuse and not fusion_available(torch.device("cpu"), None):
        pytest.skip("oneDNN's fused convolutions are not available here")
    model = tiny_model()  # one layer per dense block: a fused layer is one call, not a chain of parts
    profile = profile_model(model, HEIGHT, WIDTH, None, frames=FRAMES, fuse=fuse)
    seen = _conv_calls(model)  # the reference: every convolution module's call
    by_shape: Counter[ConvShape] = Counter()  # a shape can have an aten group and a oneDNN group
    for group in profile.groups:
        if group.conv is not None:
            by_shape[group.conv] += group.calls_per_frame
    pooled_1x1 = next((g.calls_per_frame for g in profile.groups if g.category == CONV_1X1), 0.0)
    spatial = {shape: count / FRAMES for shape, count in seen.items() if set(shape.kernel) != {1}}
    assert {shape: calls for shape, calls in by_shape.items() if set(shape.kernel) != {1}} == spatial
    # aten's 1×1 convolutions are pooled in one group; oneDNN's fused ones are grouped by shape.
    pointwise = sum(count for shape, count in seen.items() if set(shape.kernel) == {1}) / FRAMES
    assert pooled_1x1 + sum(c for shape, c in by_shape.items() if set(shape.kernel) == {1}) == pointwise
    assert any(g.category == COMPILED_CONV for g in profile.groups) == fuse


@pytest.mark.slow
@pytest.mark.skipif(not any(map(shutil.which, ("g++", "c++", "clang++"))), reason="Inductor needs a C++ compiler")
def test_compiled_profile_finds_every_convolution_and_the_concatenation_kernels() -> None:
    torch.manual_seed(0)
    model = create_model("sta-cpu", **SMALL).eval()
    # bf16 where oneDNN runs it; on a CPU without bf16 (AVX2 only) Inductor lowers bf16 1×1 convolutions to
    # other kernels, so the test runs in float32 there, where every convolution stays a oneDNN call.
    dtype = torch.bfloat16 if fusion_available(torch.device("cpu"), torch.bfloat16) else None
    eager = profile_model(model, HEIGHT, WIDTH, dtype, frames=FRAMES)
    compiled = profile_model(model, HEIGHT, WIDTH, dtype, frames=FRAMES, compile=True)
    assert compiled.backend == "compile" and eager.backend == "torch"
    # Each convolution module's call is one oneDNN call of its shape (whatever overload the fusion chose), or
    # for the attention's 1-D convolutions an aten call.
    found = {g.conv: g.calls_per_frame for g in compiled.groups if g.conv is not None}
    assert found == {shape: count / FRAMES for shape, count in _conv_calls(model).items()}
    assert any(g.category == COMPILED_CONV for g in compiled.groups)
    eager_conv_flops = sum(g.gflop_per_frame for g in eager.groups if g.category.startswith("conv"))
    compiled_conv_flops = sum(g.gflop_per_frame for g in compiled.groups if g.category.startswith("conv"))
    assert compiled_conv_flops == pytest.approx(eager_conv_flops)
    # All windows ran compiled, so element-wise time can only come from Inductor's generated kernels.
    assert next(g for g in compiled.groups if g.category == ELEMENTWISE).ms_per_frame > 0
    assert sum(g.share for g in compiled.groups) == pytest.approx(1.0)


@dataclass
class FakeEvent:
    """What group_events reads of a torch.profiler FunctionEvent."""

    name: str
    self_cpu_time_total: float
    input_shapes: list = field(default_factory=list)
    concrete_inputs: list = field(default_factory=list)
    cpu_children: list[FakeEvent] = field(default_factory=list)
    cpu_parent: FakeEvent | None = None

    def add(self, *children: FakeEvent) -> FakeEvent:
        for child in children:
            child.cpu_parent = self
            self.cpu_children.append(child)
        return self


def test_group_events_on_a_hand_built_tree() -> None:
    conv = FakeEvent("aten::conv2d", 2, [[1, 8, 10, 12], [4, 8, 3, 3]]).add(
        FakeEvent("aten::to", 3),  # autocast's cast inside the convolution: layout work
        FakeEvent("aten::convolution", 1, [[1, 8, 10, 12], [4, 8, 3, 3], [4]],
                  [None, None, None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1]).add(
            FakeEvent("aten::mkldnn_convolution", 10)),
    )
    reshape = FakeEvent("aten::reshape", 1).add(FakeEvent("aten::bmm", 4, [[2, 3, 5], [2, 5, 7]]))
    relu = FakeEvent("aten::relu_", 5)
    events = [conv, *conv.cpu_children, *conv.cpu_children[1].cpu_children, reshape, *reshape.cpu_children, relu]

    groups = {g.label: g for g in group_events(events, wall_micros=40.0, frames=2)}

    conv_label = "3×3 8→4 @ 6×5 /2×2"  # (10 + 2 - 2 - 1) // 2 + 1 = 5 rows, (12 + 2 - 2 - 1) // 2 + 1 = 6 columns
    expected_micros = {conv_label: 13, LAYOUT: 3, OTHER: 1, ATTENTION: 4, ELEMENTWISE: 5, OUTSIDE: 14}
    assert {label: g.ms_per_frame * 2e3 for label, g in groups.items()} == pytest.approx(expected_micros)
    assert groups[conv_label].gflop_per_frame * 2e9 == pytest.approx(2 * 4 * 8 * 9 * 5 * 6)
    assert groups[ATTENTION].gflop_per_frame * 2e9 == pytest.approx(2 * 2 * 3 * 5 * 7)
    assert groups[conv_label].conv == ConvShape((3, 3), 8, 4, (5, 6), (2, 2))
    assert groups[conv_label].calls_per_frame == 0.5 and groups[LAYOUT].calls_per_frame == 0
    assert groups[ATTENTION].calls_per_frame == 0.5  # a bmm inside an unclassified op is a call of its own
    assert groups[OUTSIDE].share == pytest.approx(14 / 40)


def _onednn(name: str, tensors: list[list[int]], weight: list[int], stride: int = 1) -> FakeEvent:
    """A profiled oneDNN convolution call: ``tensors`` before the weight, then bias, padding 1, stride, dilation 1."""
    shapes = [*tensors, weight, [weight[0]], [], [], [], []]
    values = [None] * (len(tensors) + 2) + [[1, 1], [stride, stride], [1, 1], 1]
    return FakeEvent(name, 1, shapes, values)


def test_compiled_graph_events_are_grouped_by_kernel() -> None:
    """The three overloads of the oneDNN call, Inductor's generated kernels and a bare aten::_convolution."""
    weight = [16, 16, 3, 3]
    plain = _onednn("mkldnn::_convolution_pointwise", [[1, 16, 20, 30]], weight, stride=2)
    # Out of place with a binary post-op: (input, other, weight, ...); in place: (other, input, weight, ...).
    # Equal channel counts and a stride of 2, so only the argument order tells input from output-sized other.
    binary = _onednn("mkldnn::_convolution_pointwise", [[1, 16, 20, 30], [1, 16, 10, 15]], weight, stride=2)
    in_place = _onednn("mkldnn::_convolution_pointwise_", [[1, 16, 10, 15], [1, 16, 20, 30]], weight, stride=2)
    graph = FakeEvent("## Call CompiledFxGraph ##", 2).add(
        plain, binary, in_place,
        FakeEvent("graph_0_cpp_fused_cat_1", 3), FakeEvent("graph_1_cpp_fused_add_cat_relu_4", 5),
        FakeEvent("graph_1_cpp_fused_add_pixel_shuffle_23", 7), FakeEvent("graph_1_cpp_fused_concat_like_9", 11),
        FakeEvent("aten::_convolution", 13, [[1, 8, 5], [2, 8, 3], [2]], [None, None, None, [1], [1], [1], False, [0], 1]),
    )
    groups = {g.label: g for g in group_events([graph, *graph.cpu_children], wall_micros=100.0, frames=1)}

    label = "3×3 16→16 @ 15×10 /2×2"  # (20 + 2 - 2 - 1) // 2 + 1 = 10 rows, 15 columns
    assert groups[label].category == COMPILED_CONV and groups[label].calls_per_frame == 3
    assert groups[label].conv == ConvShape((3, 3), 16, 16, (10, 15), (2, 2))
    assert groups[label].gflop_per_frame * 1e9 == pytest.approx(3 * 2 * 16 * 16 * 9 * 10 * 15)
    assert groups[LAYOUT].ms_per_frame * 1e3 == 3 + 5  # kernels that include a concatenation
    assert groups[ELEMENTWISE].ms_per_frame * 1e3 == 7 + 11  # "concat_like" is not the cat op
    assert groups[LAYOUT].calls_per_frame == 2 and groups[ELEMENTWISE].calls_per_frame == 2
    conv1d = groups["3 8→2 @ 5"]  # a convolution the compiled code calls through aten directly
    assert conv1d.calls_per_frame == 1 and conv1d.gflop_per_frame * 1e9 == pytest.approx(2 * 2 * 8 * 3 * 5)
    assert groups[OTHER].calls_per_frame == 1 and groups[OTHER].ms_per_frame * 1e3 == 2


def test_pipeline_profile_has_every_stage_and_writes_every_frame() -> None:
    frames = 5
    profile = profile_pipeline(tiny_model(), 32, 48, None, frames=frames, runs=1)
    assert [s.stage for s in profile.stages] == [*STAGES, FULL]
    assert all(s.seconds_per_frame > 0 and s.cpu_seconds_per_frame >= 0 for s in profile.stages)
    assert profile.frames_written == frames and profile.output_frames == frames
    # The model's own calls are part of the full pipeline's time.
    assert 0 < profile.model_seconds_in_pipeline <= profile.stage(FULL).seconds_per_frame
