"""``--model auto``: the quality model where this hardware runs it fast enough, else a small shipped model.

The estimate is a cost model: the probe convolution's GFLOP/s in the chosen precision
(:func:`vdeblur.hardware.conv_speed`, measured once and cached), times the share of that roofline a model is
assumed to reach, divided by the model's GFLOPs per 1280×720 frame. ``sta-wide`` reaches 81–90 % of the roofline
in float32 and 60–64 % in bf16 with AMX (BENCHMARKS.md); :data:`ASSUMED_EFFICIENCY` takes the lower figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from vdeblur.checkpoint import DEFAULT_MODEL
from vdeblur.hardware import ConvSpeed

AUTO_MODEL = "auto"
QUALITY_MODEL = DEFAULT_MODEL
FAST_MODEL = "sta-fast"
# GFLOPs per output frame at 1280×720 when streaming (vdeblur.models.cost; a test keeps these true). Counting
# them takes seconds, too long for every start.
GFLOPS_720P = {"sta-wide": 250.3, "sta-fast": 45.3, "sta-cpu": 57.6}
TARGET_FPS = 3.0  # of the model alone at 1280×720: the end-to-end target, before decode and encode
ASSUMED_EFFICIENCY = 0.6


@dataclass(frozen=True)
class ModelChoice:
    """The model ``auto`` chose, and why in one clause.

    Attributes:
        name: a shipped model name.
        reason: e.g. ``"sta-wide would run at about 0.7 frames/s at 1280x720 here"``.
        estimated_fps: the quality model's estimated frames/s at 1280×720 (None off the CPU).
    """

    name: str
    reason: str
    estimated_fps: float | None


def estimated_fps(model: str, speed: ConvSpeed, precision: str) -> float:
    """The cost model's frames/s of ``model`` (a key of :data:`GFLOPS_720P`) at 1280×720."""
    return speed.gflops(precision) * ASSUMED_EFFICIENCY / GFLOPS_720P[model]


def choose_model(device_type: str, precision: str, speed: ConvSpeed | None) -> ModelChoice:
    """The model for ``--model auto``: a pure function of the device, the precision and the measured speed.

    Args:
        device_type: ``cpu``, ``cuda`` or ``mps``.
        precision: the resolved precision (``fp32`` or ``bf16``).
        speed: the probe convolution's speed on this CPU (needed on the CPU only).
    """
    if device_type != "cpu" or speed is None:
        # GPUs run the quality model far above the target; MPS is not measured, and a Mac's GPU is the better bet.
        return ModelChoice(QUALITY_MODEL, f"the quality model, on {device_type}", None)
    fps = estimated_fps(QUALITY_MODEL, speed, precision)
    if fps >= TARGET_FPS:
        return ModelChoice(QUALITY_MODEL, f"about {fps:.1f} frames/s at 1280x720 expected here", fps)
    return ModelChoice(
        FAST_MODEL, f"{QUALITY_MODEL} would run at about {fps:.1f} frames/s at 1280x720 here; "
        f"--model {QUALITY_MODEL} for its quality", fps,
    )


def resolve_model(device_type: str, precision: str) -> ModelChoice:
    """:func:`choose_model` on this machine (measuring the CPU once, cached)."""
    if device_type != "cpu":
        return choose_model(device_type, precision, None)
    from vdeblur.hardware import conv_speed, read_cpu_features

    return choose_model(device_type, precision, conv_speed(read_cpu_features()))
