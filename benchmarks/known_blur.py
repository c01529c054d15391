"""Straight-line blur whose kernel is known: sets to train on, and Wiener deconvolution as a reference.

The blur of the project's sets is a hand-held camera's path, different in every frame and never stored as a
kernel, so a deblurrer must find the blur before it can undo it. This tool separates the two halves. It blurs
the sharp frames of an existing set (``vdeblur-train-clean``: blur alone, no noise or codec) again, each with a
straight line kernel in linear light, and records the kernel in the sequence's ``synth.json``:

- ``--kernel fixed``: one kernel (11 px at 30 degrees) for every frame of every sequence. A model then never has
  to find the blur, only undo it.
- ``--kernel per-sequence``: one random kernel per sequence (4-20 px, any direction), seeded by the sequence's
  name. A model must find it in every window.

``wiener`` deconvolves each test frame with its sequence's true kernel (Wiener filter with a constant
noise-to-signal ratio, in linear light, the frame padded by reflection): what a linear filter gains when the blur
is known exactly, against which a trained model's gain can be read (BENCHMARKS.md, "Known blur against unknown
blur"). ``--wiener-output`` writes those deconvolved frames as a set of their own (``blur`` holds them), so a
model can be trained to refine them.

``front`` scores a model's learnt deconvolution front (``STANet(deconv_kernel=...)``) alone on the test frames of
any set, against the blurry input; on a line-kernel set it also compares the kernel the front estimates for the
frame's centred tile-sized crop with the true one (length and direction from the kernels' second moments).

Usage:
    python benchmarks/known_blur.py sets /work/data/vdeblur-train-clean /work/data/known-fixed --kernel fixed
    python benchmarks/known_blur.py wiener /work/data/known-fixed
    python benchmarks/known_blur.py front /work/data/known-fixed --model runs/deconv/best.safetensors
"""

from __future__ import annotations

import argparse
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio
from skimage.restoration import wiener
from tqdm import tqdm

from vdeblur.checkpoint import load_model
from vdeblur.io.images import read_image, write_image
from vdeblur.models.layers.deconvolution import srgb_to_linear as srgb_to_linear_torch
from vdeblur.synth.color import linear_to_srgb, srgb_to_linear

FIXED_KERNEL = (11.0, 30.0)  # length in pixels, direction in degrees (counter-clockwise from the x axis)
RANDOM_LENGTHS = (4.0, 20.0)
SPLITS = ("train", "test")


def splat_points(xs: np.ndarray, ys: np.ndarray, size: int) -> np.ndarray:
    """A normalised ``size × size`` kernel from points (pixel coordinates, all within ``[0, size - 1)``), each
    spread bilinearly over its four neighbouring pixels: finely spaced points along a path anti-alias it."""
    kernel = np.zeros((size, size), np.float64)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), weight)
    return kernel / kernel.sum()


def line_kernel(length: float, angle: float) -> np.ndarray:
    """A normalised straight-line blur kernel: ``length`` pixels along ``angle`` degrees, anti-aliased by
    splatting finely spaced points along the segment (odd size, centred)."""
    size = int(np.ceil(length)) + 3
    size += 1 - size % 2
    centre = size // 2
    t = np.linspace(-length / 2, length / 2, int(length * 20) + 1)
    # Image rows grow downwards.
    return splat_points(centre + t * np.cos(np.radians(angle)), centre - t * np.sin(np.radians(angle)), size)


def sequence_kernel(name: str, kind: str) -> tuple[float, float]:
    """``(length, angle)`` of a sequence's kernel: the fixed one, or one drawn from the sequence's name."""
    if kind == "fixed":
        return FIXED_KERNEL
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return float(rng.uniform(*RANDOM_LENGTHS)), float(rng.uniform(0.0, 180.0))


def blur_frame(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """An sRGB frame in [0, 1] blurred by ``kernel`` in linear light (borders reflected)."""
    linear = cv2.filter2D(srgb_to_linear(image), -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT)
    return np.clip(linear_to_srgb(np.clip(linear, 0.0, 1.0)), 0.0, 1.0)


def wiener_frame(image: np.ndarray, kernel: np.ndarray, noise_to_signal: float) -> np.ndarray:
    """An sRGB frame in [0, 1] deconvolved by ``kernel`` in linear light: a Wiener filter with a constant
    noise-to-signal ratio (scikit-image's, with the identity as regulariser), the frame padded by reflection so
    that the filter's circular convolution does not wrap one border onto the other."""
    pad = kernel.shape[0] * 2
    # "symmetric" repeats the edge pixel, as OpenCV's BORDER_REFLECT did when the frame was blurred.
    linear = np.pad(srgb_to_linear(image).astype(np.float64), ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    identity = np.ones((1, 1))
    channels = [wiener(linear[..., c], kernel, noise_to_signal, reg=identity, clip=False) for c in range(3)]
    restored = np.stack(channels, axis=-1)[pad:-pad, pad:-pad]
    return np.clip(linear_to_srgb(np.clip(restored, 0.0, 1.0)), 0.0, 1.0)


def _sequences(root: Path, split: str) -> list[Path]:
    folder = root / split
    return sorted(p for p in folder.iterdir() if (p / "sharp").is_dir()) if folder.is_dir() else []


def _recorded_kernel(sequence: Path) -> dict | None:
    """The line kernel a sequence's ``synth.json`` records (``length``, ``angle``), or None."""
    path = sequence / "synth.json"
    return json.loads(path.read_text()).get("kernel") if path.is_file() else None


def _kernel_of(sequence: Path) -> np.ndarray:
    recorded = _recorded_kernel(sequence)
    if recorded is None:
        raise SystemExit(f"{sequence} records no line kernel in synth.json; make the set with `known_blur.py sets`.")
    return line_kernel(recorded["length"], recorded["angle"])


def _link_sharp(sequence: Path, target: Path) -> None:
    link = target / "sharp"
    if not link.is_symlink() and not link.exists():  # a link left by an interrupted run is kept
        link.symlink_to((sequence / "sharp").resolve())


def _write_set(source: Path, output: Path, label: str, frames_from: str,
               restyle: Callable[[Path], tuple[Callable[[np.ndarray], np.ndarray], str]]) -> None:
    """Write every sequence of ``source``'s splits into ``output``: its ``frames_from`` frames through the function
    ``restyle(sequence)`` gives as ``blur`` frames, its sharp frames linked, and the ``synth.json`` text it gives
    written last, which marks the sequence done, so that an interrupted run resumes."""
    for split in SPLITS:
        for sequence in tqdm(_sequences(source, split), desc=f"{label} {split}", unit="seq"):
            target = output / split / sequence.name
            if (target / "synth.json").exists():
                continue
            apply, metadata = restyle(sequence)
            (target / "blur").mkdir(parents=True, exist_ok=True)
            _link_sharp(sequence, target)
            for frame in sorted((sequence / frames_from).glob("*.png")):
                write_image(target / "blur" / frame.name, apply(read_image(frame)))
            (target / "synth.json").write_text(metadata)


def make_sets(source: Path, output: Path, kind: str) -> None:
    """Blur every sequence of ``source``'s splits again with a line kernel into ``output``."""

    def restyle(sequence: Path) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
        length, angle = sequence_kernel(sequence.name, kind)
        kernel = line_kernel(length, angle)
        metadata = json.loads((sequence / "synth.json").read_text())
        metadata.update(blur=length, kernel={"kind": "line", "length": length, "angle": angle})
        return (lambda image: blur_frame(image, kernel)), json.dumps(metadata, indent=1)

    _write_set(source, output, kind, "sharp", restyle)


def score_wiener(root: Path, noise_to_signal: float, frames_per_sequence: int, output: Path | None) -> None:
    """PSNR of the blurry test frames and of their Wiener deconvolution by the true kernel; with ``output``,
    write the deconvolved frames of both splits as a set."""
    inputs, restored = [], []
    for sequence in tqdm(_sequences(root, "test"), desc="wiener", unit="seq"):
        kernel = _kernel_of(sequence)
        for frame in _middle_frames(sequence, frames_per_sequence):
            blurry, sharp = read_image(frame), read_image(sequence / "sharp" / frame.name)
            inputs.append(peak_signal_noise_ratio(sharp, blurry, data_range=1.0))
            deconvolved = wiener_frame(blurry, kernel, noise_to_signal).astype(np.float32)
            restored.append(peak_signal_noise_ratio(sharp, deconvolved, data_range=1.0))
    print(f"{root}: {len(inputs)} test frames, input {np.mean(inputs):.2f} dB, Wiener with the true kernel "
          f"(noise-to-signal {noise_to_signal:g}) {np.mean(restored):.2f} dB")
    if output is None:
        return

    def restyle(sequence: Path) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
        kernel = _kernel_of(sequence)
        return (lambda image: wiener_frame(image, kernel, noise_to_signal)), (sequence / "synth.json").read_text()

    _write_set(root, output, "write", "blur", restyle)


def _middle_frames(sequence: Path, count: int) -> list[Path]:
    """The ``count`` middle blurry frames of a sequence (all of the 8 of a validation sequence)."""
    frames = sorted((sequence / "blur").glob("*.png"))
    middle = len(frames) // 2
    return frames[max(middle - count // 2, 0):][:count]


def kernel_shape(kernel: np.ndarray) -> tuple[float, float]:
    """``(length, angle)`` of a blur kernel from its second moments: the length of a uniform line of the same
    variance along the principal axis (variance L²/12), and that axis in degrees counter-clockwise from x."""
    ys, xs = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
    weights = kernel / kernel.sum()
    mx, my = (weights * xs).sum(), (weights * ys).sum()
    dx, dy = xs - mx, -(ys - my)  # y up, as line_kernel's angle
    covariance = np.array([[(weights * dx * dx).sum(), (weights * dx * dy).sum()],
                           [(weights * dx * dy).sum(), (weights * dy * dy).sum()]])
    values, vectors = np.linalg.eigh(covariance)
    major = vectors[:, 1]
    return float(np.sqrt(12 * values[1])), float(np.degrees(np.arctan2(major[1], major[0])) % 180)


def score_front(root: Path, weights: Path, frames_per_sequence: int) -> None:
    """PSNR of a model's deconvolution front alone on a set's test frames, and on a line-kernel set the shape of
    the kernel it estimates for each frame's centred tile-sized crop against the true kernel's."""
    model = load_model(weights).eval()
    front = getattr(model, "front", None)
    if front is None:
        raise SystemExit(f"{weights} has no deconvolution front (train it with model.kwargs.deconv_kernel).")
    inputs, restored = [], []
    for sequence in _sequences(root, "test"):
        recorded = _recorded_kernel(sequence)
        shapes = []
        for frame in tqdm(_middle_frames(sequence, frames_per_sequence), desc=sequence.name, unit="frame"):
            blurry, sharp = read_image(frame), read_image(sequence / "sharp" / frame.name)
            tensor = torch.from_numpy(blurry).permute(2, 0, 1)[None]
            with torch.no_grad():
                deconvolved = front(tensor)[0].permute(1, 2, 0).numpy()
                height, width = blurry.shape[:2]
                size = min(front.tile, height, width)
                top, left = (height - size) // 2, (width - size) // 2
                grey = srgb_to_linear_torch(tensor[0, :, top : top + size, left : left + size]).mean(0)[None]
                kernel = front.estimator(grey).kernels
            inputs.append(peak_signal_noise_ratio(sharp, blurry, data_range=1.0))
            restored.append(peak_signal_noise_ratio(sharp, deconvolved, data_range=1.0))
            shapes.append(kernel_shape(kernel[0].numpy()))
        if recorded is not None:
            true_length, true_angle = kernel_shape(line_kernel(recorded["length"], recorded["angle"]))
            lengths, angles = np.array(shapes).T
            # Directions wrap at 180°: the mean of the doubled angles, halved (178° and 2° give 0°, not 90°).
            doubled = np.radians(2 * angles)
            angle = np.degrees(np.arctan2(np.sin(doubled).mean(), np.cos(doubled).mean())) / 2 % 180
            print(f"{sequence.name}: true kernel {true_length:.1f} px at {true_angle:.0f} deg; estimated (median "
                  f"of {len(shapes)} frames; direction: their circular mean) {np.median(lengths):.1f} px "
                  f"at {angle:.0f} deg")
    print(f"{root}: {len(inputs)} test frames, input {np.mean(inputs):.2f} dB, the front alone "
          f"{np.mean(restored):.2f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sets = commands.add_parser("sets", help="blur a set's sharp frames again with line kernels")
    sets.add_argument("source", type=Path, help="a set in GOPRO layout (train/ and test/ of sequences)")
    sets.add_argument("output", type=Path)
    sets.add_argument("--kernel", choices=("fixed", "per-sequence"), required=True)
    score = commands.add_parser("wiener", help="Wiener deconvolution of a line-kernel set's test frames")
    score.add_argument("root", type=Path, help="a set made by `sets`")
    score.add_argument("--noise-to-signal", type=float, default=0.01)
    score.add_argument("--frames", type=int, default=8,
                       help="middle frames scored per sequence (the validation sequences have 8, all of which "
                            "vdeblur eval scores)")
    score.add_argument("--wiener-output", type=Path, help="also write the deconvolved frames as a set here")
    front = commands.add_parser("front", help="score a model's deconvolution front alone on a set's test frames")
    front.add_argument("root", type=Path, help="a set in GOPRO layout")
    front.add_argument("--model", type=Path, required=True, help="weights of a model with a deconvolution front")
    front.add_argument("--frames", type=int, default=8, help="middle frames scored per sequence")
    args = parser.parse_args()
    root = args.source if args.command == "sets" else args.root
    if not any(_sequences(root, split) for split in SPLITS):
        parser.error(f"{root} has no sequences (train/ or test/ folders of sequences with sharp/ frames)")
    if args.command == "wiener" and (args.frames < 1 or args.noise_to_signal <= 0):
        parser.error("--frames must be 1 or more and --noise-to-signal positive")
    if args.command == "front" and args.frames < 1:
        parser.error("--frames must be 1 or more")
    if args.command == "sets":
        make_sets(args.source, args.output, args.kernel)
    elif args.command == "wiener":
        score_wiener(args.root, args.noise_to_signal, args.frames, args.wiener_output)
    else:
        score_front(args.root, args.model, args.frames)


if __name__ == "__main__":
    main()
