"""``vdeblur deblur``: deblur a video, a folder of frames, a photograph, or many of them (shared out under
torchrun)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vdeblur.commands.argtypes import add_precision_option, crf, non_negative_int, positive_int, precision_option
from vdeblur.checkpoint import DEFAULT_MODEL
from vdeblur.infer.model_choice import FAST_MODEL
from vdeblur.device import DEVICE_CHOICES
from vdeblur.errors import UserError
from vdeblur.infer.jobs import Job, my_share, plan_jobs
from vdeblur.infer.outputs import check_outputs
from vdeblur.io.video import DEFAULT_CRF, DEFAULT_PRESET, X264_PRESETS
from vdeblur.launch import DistContext, launch_context

if TYPE_CHECKING:
    from vdeblur.infer.deblurrer import Deblurrer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``deblur`` options to ``parser``."""
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                        help="video file, folder of frames, photograph (.png, .jpg, .tif, ...), folder of videos, "
                             "or several of these")
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="output video (by its suffix: .mp4, .mkv, ...), image file for a photograph (.png, "
                             ".jpg, ...) or folder of PNG frames; a folder when there are several inputs")
    parser.add_argument("--model", default="auto",
                        help=f"model name with shipped weights, run directory or .safetensors file; auto (default): "
                             f"the quality model {DEFAULT_MODEL} where this hardware runs it at 3 frames/s or more "
                             f"at 1280x720, else the small {FAST_MODEL} (the choice is printed)")
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)} or cuda:N")
    parser.add_argument("--tile", type=non_negative_int, default=None,
                        help="tile side in pixels for large frames (default: from free memory; 0: never tile)")
    parser.add_argument("--compare", action="store_true",
                        help="also write input|output side by side as <output>_compare")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--codec", default=None, help="video encoder (default libx264; libvpx-vp9 for .webm)")
    parser.add_argument("--crf", type=crf, default=DEFAULT_CRF,
                        help=f"encoder quality, lower is better (default {DEFAULT_CRF})")
    parser.add_argument("--preset", choices=X264_PRESETS, default=None,
                        help=f"x264/x265 speed preset; slower ones write smaller files of the same quality "
                             f"(default {DEFAULT_PRESET})")
    parser.add_argument("--no-scene-cuts", dest="scene_cuts", action="store_false",
                        help="take each input for one shot: do not look for scene cuts (by default a frame beside a "
                             "cut is restored from neighbours of its own shot only, as at the ends of a video)")
    add_precision_option(parser, legacy_bf16="both")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="threads for the model and for each of the video decoder and encoder (default: about "
                             "one per core); 1 suits a machine that other jobs share")
    parser.add_argument("--backend", default="torch",
                        help="torch (default; on the CPU the model's blocks run as oneDNN's fused "
                             "convolutions); compile: torch.compile, which compiles for tens of seconds, then runs "
                             "about as fast; or onnxruntime: an ONNX export of the model run by ONNX Runtime (CPU, "
                             "float32)")


def _device_name(requested: str, context: DistContext) -> str:
    # Under torchrun each process on a multi-GPU machine takes its own GPU.
    if context.enabled and requested in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            return f"cuda:{context.local_rank % torch.cuda.device_count()}"
    return requested


def run(args: argparse.Namespace) -> int:
    """Deblur every job of this process; returns 0, or 2 if some inputs of a batch failed."""
    context = launch_context()
    jobs = my_share(plan_jobs(list(args.inputs), args.output, args.compare), context)
    for job in jobs:  # the whole batch before the model loads; deblur_video checks again just before it writes
        check_outputs(job.source, job.destination, job.compare, args.overwrite)
    if not jobs:
        return 0

    import torch

    from vdeblur.infer.deblurrer import Deblurrer  # imported late: it pulls in torch and the models
    from vdeblur.infer.sources import CODEC_THREADS

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    deblurrer = Deblurrer(
        model=args.model, device=_device_name(args.device, context), tile=args.tile, precision=precision_option(args),
        backend=args.backend, codec_threads=CODEC_THREADS if args.threads is None else args.threads,
        scene_cuts=args.scene_cuts,
    )
    if not args.quiet:
        print(f"vdeblur deblur: {settings_summary(deblurrer, str(args.model), args.precision)}", file=sys.stderr)
    if len(jobs) == 1:
        _deblur(deblurrer, jobs[0], args)
        return 0
    failures = 0
    for job in jobs:
        try:
            _deblur(deblurrer, job, args)
        except UserError as exc:  # one bad file must not stop the batch; the exit code reports it
            failures += 1
            print(f"vdeblur deblur: error: {exc}", file=sys.stderr)
    if failures:
        print(f"vdeblur deblur: {failures} of {len(jobs)} inputs failed.", file=sys.stderr)
    return 2 if failures else 0


def settings_summary(deblurrer: Deblurrer, model: str, requested_precision: str) -> str:
    """One line on what runs: the model (and why, where ``auto`` chose it), the precision, the device."""
    import torch

    choice = deblurrer.model_choice
    if choice is not None:
        model = f"{choice.name} (auto: {choice.reason})"
    how = " (auto)" if requested_precision == "auto" else ""
    threads = f", {torch.get_num_threads()} threads" if deblurrer.device.type == "cpu" else ""
    return f"model {model}; precision {deblurrer.precision}{how}; device {deblurrer.device}{threads}."


def _deblur(deblurrer: Deblurrer, job: Job, args: argparse.Namespace) -> None:
    deblurrer.deblur_video(
        job.source, job.destination, codec=args.codec, crf=args.crf, preset=args.preset,
        overwrite=args.overwrite,
        compare=job.compare, progress=not args.quiet,
    )
    if not args.quiet:
        print(f"wrote {job.destination}" + (f" and {job.compare}" if job.compare else ""), file=sys.stderr)
