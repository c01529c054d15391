"""From sources to a GOPRO-layout folder: plan each sequence, expose it, degrade it, write it atomically."""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from vdeblur.errors import UserError
from vdeblur.infer.outputs import atomic_folder
from vdeblur.interrupts import exit_worker_on_signals
from vdeblur.io.images import quantize, write_image
from vdeblur.io.video import require_pyav
from vdeblur.synth.build import MAX_SAMPLES, SAMPLE_SPACING_PX, Plan, plan_still, plan_video
from vdeblur.synth.color import SRGB, ToneCurve, random_tone_curve
from vdeblur.synth.config import CODEC_WEIGHTS, SynthConfig, codec_choices
from vdeblur.synth.degrade import add_sensor_noise, h264_roundtrip, jpeg_roundtrip
from vdeblur.synth.sources import Source, collect_sources, load_clip


def exposure_times(center: float, exposure: float, samples: int) -> np.ndarray:
    """Midpoints of ``samples`` equal slices of the exposure ``center ± exposure / 2`` (a box shutter)."""
    return center + exposure * ((np.arange(samples) + 0.5) / samples - 0.5)


def expose(plan: Plan, index: int, target: str = "instant") -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` of a plan: ``(blurred, sharp)`` linear images clipped to [0, 1].

    The blurred frame is the mean of the scene over the exposure, sampled finely enough that nothing moves
    more than `SAMPLE_SPACING_PX` between samples; clipping comes after the mean, so boosted highlights stay
    saturated where they dwelt long enough. The sharp frame is the scene at the exposure's middle
    (``target="instant"``, GOPRO's convention) or with every layer at its mean pose over the exposure
    (``"centroid"``, `SynthConfig.target`).
    """
    half = plan.exposure / 2
    motion = plan.scene.image_motion(index - half, index + half) + plan.footage_motion
    samples = int(np.clip(math.ceil(motion / SAMPLE_SPACING_PX) + 1, 3, MAX_SAMPLES))
    times = exposure_times(index, plan.exposure, samples)
    total = None
    for t in times:
        image = plan.scene.render(float(t))
        total = image if total is None else total + image
    blurred = np.clip(total / samples, 0.0, 1.0)
    scene = plan.scene.held_at_mean(times) if target == "centroid" else plan.scene
    sharp = np.clip(scene.render(float(index), sharp=True), 0.0, 1.0)
    return blurred, sharp


@dataclass(frozen=True)
class Degradation:
    """Sensor noise (variance ``shot · x + read²`` in linear light) and compression of the blurred frames."""

    shot: float
    read: float
    codec: str  # "none", "jpeg" or "h264"
    quality: int  # JPEG quality or H.264 CRF


def draw_degradation(rng: np.random.Generator, config: SynthConfig) -> Degradation:
    """Noise from clean to high-ISO (log-uniform, scaled by ``config.noise``) and a codec setting."""
    noisy = config.noise > 0 and rng.random() < 0.85
    shot = math.exp(rng.uniform(math.log(1e-4), math.log(1e-2))) * config.noise if noisy else 0.0
    read = math.exp(rng.uniform(math.log(3e-4), math.log(4e-3))) * config.noise if noisy else 0.0
    choices = codec_choices(config.codec)
    codec = choices[0]
    if len(choices) > 1:
        weights = np.array([CODEC_WEIGHTS[name] for name in choices])
        codec = str(rng.choice(list(choices), p=weights / weights.sum()))
    quality = int(rng.integers(60, 96)) if codec == "jpeg" else int(rng.integers(16, 29))
    return Degradation(shot, read, codec, quality)


def render_sequence(
    plan: Plan, degradation: Degradation, rng: np.random.Generator, target: str = "instant"
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(blurred, sharp)`` uint8 RGB frame pairs of a plan (H.264 needs the whole sequence first);
    ``target`` as for `expose`."""
    pairs = []
    for index in range(plan.num_frames):
        blurred, sharp = expose(plan, index, target)
        if degradation.shot or degradation.read:
            blurred = add_sensor_noise(blurred, rng, degradation.shot, degradation.read)
        blurred8, sharp8 = quantize(plan.curve.from_linear(blurred)), quantize(plan.curve.from_linear(sharp))
        if degradation.codec == "jpeg":
            blurred8 = jpeg_roundtrip(blurred8, degradation.quality)
        if degradation.codec == "h264":
            pairs.append((blurred8, sharp8))
        else:
            yield blurred8, sharp8
    if pairs:
        decoded = h264_roundtrip([b for b, _ in pairs], degradation.quality)
        yield from zip(decoded, (s for _, s in pairs))


@dataclass(frozen=True)
class Job:
    """One sequence to make: the ``part``-th of ``source``, under ``DIR/<split>/<name>``."""

    source: Source
    part: int
    name: str
    seed: int


def sequence_rng(seed: int, name: str, *stream: int) -> np.random.Generator:
    """A generator that depends on the seed and the sequence's name only: adding or removing other
    sources does not change a sequence. ``stream`` numbers further independent generators of the same
    sequence (none: the main one)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), *stream])


def draw_tone_curve(seed: int, name: str, config: SynthConfig) -> ToneCurve | SRGB:
    """The sequence's camera response: sRGB, or with chance ``config.camera_response`` a random curve.

    It comes from a generator of its own, so turning the option on changes nothing else in a sequence (the
    same paths, objects and noise): an ablation of the curve alone. Off, it draws nothing.
    """
    if config.camera_response == 0:
        return SRGB()
    rng = sequence_rng(seed, name, 1)
    return random_tone_curve(rng) if rng.random() < config.camera_response else SRGB()


def make_sequence(job: Job, pool: list[Path], config: SynthConfig, split_dir: Path) -> int:
    """Synthesize one sequence into ``split_dir/<name>`` (via a hidden folder renamed when complete).

    Returns:
        The number of frame pairs written.
    """
    cv2.setNumThreads(1)  # parallelism comes from the worker processes
    rng = sequence_rng(job.seed, job.name)
    curve = draw_tone_curve(job.seed, job.name, config)
    if job.source.kind == "still":
        plan = plan_still(rng, job.source.path, pool, config, curve)
    else:
        frames = load_clip(job.source, config.long_side, config.max_source_frames)
        parts = config.sequences_per_source
        bounds = np.linspace(0, len(frames), parts + 1).round().astype(int)
        segment = (int(bounds[job.part]), int(bounds[job.part + 1]))
        if segment[1] - segment[0] < 2:
            segment = (0, len(frames))
        plan = plan_video(rng, frames, segment, pool, config, curve)
    degradation = draw_degradation(rng, config)
    count = 0
    # An interrupted sequence (Ctrl-C, SIGTERM, SIGHUP, in this or a worker process) leaves no hidden folder.
    with atomic_folder(split_dir / job.name) as partial:
        for count, (blurred, sharp) in enumerate(render_sequence(plan, degradation, rng, config.target), start=1):
            write_image(partial / "blur" / f"{count - 1:06d}.png", blurred)
            write_image(partial / "sharp" / f"{count - 1:06d}.png", sharp)
        facts = {"source": str(job.source.path), **plan.facts, "camera_response": curve.describe(),
                 "target": config.target, "degradation": asdict(degradation),
                 "size": list(plan.scene.camera.out_size), "frames": count}
        (partial / "synth.json").write_text(json.dumps(facts, indent=1))
    return count


def _run_job(arguments: tuple[Job, list[Path], SynthConfig, Path]) -> tuple[str, int]:
    job = arguments[0]
    return job.name, make_sequence(*arguments)


def synthesize(
    sources: list[str | os.PathLike], output: str | os.PathLike, split: str = "train", seed: int = 0,
    config: SynthConfig | None = None, workers: int = 1, overwrite: bool = False,
    object_sources: list[str | os.PathLike] = (),
) -> list[str]:
    """Make blurred/sharp sequences from sharp sources into ``output/<split>/<seq>/{blur,sharp}/NNNNNN.png``.

    Deterministic for a seed: each sequence draws from a generator seeded by ``seed`` and its own name.
    Sequences already complete in ``output`` are kept unless ``overwrite``, so an interrupted build resumes.

    Args:
        sources: video files, photographs, folders of frames (one clip each), or folders of videos.
        output: dataset root (GOPRO layout).
        split: split folder name (``train`` or ``test``).
        seed: base seed.
        config: strength and variety settings.
        workers: processes rendering sequences in parallel.
        overwrite: remake sequences that already exist.
        object_sources: more photographs to cut moving objects from (besides the still sources).

    Returns:
        Names of the sequences made in this call.
    """
    config = config or SynthConfig()
    if split not in ("train", "test"):
        raise UserError(f"The split must be 'train' or 'test', got '{split}'.")
    if "h264" in codec_choices(config.codec):
        require_pyav()  # before any sequence is rendered, not at the first H.264 one
    collected = collect_sources(list(sources))
    extra = collect_sources(list(object_sources)) if object_sources else []
    object_pool = [s.path for s in collected + extra if s.kind == "still"]
    if Path(output).exists() and not Path(output).is_dir():
        raise UserError(f"The output {output} is a file; give a folder to write the dataset into.")
    split_dir = Path(output) / split
    jobs = [
        Job(source, part, f"{source.name}_{part:02d}", seed)
        for source in collected
        for part in range(config.sequences_per_source)
    ]
    todo = [job for job in jobs if overwrite or not (split_dir / job.name / "sharp").is_dir()]
    if len(todo) < len(jobs):
        print(f"{len(jobs) - len(todo)} of {len(jobs)} sequences already exist in {split_dir}; keeping them.")
    arguments = [(job, object_pool, config, split_dir) for job in todo]
    made = []
    with tqdm(total=len(todo), unit="seq", desc=f"synth {split}") as bar, contextlib.ExitStack() as stack:
        processes = None
        if workers > 1 and len(todo) > 1:
            processes = stack.enter_context(multiprocessing.get_context("spawn").Pool(
                min(workers, len(todo)), initializer=exit_worker_on_signals))
            results = processes.imap_unordered(_run_job, arguments)
        else:
            results = map(_run_job, arguments)
        for name, count in results:
            made.append(name)
            bar.set_postfix_str(f"{name}: {count} frames")
            bar.update()
        if processes is not None:
            # All done: let the workers exit by themselves. Leaving the block terminates the pool, whose SIGTERM
            # could reach a worker already in its exit handlers and print a traceback there (it still does for
            # a stop mid-way, where the workers must be ended).
            processes.close()
            processes.join()
    return made
