"""Make the pictures of docs/DATA.md: blurred | sharp crops from the built sets, and one photo at 4 blur lengths.

    python scripts/make_data_pictures.py /work/data docs/images
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from vdeblur.io.atomic import atomic_output

# (set, sequence, frame, crop centre as fractions of width/height): strong, mild, footage and photographs
PANELS = {
    "data_train_examples.png": [
        ("vdeblur-train/train", "RainDrops_01", 10, (0.5, 0.5)),
        ("vdeblur-train/train", "building_01", 10, (0.5, 0.5)),
        ("vdeblur-train/train", "Aqua_01", 10, (0.5, 0.5)),
        ("vdeblur-train/train", "vtest_06", 15, (0.45, 0.55)),
        ("vdeblur-train/train", "fruits_01", 10, (0.5, 0.5)),
        ("vdeblur-train/train", "Dune_00", 10, (0.5, 0.5)),
    ],
    "data_bench_examples.png": [
        ("vdeblur-bench/test", "bikes_02", 12, (0.5, 0.5)),
        ("vdeblur-bench/test", "bikes_01", 12, (0.5, 0.5)),
        ("vdeblur-bench/test", "carphone_pristine_00", 12, (0.5, 0.5)),
        ("vdeblur-bench/test", "astronaut_00", 12, (0.5, 0.4)),
    ],
}
CROP = 256
# The blur-strength row: one MATE photograph (dandelion seeds) at these median blur lengths, sharp first.
STRENGTH_PHOTO = "sources/unpacked/usr/share/backgrounds/mate/nature/TwoWings.jpg"
STRENGTHS = (3.0, 10.0, 20.0, 40.0)


def _crop(image: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    height, width = image.shape[:2]
    size_y, size_x = min(CROP, height), min(CROP, width)
    top = int(np.clip(centre[1] * height - size_y / 2, 0, height - size_y))
    left = int(np.clip(centre[0] * width - size_x / 2, 0, width - size_x))
    out = np.full((CROP, CROP, 3), 255, np.uint8)
    out[:size_y, :size_x] = image[top : top + size_y, left : left + size_x]
    return out


def _labelled(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` under a 20-pixel white strip holding ``text``."""
    label = np.full((20, image.shape[1], 3), 255, np.uint8)
    cv2.putText(label, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([label, image])


def _write(path: Path, image: np.ndarray) -> None:
    with atomic_output(path) as tmp:
        if not cv2.imwrite(str(tmp), image):
            raise OSError(f"cannot write {path}")
    print(f"wrote {path}")


def blur_strength_row(photo: Path, path: Path, long_side: int = 640) -> None:
    """Synthesize ``photo`` once per length of `STRENGTHS` (same seed, nothing but shake) and write the crops.

    The shake path has the same shape in every run (same seed), but the canvas margin grows with it, so the
    crops are not exactly aligned.
    """
    from vdeblur.synth import SynthConfig, synthesize

    panels = []
    with tempfile.TemporaryDirectory() as folder:
        for blur in STRENGTHS:
            config = SynthConfig(frames=1, long_side=long_side, blur_min=blur, blur_max=blur, object_probability=0.0,
                                 parallax_probability=0.0, highlight_probability=0.0, noise=0.0, codec="none")
            out = Path(folder) / f"{blur:g}"
            (name,) = synthesize([photo], out, seed=0, config=config)
            sequence = out / "train" / name
            if not panels:
                panels.append(_labelled(_crop(cv2.imread(str(sequence / "sharp" / "000000.png")), (0.5, 0.5)), "sharp"))
            blurred = cv2.imread(str(sequence / "blur" / "000000.png"))
            panels.append(_labelled(_crop(blurred, (0.5, 0.5)), f"median blur {blur:g} px"))
    gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
    _write(path, np.hstack([part for panel in panels for part in (panel, gap)][:-1]))


def _caption(facts: dict, name: str) -> str:
    if facts["kind"] == "video":
        motion = f"footage {facts['footage_blur']:.0f}px + shake {facts['shake_blur']:.0f}px"
    else:
        motion = f"shake {facts['blur']:.0f}px"
    extras = [k for k in ("objects", "foreground", "lights") if facts.get(k)]
    degradation = facts["degradation"]
    noise = "noise" if degradation["shot"] else "clean"
    return f"{name}: {motion}, {noise}, {degradation['codec']}" + (f", {'+'.join(extras)}" if extras else "")


def main(data: Path, images: Path) -> None:
    """Write every picture of docs/DATA.md into ``images`` from the sets and sources under ``data``."""
    images.mkdir(parents=True, exist_ok=True)
    for filename, panels in PANELS.items():
        rows = []
        for folder, name, frame, centre in panels:
            sequence = data / folder / name
            if not sequence.is_dir():
                print(f"skipping {sequence}: not built")
                continue
            facts = json.loads((sequence / "synth.json").read_text())
            pair = [cv2.imread(str(sequence / kind / f"{frame:06d}.png")) for kind in ("blur", "sharp")]
            row = np.hstack([_crop(pair[0], centre), np.full((CROP, 4, 3), 255, np.uint8), _crop(pair[1], centre)])
            rows.append(_labelled(row, _caption(facts, name)))
        if not rows:
            print(f"skipping {filename}: none of its sequences is built")
            continue
        grid = [np.hstack([rows[i], np.full_like(rows[i][:, :8], 255), rows[i + 1]]) if i + 1 < len(rows) else rows[i]
                for i in range(0, len(rows), 2)]
        width = max(g.shape[1] for g in grid)
        grid = [np.pad(g, ((0, 6), (0, width - g.shape[1]), (0, 0)), constant_values=255) for g in grid]
        _write(images / filename, np.vstack(grid))
    if (data / STRENGTH_PHOTO).is_file():
        blur_strength_row(data / STRENGTH_PHOTO, images / "data_blur_strength.png")
    else:
        print(f"skipping data_blur_strength.png: {data / STRENGTH_PHOTO} not unpacked")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder holding vdeblur-train and vdeblur-bench")
    parser.add_argument("images", type=Path, help="folder to write the pictures into (docs/images)")
    arguments = parser.parse_args()
    main(arguments.data, arguments.images)
