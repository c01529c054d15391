"""Recipe ablations at equal CPU time → the "Ablations" section of BENCHMARKS.md.

Every candidate of a plan (a YAML file, e.g. ``benchmarks/ablations.yaml``) trains from scratch for the same
CPU-time budget on the same machine, one candidate at a time, and is then scored on the validation split and on
the benchmark set. Equal time, not equal steps, is the comparison that matters when CPU time is the budget.

How a budget becomes steps: a candidate's CPU seconds per step are measured first (``calibrate``: a short run of
every candidate; the trainer logs the CPU time of its process in steps, ``cpu_s``). Its step budget is then
``budget_minutes · 60 / cpu_s_per_step``, and its cosine schedule spans exactly those steps. Training itself is
then deterministic in (seed, step) and resumable. Calibration runs with one thread (``train.threads=1``): the CPU
time of a one-thread process is what its wall time would be on an idle core, and unlike wall time it is not
inflated by other work on the machine, so the budgets stay equal while the machine is shared. Training then runs
with the plan's thread count, which changes only how long the fixed number of steps takes.

    python benchmarks/ablation.py calibrate --plan benchmarks/ablations.yaml --runs /work/runs/ablation
    nohup python benchmarks/ablation.py run --plan benchmarks/ablations.yaml --runs /work/runs/ablation &
    python benchmarks/ablation.py table --plan benchmarks/ablations.yaml --runs /work/runs/ablation

A candidate with ``single_frame_share`` spends that share of the budget on single-frame steps
(``train.single_frame_steps``), calibrated on their own, and the rest on windows. ``run --only NAME`` runs one
candidate, so that two candidates can train side by side in two processes (one thread each).

Each candidate is calibrated just before it trains. Re-running ``run`` resumes: a finished candidate is skipped, an interrupted one resumes from its checkpoint, and
a finished one whose scores are missing is scored.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vdeblur.hardware import read_cpu_features
from vdeblur.train.config import from_dict

REPO = Path(__file__).resolve().parent.parent
CALIBRATION_STEPS = 30  # steps per calibration round; the first WARMUP_STEPS are not timed
WARMUP_STEPS = 10


@dataclass
class Candidate:
    """One row of the ablation: a training config, overrides, and what to measure after training."""

    name: str
    config: str  # a YAML file under configs/, relative to the repository
    set: list[str] = field(default_factory=list)  # extra `--set key=value` overrides
    zero_attention: bool = False  # also score the trained model with its attention outputs zeroed
    data: str = ""  # another training set (a data ablation); empty: the plan's. Scoring always uses the plan's.
    # The candidate whose calibration this one takes: for the same network at the same cost per step (a data
    # ablation), whose own calibration would differ only by measurement noise (about 10 % between two runs).
    calibrate_as: str = ""
    # Share of the budget spent on single-frame pretraining (train.single_frame_steps): that phase is calibrated on
    # its own, since a still costs less per step than a window.
    single_frame_share: float = 0.0
    note: str = ""


@dataclass
class Plan:
    """A list of candidates that share a budget and data."""

    budget_minutes: float
    data: str
    bench: str
    candidates: list[Candidate]
    common_set: list[str] = field(default_factory=list)  # overrides for every candidate (precision)
    train_threads: int = 2  # threads while training; calibration always uses one
    calibration_rounds: int = 2

    def calibrated_by(self, candidate: Candidate) -> Candidate:
        """The candidate whose calibration fixes ``candidate``'s steps (itself, or its ``calibrate_as``)."""
        if not candidate.calibrate_as:
            return candidate
        for other in self.candidates:
            if other.name == candidate.calibrate_as:
                return other
        raise SystemExit(f"{candidate.name}: calibrate_as names no candidate of the plan: {candidate.calibrate_as!r}")


def load_plan(path: Path) -> Plan:
    return from_dict(Plan, yaml.safe_load(path.read_text()), where=str(path))


def _train_command(plan: Plan, candidate: Candidate, run_dir: Path, overrides: list[str]) -> list[str]:
    command = [
        sys.executable, "-m", "vdeblur", "train", "--config", str(REPO / candidate.config),
        "--data", candidate.data or plan.data,
        "--run-dir", str(run_dir),
    ]
    for override in [*plan.common_set, *candidate.set, *overrides]:
        command += ["--set", override]
    return command


def _log_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "log.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _seconds_per_step(run_dir: Path) -> float:
    """CPU seconds per training step between WARMUP_STEPS and the last logged step (validation excluded)."""
    rows = [row for row in _log_rows(run_dir) if row.get("loss")]
    by_step = {int(row["step"]): float(row["cpu_s"]) for row in rows}
    last = max(by_step)
    return (by_step[last] - by_step[WARMUP_STEPS]) / (last - WARMUP_STEPS)


def _calibration_key(name: str, single_frame: bool) -> str:
    """calibration.json's key for a candidate's window steps, or for its single-frame steps."""
    return name + (":single-frame" if single_frame else "")


def calibrate(plan: Plan, candidate: Candidate, runs: Path, single_frame: bool = False) -> float:
    """Median CPU seconds per step of ``candidate`` (its single-frame steps if ``single_frame``) over
    ``plan.calibration_rounds`` short runs; cached in calibration.json, so that a resumed plan keeps the step
    budgets it started with."""
    path = runs / "calibration.json"
    done: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"rounds": {}}
    key = _calibration_key(candidate.name, single_frame)
    times = done["rounds"].setdefault(key, [])
    while len(times) < plan.calibration_rounds:
        scratch = runs / "_calibration" / key
        shutil.rmtree(scratch, ignore_errors=True)
        overrides = ["train.threads=1", f"train.max_steps={CALIBRATION_STEPS}", "train.val_every=1000000",
                     "train.checkpoint_every=1000000", "train.log_every=10",
                     f"train.single_frame_steps={CALIBRATION_STEPS if single_frame else 0}"]
        subprocess.run(_train_command(plan, candidate, scratch, overrides), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(_seconds_per_step(scratch))
        shutil.rmtree(scratch)
        done["isa"] = read_cpu_features().isa  # oneDNN's best ISA here, its cap included
        path.write_text(json.dumps(done, indent=2) + "\n")
        print(f"calibration: {key} {times[-1]:.3f} CPU s/step", flush=True)
    return statistics.median(times)


def budget_steps(plan: Plan, seconds_per_step: float) -> int:
    return max(100, round(plan.budget_minutes * 60 / seconds_per_step))


def candidate_steps(plan: Plan, candidate: Candidate, runs: Path) -> tuple[int, int]:
    """``(steps, single_frame_steps)`` that spend the plan's budget: the single-frame share at its own cost per
    step, the rest at the windows' cost."""
    calibrated = plan.calibrated_by(candidate)
    window_s = calibrate(plan, calibrated, runs)
    if not candidate.single_frame_share:
        return budget_steps(plan, window_s), 0
    still_s = calibrate(plan, calibrated, runs, single_frame=True)
    budget_s = plan.budget_minutes * 60
    stills = round(candidate.single_frame_share * budget_s / still_s)
    return stills + round((1 - candidate.single_frame_share) * budget_s / window_s), stills


def zero_attention_copy(weights: Path, out: Path) -> Path:
    """``weights`` with every attention output projection zeroed: the attention then adds nothing."""
    from vdeblur.checkpoint import load_model, read_weights, save_weights

    model = load_model(weights)
    _, metadata = read_weights(weights)
    zeroed = 0
    for module in model.modules():
        attention = getattr(module, "attention", None)
        if attention is not None and hasattr(attention, "out"):
            attention.out.weight.data.zero_()
            attention.out.bias.data.zero_()
            zeroed += 1
    if not zeroed:
        raise SystemExit(f"{weights} has no attention to zero")
    save_weights(out, model, {key: value for key, value in metadata.items() if key not in ("model", "model_kwargs")})
    return out


def score(weights: Path, data: str, split: str, out: Path) -> dict[str, Any]:
    """Evaluate weights (or ``input``, the blurry frames themselves) on a split in fp32, whatever the machine's
    precision choice would be."""
    if not out.exists():
        subprocess.run(
            [sys.executable, "-m", "vdeblur", "eval", "--data", data, "--split", split, "--model", str(weights),
             "--precision", "fp32", "--json", str(out)],
            check=True, stdout=subprocess.DEVNULL,
        )
    return json.loads(out.read_text())


def run(plan: Plan, runs: Path, only: list[str] | None = None) -> None:
    score(Path("input"), plan.data, "test", runs / "input_val.json")  # the rows every candidate is read against
    score(Path("input"), plan.bench, "test", runs / "input_bench.json")
    unknown = set(only or []) - {candidate.name for candidate in plan.candidates}
    if unknown:
        raise SystemExit(f"--only names no candidate of the plan: {', '.join(sorted(unknown))}")
    for candidate in plan.candidates:
        if only and candidate.name not in only:
            continue
        folder = runs / candidate.name
        run_dir = folder / "run"
        steps, stills = candidate_steps(plan, candidate, runs)
        overrides = [f"train.threads={plan.train_threads}", f"train.max_steps={steps}",
                     f"train.single_frame_steps={stills}", f"train.val_every={max(1, steps // 4)}",
                     "train.checkpoint_every=200", "train.checkpoint_minutes=5"]
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{candidate.name}: {steps} steps ({stills} single-frame)", flush=True)
        subprocess.run(_train_command(plan, candidate, run_dir, overrides), check=True)
        best = run_dir / "best.safetensors"
        score(best, plan.data, "test", folder / "val.json")
        score(best, plan.bench, "test", folder / "bench.json")
        if candidate.zero_attention:
            zeroed = folder / "zero_attention.safetensors"
            if not zeroed.exists():
                zero_attention_copy(best, zeroed)
            score(zeroed, plan.data, "test", folder / "val_zero_attention.json")
            score(zeroed, plan.bench, "test", folder / "bench_zero_attention.json")


def _cell(path: Path) -> str:
    if not path.exists():
        return "–"
    scores = json.loads(path.read_text())
    return f"{scores['psnr']:.2f} / {scores['ssim']:.4f}"


def table(plan: Plan, runs: Path) -> str:
    calibration = json.loads((runs / "calibration.json").read_text())
    speeds = {name: statistics.median(times) for name, times in calibration["rounds"].items()}
    lines = [
        f"Budget {plan.budget_minutes:g} CPU minutes of one-thread training per candidate (steps fixed by a one-thread "
        f"calibration; trained with {plan.train_threads} thread{'s' if plan.train_threads > 1 else ''}); ISA: {calibration['isa']}.",
        "",
        "| candidate | CPU s/step (1 thread) | steps | CPU time of the training (min) | wall time (min) | validation PSNR / SSIM "
        "| benchmark PSNR / SSIM | benchmark, attention zeroed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| blurry input | – | – | – | – | {_cell(runs / 'input_val.json')} | {_cell(runs / 'input_bench.json')} | – |",
    ]
    for candidate in plan.candidates:
        folder = runs / candidate.name
        log = folder / "run" / "log.csv"
        if not log.exists():
            lines.append(f"| {candidate.name} | not run | | | | | | |")
            continue
        rows = _log_rows(folder / "run")
        steps: int | str = max((int(row["step"]) for row in rows), default=0)
        planned = yaml.safe_load((folder / "run" / "config.yaml").read_text())["train"]["max_steps"]
        if steps < planned:  # stopped or still training: say so rather than pass it off as a finished row
            steps = f"{steps} of {planned}"
        cpu = max((float(row["cpu_s"]) for row in rows if row.get("cpu_s")), default=0.0) / 60
        wall = max((float(row["elapsed_s"]) for row in rows), default=0.0) / 60
        zero = _cell(folder / "bench_zero_attention.json") if candidate.zero_attention else "n/a"
        calibrated = plan.calibrated_by(candidate).name
        speed = f"{speeds.get(calibrated, float('nan')):.2f}"
        if candidate.single_frame_share:
            speed += f" (stills {speeds.get(_calibration_key(calibrated, True), float('nan')):.2f})"
        lines.append(
            f"| {candidate.name} | {speed} | {steps} | {cpu:.0f} | {wall:.0f} "
            f"| {_cell(folder / 'val.json')} | {_cell(folder / 'bench.json')} | {zero} |"
        )
    return "\n".join(lines + ["", "Benchmark PSNR per sequence (dB):", "", sequence_table(plan, runs)])


def sequence_table(plan: Plan, runs: Path) -> str:
    """The benchmark PSNR of each sequence, one row per scored candidate: where a recipe gains and where it loses."""
    scored = [("blurry input", runs / "input_bench.json")] + [
        (candidate.name, runs / candidate.name / "bench.json") for candidate in plan.candidates
    ]
    results = [(name, json.loads(path.read_text())["sequences"]) for name, path in scored if path.exists()]
    names = list(results[0][1])
    lines = ["| candidate | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {label} | " + " | ".join(f"{seqs[n]['psnr']:.2f}" for n in names) + " |" for label, seqs in results]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["calibrate", "run", "table"])
    parser.add_argument("--plan", type=Path, default=REPO / "benchmarks" / "ablations.yaml")
    parser.add_argument("--runs", type=Path, default=Path("/work/runs/ablation"))
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this candidate (repeatable), e.g. two plans' rows in two processes")
    args = parser.parse_args()
    plan = load_plan(args.plan)
    args.runs.mkdir(parents=True, exist_ok=True)
    if args.action == "calibrate":
        for candidate in plan.candidates:
            steps, stills = candidate_steps(plan, candidate, args.runs)
            print(f"{candidate.name}: {steps} steps ({stills} single-frame)")
    elif args.action == "run":
        run(plan, args.runs, args.only)
    else:
        print(table(plan, args.runs))


if __name__ == "__main__":
    main()
