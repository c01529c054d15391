"""The speed and memory tooling: FLOP counts against hand counts, report consistency, section replacement."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vdeblur.bench.roofline import conv_gflops
from vdeblur.bench.timing import load_verdict, time_runs
from vdeblur.checkpoint import save_weights
from vdeblur.cli import main
from vdeblur.errors import UserError
from vdeblur.infer.fusion import fusion_available
from vdeblur.models import create_model
from vdeblur.models.cost import gflops_per_frame, measure_cost

from benchlib.fidelity import bf16_fidelity
from benchlib.markdown import replace_section
from benchlib.speedups import measure_speedups

TINY = dict(width=4, growth=4, num_layers=1, num_spatial=2, num_temporal=2, num_frames=3)


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return create_model("sta-cpu", **TINY).eval()


class OneConv(nn.Module):
    """A 'deblurring model' that is a single 3×3 convolution of the centre frame: FLOPs countable by hand."""

    num_frames = 3

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, kernel_size=3, padding=1)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.conv(clip[:, 1])


def test_flops_of_a_single_conv_match_the_hand_count() -> None:
    assert gflops_per_frame(OneConv(), 40, 60) == pytest.approx(2 * 3 * 3 * 9 * 40 * 60 / 1e9)


def test_roofline_flop_formula_matches_flop_counter() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        F.conv2d(torch.empty(1, 16, 30, 20, device="meta"), torch.empty(16, 16, 3, 3, device="meta"), padding=1)
    assert conv_gflops(16, 30, 20) == pytest.approx(counter.get_total_flops() / 1e9)


def test_streaming_flops_of_sta_cpu_match_the_model_table() -> None:
    model = create_model("sta-cpu")
    expected = measure_cost("sta-cpu", 720, 1280).streaming_gflops
    assert gflops_per_frame(model, 720, 1280) == pytest.approx(expected)
    assert next(model.parameters()).device.type == "cpu"  # counted on a meta copy


def test_time_runs_excludes_warmup_and_divides_per_item() -> None:
    calls = []
    timing = time_runs(lambda: calls.append(1), runs=3, warmup=2)
    assert len(calls) == 5 and len(timing.seconds) == 3 and len(timing.warmup_seconds) == 2
    assert timing.per_item(4).seconds == tuple(s / 4 for s in timing.seconds)


def test_replace_section_keeps_other_sections() -> None:
    text = "# Benchmarks\n\n## A\n\nold a\n\n## Speed\n\nold speed\n\n## C\n\nc text\n"
    updated = replace_section(text, "## Speed", "new speed")
    assert updated == "# Benchmarks\n\n## A\n\nold a\n\n## Speed\n\nnew speed\n\n## C\n\nc text\n"
    assert replace_section("# Benchmarks\n", "## Speed", "x") == "# Benchmarks\n\n## Speed\n\nx\n"


@pytest.mark.slow
def test_bench_command_json_is_consistent(tmp_path: Path) -> None:
    weights = tmp_path / "tiny.safetensors"
    save_weights(weights, tiny_model())
    out = tmp_path / "bench.json"
    argv = ["bench", "--model", str(weights), "--sizes", "40x24,24x16", "--runs", "1", "--frames", "2",
            "--precision", "fp32,bf16", "--backend", "torch,onnxruntime", "--roofline-size", "32x32", "--memory",
            "--memory-frames", "3", "--end-to-end", "--json", str(out), "--quiet"]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    cases = {(r["width"], r["height"], r["precision"], r["backend"]) for r in report["speed"]}
    assert cases == {(w, h, p, b) for w, h in ((40, 24), (24, 16)) for p, b in
                     (("fp32", "torch"), ("bf16", "torch"), ("fp32", "onnxruntime"))}
    for row in report["speed"]:
        assert row["model_fps"] > 0 and row["end_to_end_fps"] > 0
        assert row["gflops_per_frame"] == pytest.approx(gflops_per_frame(tiny_model(), row["height"], row["width"]))
        assert row["achieved_gflops"] == pytest.approx(row["gflops_per_frame"] * row["model_fps"])
        roof = report["rooflines"][row["precision"]]["gflops_per_second"]
        assert row["roofline_ratio"] == pytest.approx(row["achieved_gflops"] / roof)
    assert len(report["memory"]) == len(cases)
    for m in report["memory"]:
        assert m["frames"] == 3 and m["peak_bytes"] >= m["model_bytes"] > 0
    assert len(report["load_average_before"]) == 3


def test_bench_rejects_unknown_precision(capsys) -> None:
    assert main(["bench", "--precision", "fp16", "--sizes", "16x16"]) == 2
    assert "Unknown precision" in capsys.readouterr().err


def test_speedups_smoke() -> None:
    results = measure_speedups(tiny_model(), 16, 24, None, runs=1, frames_per_run=2, include_compile=False)
    names = [r.name for r in results]
    assert names[:2] == ["baseline", "channels_last"] and "onnxruntime" in names
    assert ("fused blocks" in names) == fusion_available(torch.device("cpu"), None)
    assert all(r.error is None and r.seconds_per_frame > 0 for r in results)


def test_bf16_fidelity_on_synthetic_clips_is_close() -> None:
    fidelity = bf16_fidelity(tiny_model(), None, count=2, height=16, width=24)
    assert fidelity.source == "synthetic" and fidelity.clips == 2 and fidelity.fp32_vs_sharp is None
    assert math.isinf(fidelity.bf16_vs_fp32) or fidelity.bf16_vs_fp32 > 30
    assert math.isinf(fidelity.fused_vs_plain) or fidelity.fused_vs_plain > 40


def test_load_verdict_judges_the_load_before_the_run() -> None:
    # During the run the benchmark's own threads load the machine; only the load before it tells of other work.
    assert load_verdict(0.1, 2.3, 2).endswith("the machine was quiet")
    assert "other work was running" in load_verdict(1.1, 2.4, 2)


@pytest.mark.slow
def test_bench_under_an_isa_cap_runs_a_child_that_sees_the_cap(tmp_path: Path) -> None:
    weights = tmp_path / "tiny.safetensors"
    save_weights(weights, tiny_model())
    out = tmp_path / "bench.json"
    argv = ["bench", "--model", str(weights), "--sizes", "24x16", "--runs", "1", "--frames", "2", "--precision",
            "fp32", "--roofline-size", "16x16", "--isa", "AVX2", "--json", str(out), "--quiet"]
    assert main(argv) == 0
    (run,) = json.loads(out.read_text())["isa_runs"]
    assert run["cap"] == "AVX2" and run["isa"] == "AVX2"  # the child read the cap from its environment
    assert run["speed"][0]["model"] == str(weights) and run["speed"][0]["model_fps"] > 0


def test_bench_isa_caps_follow_the_cpu(monkeypatch, capsys) -> None:
    from vdeblur import hardware
    from vdeblur.commands.bench import isa_caps

    avx2 = hardware.CpuFeatures("test", frozenset({"avx2", "fma"}))
    monkeypatch.setattr(hardware, "read_cpu_features", lambda: avx2)
    assert isa_caps("all") == ["AVX2"]
    assert isa_caps("avx2,native") == ["AVX2", "native"]
    with pytest.raises(UserError, match="no AVX512_CORE_AMX"):
        isa_caps("AVX512_CORE_AMX")
