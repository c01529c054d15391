"""A batch of ``vdeblur deblur``: every input paired with its outputs, and a process's share under torchrun."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vdeblur.errors import MediaError, UserError
from vdeblur.infer.sinks import is_video_output
from vdeblur.io.listing import list_images, list_videos
from vdeblur.launch import DistContext


@dataclass(frozen=True)
class Job:
    """One input and where its outputs go."""

    source: Path
    destination: Path
    compare: Path | None


def compare_path(destination: Path) -> Path:
    """``out.mp4`` -> ``out_compare.mp4``; ``frames/`` -> ``frames_compare/``."""
    return destination.with_name(f"{destination.stem}_compare{destination.suffix}")


def plan_jobs(inputs: list[Path], output: Path, compare: bool) -> list[Job]:
    """Pair every input with its output.

    One video or frame folder goes to ``output`` itself; a folder of videos, or several inputs, go into the
    folder ``output``, each under its own name.

    Raises:
        MediaError: a missing input, or a folder with neither images nor videos.
        UserError: several inputs with a video file as output, or two inputs with the same name.
    """
    for path in inputs:
        if not path.exists():
            raise MediaError(f"Input not found: {path}.")
    if len(inputs) == 1 and not (inputs[0].is_dir() and not list_images(inputs[0])):
        pairs = [(inputs[0], output)]
    else:
        sources = []
        for path in inputs:
            if path.is_dir() and not list_images(path):
                videos = list_videos(path)
                if not videos:
                    raise MediaError(f"{path} contains no image or video files.")
                sources.extend(videos)
            else:
                sources.append(path)
        if is_video_output(output):
            raise UserError(f"With several inputs the output must be a folder, not the video file {output}.")
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise UserError(f"Several inputs are named {duplicates[0]}; their outputs would collide.")
        pairs = [(s, output / s.name) for s in sources]
    jobs = [Job(s, d, compare_path(d) if compare else None) for s, d in pairs]
    # One input's comparison may carry another's name (v.mp4's v_compare.mp4 and an input v_compare.mp4).
    targets = [t.resolve() for job in jobs for t in (job.destination, job.compare) if t is not None]
    clash = next((t for t in targets if targets.count(t) > 1), None)
    if clash is not None:
        raise UserError(f"Two outputs of this batch would both be written to {clash}; rename an input or drop "
                        f"--compare.")
    return jobs


def my_share(jobs: list[Job], context: DistContext) -> list[Job]:
    """The jobs of the process ``context`` describes (under torchrun), round-robin; all of them for a lone one."""
    return jobs[context.rank::context.world_size]
