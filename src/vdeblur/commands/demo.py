"""`vdeblur demo`: deblur the bundled sample clip with the shipped model, show and score the result.

The sample (``vdeblur/samples``) is a blurred clip with its sharp ground truth, rendered from footage that is not
in the training set (see ``samples/README.md``). The demo runs the same code path as ``vdeblur deblur`` on it,
then scores input and output against the ground truth with the published PSNR/SSIM protocol.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

import numpy as np

from vdeblur.commands.argtypes import add_precision_option
from vdeblur.device import DEVICE_CHOICES
from vdeblur.errors import UserError
from vdeblur.io.images import write_image
from vdeblur.io.video import iter_video_frames
from vdeblur.metrics import MetricTable

# Marks a folder as the demo's own, so that a re-run may replace its results but never a user's files.
MARKER = ".vdeblur-demo"
RESULTS = ("deblurred.mp4", "side_by_side.mp4", "compare.png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``vdeblur demo``."""
    parser.add_argument("--output", "-o", required=True, type=Path, help="folder for the demo's results")
    parser.add_argument("--model", default="auto",
                        help="model name, run directory or .safetensors file (default: auto, as vdeblur deblur)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    add_precision_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def sample_files() -> dict[str, Path]:
    """Paths of the bundled sample: ``blur`` and ``sharp`` videos plus its description in ``info``."""
    root = resources.files("vdeblur.samples")
    info = json.loads(root.joinpath("sample.json").read_text(encoding="utf-8"))
    return {
        "blur": Path(str(root.joinpath(info["blur"]))),
        "sharp": Path(str(root.joinpath(info["sharp"]))),
        "info": info,
    }


def score(frames: list[np.ndarray], truth: list[np.ndarray]) -> dict:
    """PSNR/SSIM of frames against ground truth, by the evaluation protocol."""
    table = MetricTable()
    for frame, target in zip(frames, truth, strict=True):
        table.add_frame("sample", frame, target)
    return table.summary()


def claim_folder(output: Path) -> None:
    """Make ``output`` the demo's folder: new, empty, or an earlier demo's (whose results a re-run replaces).

    Raises:
        UserError: ``output`` is a file, or a folder holding files of its own.
    """
    if output.exists() and not output.is_dir():
        raise UserError(f"--output {output} exists and is not a folder.")
    if not output.exists():
        output.mkdir(parents=True)
    # A folder with nothing but the results is taken for an earlier demo's too (demos before the marker existed).
    earlier = (output / MARKER).is_file() or all(p.name in RESULTS for p in output.iterdir())
    if not earlier:
        raise UserError(f"The folder {output} already holds files and is not an earlier demo's output; choose a new "
                        f"or empty folder.")
    (output / MARKER).write_text("vdeblur demo results; a re-run of the demo replaces them.\n", encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """Deblur the sample into ``--output`` and print the scores."""
    from vdeblur.infer.deblurrer import Deblurrer

    sample = sample_files()
    output: Path = args.output
    claim_folder(output)
    deblurrer = Deblurrer(model=args.model, device=args.device, precision=args.precision)
    deblurred, side_by_side, compare = (output / name for name in RESULTS)
    deblurrer.deblur_video(sample["blur"], deblurred, compare=side_by_side, overwrite=True, progress=not args.quiet)

    blurry = list(iter_video_frames(sample["blur"]))
    sharp = list(iter_video_frames(sample["sharp"]))
    # Scored twice: the model's own output, and the written video, which adds H.264's loss on top.
    restored = list(deblurrer.deblur_frames(blurry))
    written = list(iter_video_frames(deblurred))
    rows = {
        "blurry input": score(blurry, sharp),
        "deblurred (model output)": score(restored, sharp),
        "deblurred (written H.264)": score(written, sharp),
    }

    middle = len(sharp) // 2
    write_image(compare, np.concatenate([blurry[middle], restored[middle], sharp[middle]], axis=1))
    metadata = getattr(deblurrer.model, "weights_metadata", {})
    print(f"sample: {sample['info']['description']}")
    # A run started from other weights counts its steps from there; initial_steps says how many those had.
    steps = metadata.get("steps", "?")
    if metadata.get("initial_steps") and steps != "?":
        steps = f"{metadata['initial_steps']} + {steps}"
    chosen = f"; auto: {deblurrer.model_choice.reason}" if deblurrer.model_choice is not None else ""
    print(f"model:  {metadata.get('model', args.model)} ({steps} training steps{chosen}); precision "
          f"{deblurrer.precision}")
    print()
    print("|                           | PSNR (dB) | SSIM   |")
    print("|---------------------------|-----------|--------|")
    for label, scores in rows.items():
        print(f"| {label:<25} | {scores['psnr']:9.2f} | {scores['ssim']:.4f} |")
    gain = rows["deblurred (model output)"]["psnr"] - rows["blurry input"]["psnr"]
    print()
    print(f"PSNR gain of the model: {gain:+.2f} dB over {len(sharp)} frames against the ground truth.")
    print(f"wrote {deblurred}, {side_by_side} (input | output) and {compare} (input | output | truth)")
    return 0
