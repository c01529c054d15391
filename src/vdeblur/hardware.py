"""What this CPU can do fast: its instruction-set flags (as oneDNN may use them) and a short, cached measurement
of its 3×3 convolution throughput in float32 and bf16.

oneDNN, which runs PyTorch's CPU convolutions, picks its kernels by the CPU's flags, capped by the environment
variable ``ONEDNN_MAX_CPU_ISA`` (read once, before its first primitive). :meth:`CpuFeatures.capped` applies the
same cap to the flags, so that choices made from them (precision, model) follow what oneDNN will actually run.

Flags alone do not say whether bf16 pays: with AMX it does (about five times float32 on the development machines),
but a CPU with AVX-512 BF16 and no AMX ran bf16 convolutions at half the speed of float32 (issue 16). So where the
flags are not decisive, :func:`conv_speed` measures, once per CPU model, torch version, ISA and thread count, and
keeps the result in the user's cache folder.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
# torch is imported where it is used: the command line reads ISA_CAPS while building its parser.

ISA_ENV = "ONEDNN_MAX_CPU_ISA"
# oneDNN's caps that matter for convolutions, weakest first, with the /proc/cpuinfo flags each one adds.
ISA_CAPS = ("AVX2", "AVX512_CORE", "AVX512_CORE_BF16", "AVX512_CORE_AMX")
_FLAGS_ADDED = {
    "AVX2": {"avx2", "fma"},
    "AVX512_CORE": {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"},
    "AVX512_CORE_BF16": {"avx512_bf16"},
    "AVX512_CORE_AMX": {"amx_bf16", "amx_tile", "amx_int8"},
}
# The probe convolution: sta-wide's finest level (128 channels at 1/4 of 1280×720), NHWC as the engine runs it.
PROBE_CHANNELS, PROBE_HEIGHT, PROBE_WIDTH = 128, 180, 320
PROBE_RUNS = 5


@dataclass(frozen=True)
class CpuFeatures:
    """A CPU's name and the instruction-set flags oneDNN may use on it.

    Attributes:
        model: the CPU's model name (``/proc/cpuinfo``), empty where unknown.
        flags: lower-case flags as ``/proc/cpuinfo`` spells them (``avx2``, ``avx512_bf16``, ``amx_bf16``, ...).
    """

    model: str
    flags: frozenset[str]

    @property
    def has_amx(self) -> bool:
        """bf16 matrix units (Intel AMX): bf16 convolutions several times faster than float32."""
        return "amx_bf16" in self.flags

    @property
    def has_avx512_bf16(self) -> bool:
        """bf16 dot-product instructions on AVX-512, without saying whether they beat float32 here."""
        return "avx512_bf16" in self.flags

    @property
    def has_bf16(self) -> bool:
        """bf16 instructions of any kind (AVX-512 BF16 or AMX): whether a bf16 measurement is worth making."""
        return self.has_avx512_bf16 or self.has_amx

    @property
    def isa(self) -> str:
        """The strongest of :data:`ISA_CAPS` these flags allow, or ``other`` (no AVX2: older x86, Arm, Apple)."""
        best = "other"
        for cap in ISA_CAPS:
            if not _FLAGS_ADDED[cap] & self.flags:
                break
            best = cap
        return best

    def capped(self, cap: str | None) -> CpuFeatures:
        """These features as oneDNN sees them under ``ONEDNN_MAX_CPU_ISA=cap`` (None or unknown: no cap)."""
        if cap is None or cap.upper() not in ISA_CAPS:
            return self
        allowed = ISA_CAPS[: ISA_CAPS.index(cap.upper()) + 1]
        removed = set().union(*(_FLAGS_ADDED[c] for c in ISA_CAPS if c not in allowed))
        # Every AVX-512 and AMX flag beyond the cap goes, not only the few named above.
        if "AVX512_CORE" not in allowed:
            removed |= {f for f in self.flags if f.startswith("avx512")}
        if "AVX512_CORE_AMX" not in allowed:
            removed |= {f for f in self.flags if f.startswith("amx")}
        return CpuFeatures(self.model, self.flags - removed)


def read_cpu_features(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> CpuFeatures:
    """This CPU's features, capped by ``ONEDNN_MAX_CPU_ISA`` if set (no flags where ``cpuinfo`` is unreadable)."""
    model, flags = "", frozenset[str]()
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = frozenset(value.split())
    except OSError:
        pass
    return CpuFeatures(model, flags).capped(os.environ.get(ISA_ENV))


@dataclass(frozen=True)
class ConvSpeed:
    """GFLOP/s of the probe convolution (:data:`PROBE_CHANNELS` channels at :data:`PROBE_WIDTH` ×
    :data:`PROBE_HEIGHT`, NHWC) with ``threads`` torch threads.

    Attributes:
        fp32: float32 GFLOP/s.
        bf16: bf16 GFLOP/s; None where not measured (CPUs without bf16 instructions emulate it, always slower).
        threads: torch intra-op threads during the measurement.
    """

    fp32: float
    bf16: float | None
    threads: int

    def gflops(self, precision: str) -> float:
        """The rate in ``precision`` (``fp32`` or ``bf16``); float32's where bf16 was not measured."""
        return self.bf16 if precision == "bf16" and self.bf16 is not None else self.fp32


def measure_conv_speed(with_bf16: bool, runs: int = PROBE_RUNS) -> ConvSpeed:
    """Time the probe convolution (about a second on two cores): the best of ``runs`` after a warm-up, the two
    precisions in turn, so that other work on a shared machine slows both alike and the best run shows what the
    hardware can do."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, PROBE_CHANNELS, PROBE_HEIGHT, PROBE_WIDTH, generator=generator)
    weight = torch.randn(PROBE_CHANNELS, PROBE_CHANNELS, 3, 3, generator=generator) / (3 * PROBE_CHANNELS)
    gflop = 2 * PROBE_CHANNELS**2 * 9 * PROBE_HEIGHT * PROBE_WIDTH / 1e9
    dtypes = [torch.float32] + ([torch.bfloat16] if with_bf16 else [])
    inputs = {d: (x.to(d, memory_format=torch.channels_last), weight.to(d, memory_format=torch.channels_last))
              for d in dtypes}
    seconds: dict[torch.dtype, list[float]] = {d: [] for d in dtypes}
    with torch.no_grad():
        for _ in range(runs + 1):
            for dtype, (a, w) in inputs.items():
                start = time.perf_counter()
                F.conv2d(a, w, padding=1)
                seconds[dtype].append(time.perf_counter() - start)
    best = {d: gflop / min(times[1:]) for d, times in seconds.items()}
    return ConvSpeed(best[torch.float32], best.get(torch.bfloat16), torch.get_num_threads())


def cache_file() -> Path:
    """The measurements' cache: ``hardware.json`` in the user's cache folder (``$XDG_CACHE_HOME/vdeblur`` on
    Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("vdeblur", appauthor=False)) / "hardware.json"


def cache_key(cpu: CpuFeatures, threads: int) -> str:
    """What a measurement holds for: CPU model, torch version, torch's and oneDNN's ISA, threads."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    return f"{cpu.model}|torch {torch.__version__}|{capability}|oneDNN {cpu.isa}|{threads} threads"


def conv_speed(cpu: CpuFeatures) -> ConvSpeed:
    """The probe convolution's speed on this CPU with the current thread count: cached, else measured and saved.

    An unreadable or unwritable cache costs a new measurement, never an error.
    """
    import torch

    path, key = cache_file(), cache_key(cpu, torch.get_num_threads())
    entries: dict = {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        entries = loaded if isinstance(loaded, dict) else {}
        return ConvSpeed(**entries[key])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    speed = measure_conv_speed(with_bf16=cpu.has_bf16)
    try:
        from vdeblur.io.atomic import atomic_output

        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps({**entries, key: asdict(speed)}, indent=1) + "\n", encoding="utf-8")
    except OSError:
        pass
    return speed
