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
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter, laplace

from vdeblur.data import find_sequences
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.io.atomic import atomic_output
from vdeblur.io.images import read_image, write_image
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


def real_blur(deblurrers: dict[str, Deblurrer]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Restore scikit-image's clock_motion.png (real camera motion blur) with each model."""
    from skimage import data

    image = read_image(Path(data.__file__).parent / "clock_motion.png")
    outputs = {"blurry input": image}
    for name, deblurrer in deblurrers.items():
        # A still photograph: every frame of the window is the same image.
        outputs[name] = deblurrer.deblur_clip(
            torch.from_numpy(image.transpose(2, 0, 1)).expand(deblurrer.num_frames, -1, -1, -1)[None]
        )[0].permute(1, 2, 0).numpy()
    return {name: sharpness(out) for name, out in outputs.items()}, outputs


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the benchmark set (GOPRO layout, split test)")
    parser.add_argument("--tune-data", type=Path, required=True, help="validation data for the classical baseline")
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=SPEC", help="model to score")
    parser.add_argument("--bf16", action="store_true", help="run models under bf16 autocast (default fp32)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.manual_seed(0)

    sequences = find_sequences(args.data, split="test")
    sigma, amount = tune_unsharp(args.tune_data)
    restorers = {"blurry input": identity_restorer, f"unsharp mask (σ={sigma:g}, a={amount:g})": unsharp_restorer(sigma, amount)}
    deblurrers, rows = {}, {}
    for item in args.model:
        label, spec = item.split("=", 1)
        deblurrers[label] = Deblurrer(spec, "cpu", bf16=args.bf16)
        restorers[label] = deblurrers[label].deblur_frames

    saved = {label: args.out / "outputs" / f"method_{i}" for i, label in enumerate(restorers)}
    for label, restore in restorers.items():
        start = time.perf_counter()
        summary = evaluate_sequences(sequences, restore, save_outputs=saved[label], progress=False)
        seconds = time.perf_counter() - start
        row = {"summary": summary, "seconds": seconds}
        if label in deblurrers:
            model = deblurrers[label].model
            cost = measure_cost(model.model_name, 720, 1280)
            row.update(
                model=model.model_name,
                steps=model.weights_metadata.get("steps"),
                parameters=cost.parameters,
                gflops_720p=cost.streaming_gflops or cost.window_gflops,
            )
        rows[label] = row
        print(f"{label}: {summary['psnr']:.2f} dB / {summary['ssim']:.4f} ({seconds:.0f} s)", flush=True)

    sharp_scores, real_outputs = real_blur(deblurrers)
    write_image(args.out / "quality_crops.png", crops_figure(sequences, saved))
    write_image(args.out / "quality_real_blur.png", np.concatenate(list(real_outputs.values()), axis=1))
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


def markdown(report: dict) -> str:
    """Mean table, per-sequence PSNR table and the real-blur sharpness table."""
    methods = report["methods"]
    lines = [
        "| method | steps | params | GFLOPs/frame @720p | PSNR (frames) | SSIM (frames) | PSNR (seq. mean) | SSIM (seq. mean) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in methods.items():
        s = row["summary"]
        params = f"{row['parameters'] / 1e6:.2f} M" if "parameters" in row else "–"
        gflops = f"{row['gflops_720p']:.1f}" if "gflops_720p" in row else "–"
        lines.append(
            f"| {label} | {row.get('steps') or '–'} | {params} | {gflops} | {s['psnr']:.2f} | {s['ssim']:.4f} | "
            f"{s['sequence_mean']['psnr']:.2f} | {s['sequence_mean']['ssim']:.4f} |"
        )
    names = list(next(iter(methods.values()))["summary"]["sequences"])
    lines += ["", "| sequence | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for name in names:
        cells = [f"{row['summary']['sequences'][name]['psnr']:.2f}" for row in methods.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| real blur (clock_motion.png) | sharpness (var. of Laplacian) |", "|---|---:|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in report["real_blur_sharpness"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
