"""The precision and model that `auto` picks, as pure functions of injected CPU flags and measurements."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vdeblur.cli import main
from vdeblur.hardware import ConvSpeed, CpuFeatures, read_cpu_features
from vdeblur.infer.model_choice import FAST_MODEL, GFLOPS_720P, QUALITY_MODEL, choose_model
from vdeblur.models.cost import measure_cost
from vdeblur.precision import autocast_context, autocast_dtype, choose_precision, needs_measurement

AVX2 = frozenset({"sse4_2", "avx", "avx2", "fma"})
AVX512 = AVX2 | {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"}
AVX512_BF16 = AVX512 | {"avx512_bf16"}
AMX = AVX512_BF16 | {"amx_bf16", "amx_tile", "amx_int8"}


def cpu(flags: frozenset[str]) -> CpuFeatures:
    return CpuFeatures("test CPU", flags)


# Figures of the probe convolution (GFLOP/s, 2 threads): the development CPU (AVX-512 BF16, no AMX) measured
# fp32 288 and bf16 149 (issue 16); the AMX machine's roofline was 366 and 1966 (BENCHMARKS.md).
SLOW_BF16 = ConvSpeed(fp32=288.0, bf16=149.0, threads=2)
FAST_BF16 = ConvSpeed(fp32=288.0, bf16=400.0, threads=2)
AMX_SPEED = ConvSpeed(fp32=366.0, bf16=1966.0, threads=2)
AVX2_SPEED = ConvSpeed(fp32=84.0, bf16=None, threads=2)


def test_isa_of_the_flags_and_under_a_cap() -> None:
    assert [cpu(f).isa for f in (frozenset({"sse2"}), AVX2, AVX512, AVX512_BF16, AMX)] == [
        "other", "AVX2", "AVX512_CORE", "AVX512_CORE_BF16", "AVX512_CORE_AMX"]
    # What oneDNN may use under ONEDNN_MAX_CPU_ISA: the flags above the cap are gone.
    assert cpu(AMX).capped("AVX512_CORE_BF16").flags == AVX512_BF16
    assert cpu(AMX | {"avx512_fp16"}).capped("avx2").flags == AVX2
    assert cpu(AVX2).capped("AVX512_CORE_AMX").flags == AVX2
    assert cpu(AMX).capped(None) == cpu(AMX)


def test_cpu_features_read_from_cpuinfo_and_the_environment(tmp_path: Path, monkeypatch) -> None:
    info = tmp_path / "cpuinfo"
    flags = " ".join(sorted(AMX))
    info.write_text(f"processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: {flags}\n\nprocessor\t: 1\n"
                    f"model name\t: Some Xeon\nflags\t\t: {flags}\n")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert read_cpu_features(info) == CpuFeatures("Some Xeon", AMX)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert read_cpu_features(info).isa == "AVX2"
    assert read_cpu_features(tmp_path / "missing").flags == frozenset()


@pytest.mark.parametrize(("flags", "measured", "expected"), [
    (AMX, None, "bf16"),  # bf16 matrix units: no measurement needed
    (AMX, AMX_SPEED, "bf16"),
    (AVX512_BF16, None, "fp32"),  # not measured: the safe side
    (AVX512_BF16, SLOW_BF16, "fp32"),  # the development CPU: bf16 at half float32's speed
    (AVX512_BF16, FAST_BF16, "bf16"),  # another CPU where it measured faster
    (AVX512_BF16, ConvSpeed(288.0, 300.0, 2), "fp32"),  # within the noise margin
    (AVX512, None, "fp32"),
    (AVX2, AVX2_SPEED, "fp32"),
    (frozenset(), None, "fp32"),  # Arm, Apple, unknown
])
def test_auto_precision_on_the_cpu(flags, measured, expected) -> None:
    assert choose_precision("auto", "cpu", cpu(flags), measured=measured) == expected


def test_measurement_only_where_the_flags_do_not_decide() -> None:
    assert [needs_measurement("cpu", cpu(f)) for f in (AMX, AVX512_BF16, AVX512, AVX2)] == [False, True, False, False]
    assert not needs_measurement("cuda", cpu(AVX512_BF16))


def test_explicit_precision_wins_and_devices() -> None:
    for flags in (AMX, AVX512_BF16, AVX2):
        for requested in ("fp32", "bf16"):
            assert choose_precision(requested, "cpu", cpu(flags), measured=SLOW_BF16) == requested
    assert choose_precision("auto", "cuda", cpu(AVX2), cuda_bf16=True) == "bf16"
    assert choose_precision("auto", "cuda", cpu(AMX), cuda_bf16=False) == "fp32"
    assert choose_precision("auto", "mps", cpu(frozenset())) == "fp32"


def test_precision_names_become_dtypes_in_one_place() -> None:
    assert [autocast_dtype(p) for p in ("fp32", "bf16", "fp16")] == [None, torch.bfloat16, torch.float16]
    with autocast_context(torch.device("cpu"), "bf16"):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast_context(torch.device("cpu"), "fp32"):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32


@pytest.mark.parametrize(("flags", "speed", "expected"), [
    (AMX, AMX_SPEED, QUALITY_MODEL),  # 1966 GFLOP/s in bf16: about 4.7 frames/s of sta-wide
    (AVX512_BF16, SLOW_BF16, FAST_MODEL),  # 288 in fp32: about 0.7
    (AVX2, AVX2_SPEED, FAST_MODEL),
    (AVX512_BF16, ConvSpeed(fp32=1300.0, bf16=None, threads=16), QUALITY_MODEL),  # a many-core AVX-512 CPU
])
def test_auto_model_under_a_simulated_isa(flags, speed, expected) -> None:
    precision = choose_precision("auto", "cpu", cpu(flags), measured=speed)
    choice = choose_model("cpu", precision, speed)
    assert choice.name == expected
    assert (choice.estimated_fps >= 3.0) == (expected == QUALITY_MODEL)
    assert f"{choice.estimated_fps:.1f} frames/s" in choice.reason


def test_auto_model_off_the_cpu_is_the_quality_model() -> None:
    assert choose_model("cuda", "bf16", None).name == QUALITY_MODEL
    assert choose_model("mps", "fp32", None).name == QUALITY_MODEL


@pytest.mark.slow
def test_the_cost_table_matches_the_flop_counter() -> None:
    for name, gflops in GFLOPS_720P.items():
        assert measure_cost(name).streaming_gflops == pytest.approx(gflops, abs=0.05)


def test_old_bf16_flags_still_parse(capsys) -> None:
    from vdeblur.commands.argtypes import precision_option
    from vdeblur.cli import build_parser

    deblur = build_parser("deblur")
    for argv, expected in ((["--no-bf16"], "fp32"), (["--bf16"], "bf16"), ([], "auto"),
                           (["--precision", "bf16"], "bf16")):
        args = deblur.parse_args(["deblur", "in.mp4", "-o", "out.mp4", *argv])
        assert precision_option(args) == expected
    evaluate = build_parser("eval").parse_args(["eval", "--data", "d", "--bf16"])
    assert precision_option(evaluate) == "bf16"
    assert "deprecated" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse's usage error
        main(["deblur", "in.mp4", "-o", "o.mp4", "--precision", "fp16"])
