"""Encoder settings of the written video: what each keeps of the model's output, its size and its encoding time.

The user sees only the written file, so its loss counts against the model. Each setting encodes the model's
output frames with :class:`vdeblur.io.video.VideoWriter` (the writer ``vdeblur deblur`` uses, with the source's
colour tags and frame rate), decodes the file back and scores it by the evaluation protocol (RGB, 8 bits) against
the model's output and against the ground truth. Rows without an encoder convert the model's output to the pixel
format and back, uncompressed: what the chroma subsampling (4:2:0) or the bit depth costs by itself.

Clips:
- ``demo``: the bundled sample (``vdeblur demo``; 24 frames, 640x272).
- ``720p``: the same sample's blurred and sharp clips upscaled (bicubic, antialiased) by 720/272 and centre-cropped
  to 1280x720: real footage at the size users deblur most, though smoother than a native 720p camera's.

Encoding time is the median of ``--repeats`` encodes (RGB->YUV conversion included, FFmpeg's thread count).

``--closer F`` stands in for a better model: it scores ``(1 - F) * output + F * truth`` instead of the output, to
see whether a setting keeps its margin as the model improves.

Usage:
    python benchmarks/encoder_settings.py [--model sta-wide] [--clips demo 720p] [--repeats 3] [--closer F]
        [--frames N] [--only REGEX]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from vdeblur.commands.demo import sample_files, score
from vdeblur.io.atomic import atomic_output
from vdeblur.io.video import FROM_RGB_FLAGS, TO_RGB_FLAGS, ColorInfo, VideoReader, VideoWriter

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Setting:
    """One way to write the video; ``codec`` None converts to ``pixel_format`` and back without encoding."""

    label: str
    codec: str | None = "libx264"
    crf: int = 18
    pixel_format: str = "yuv420p"
    options: dict[str, str] = field(default_factory=dict)
    swscale_default: bool = False  # convert with swscale's default flags, not the reader's and writer's


def _x264(crf: int, pixel_format: str = "yuv420p", **options: str) -> Setting:
    extra = "".join(f", {key} {value}" for key, value in options.items())
    return Setting(f"x264 CRF {crf}, {pixel_format}{extra}", "libx264", crf, pixel_format, options)


SETTINGS = [
    Setting("no encoder: yuv444p (8-bit YUV only)", None, pixel_format="yuv444p"),
    Setting("no encoder: yuv420p, swscale's default conversion", None, pixel_format="yuv420p", swscale_default=True),
    Setting("no encoder: yuv420p (4:2:0 chroma)", None, pixel_format="yuv420p"),
    Setting("no encoder: yuv420p10le", None, pixel_format="yuv420p10le"),
    *(_x264(crf) for crf in (23, 18, 16, 14, 12, 10, 8)),
    *(_x264(18, preset=preset) for preset in ("ultrafast", "veryfast", "slow", "veryslow")),
    *(_x264(crf, preset="slow") for crf in (14, 12)),
    *(_x264(18, tune=tune) for tune in ("film", "grain", "psnr")),
    *(_x264(crf, tune="grain") for crf in (14, 12)),
    *(_x264(crf, "yuv444p") for crf in (18, 14, 12)),
    *(_x264(crf, "yuv420p10le") for crf in (18, 14, 12)),
    _x264(14, "yuv444p10le"),
]


def demo_clip() -> tuple[list[np.ndarray], list[np.ndarray], Fraction, ColorInfo]:
    """Blurred and sharp frames of the bundled sample, its frame rate and colour tags."""
    sample = sample_files()
    with VideoReader(sample["blur"]) as reader:
        blurry = [frame.image for frame in reader]
        rate, color = reader.info.frame_rate or Fraction(25), reader.color
    with VideoReader(sample["sharp"]) as reader:
        sharp = [frame.image for frame in reader]
    return blurry, sharp, rate, color


def upscaled(frames: list[np.ndarray], height: int = 720, width: int = 1280) -> list[np.ndarray]:
    """Frames scaled (bicubic, antialiased) to ``height`` rows and centre-cropped to ``width`` columns."""
    out = []
    for frame in frames:
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
        scaled_width = round(frame.shape[1] * height / frame.shape[0])
        x = torch.nn.functional.interpolate(x, size=(height, scaled_width), mode="bicubic", antialias=True)
        left = (scaled_width - width) // 2
        x = x[..., left : left + width].clamp(0, 255).round().to(torch.uint8)
        out.append(x[0].permute(1, 2, 0).numpy().copy())
    return out


def to_8_bits(image: np.ndarray) -> np.ndarray:
    """A decoded frame in 8 bits, rounding 16-bit RGB (from 10-bit video) as a display would."""
    if image.dtype == np.uint8:
        return image
    return np.round(image.astype(np.float32) / 257.0).astype(np.uint8)


def encode(frames: list[np.ndarray], setting: Setting, path: Path, rate: Fraction, color: ColorInfo) -> float:
    """Write ``frames`` to ``path`` with ``setting``; returns the seconds it took."""
    start = time.perf_counter()
    with VideoWriter(path, rate, codec=setting.codec, crf=setting.crf, color=color, pixel_format=setting.pixel_format,
                     options=setting.options) as writer:
        for frame in frames:
            writer.write(frame)
    return time.perf_counter() - start


def convert(frames: list[np.ndarray], setting: Setting, color: ColorInfo) -> list[np.ndarray]:
    """RGB -> ``pixel_format`` -> RGB with the writer's and reader's conversions, without encoding."""
    rgb_format = "rgb48le" if "10" in setting.pixel_format else "rgb24"
    to_yuv, to_rgb = (None, None) if setting.swscale_default else (FROM_RGB_FLAGS, TO_RGB_FLAGS[rgb_format])
    out = []
    for frame in frames:
        yuv = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
            format=setting.pixel_format, dst_colorspace=color.sws_colorspace, dst_color_range=color.sws_range,
            interpolation=to_yuv)
        rgb = yuv.to_ndarray(format=rgb_format, src_colorspace=color.sws_colorspace, src_color_range=color.sws_range,
                             interpolation=to_rgb)
        out.append(to_8_bits(rgb))
    return out


def measure(setting: Setting, restored: list[np.ndarray], sharp: list[np.ndarray], rate: Fraction,
            color: ColorInfo, folder: Path, repeats: int) -> dict:
    """Scores against the model's output and the ground truth; for encoders also bytes and seconds."""
    row: dict = {"label": setting.label}
    if setting.codec is None:
        written = convert(restored, setting, color)
    else:
        path = folder / "written.mp4"
        seconds = [encode(restored, setting, path, rate, color) for _ in range(repeats)]
        row["encode_s"] = statistics.median(seconds)
        row["bytes"] = path.stat().st_size
        with VideoReader(path) as reader:
            written = [to_8_bits(frame.image) for frame in reader]
    row["vs_model"] = score(written, restored)
    row["vs_truth"] = score(written, sharp)
    return row


def run_clip(name: str, model: str, repeats: int, closer: float, settings: list[Setting], frames: int) -> dict:
    """Deblur the clip's first ``frames`` frames once, then measure every setting on the model's output."""
    from vdeblur.infer.deblurrer import Deblurrer

    blurry, sharp, rate, color = demo_clip()
    blurry, sharp = blurry[:frames], sharp[:frames]
    if name == "720p":
        blurry, sharp = upscaled(blurry), upscaled(sharp)
    start = time.perf_counter()
    restored = list(Deblurrer(model=model).deblur_frames(blurry))
    print(f"{name}: model ran {len(blurry)} frames in {time.perf_counter() - start:.0f} s", flush=True)
    if closer:
        restored = [np.round((1 - closer) * r + closer * s.astype(np.float64)).astype(np.uint8)
                    for r, s in zip(restored, sharp, strict=True)]
    report = {
        "clip": name, "closer": closer, "size": f"{sharp[0].shape[1]}x{sharp[0].shape[0]}", "frames": len(sharp),
        "frame_rate": str(rate), "blurry_vs_truth": score(blurry, sharp), "model_vs_truth": score(restored, sharp),
        "rows": [],
    }
    with tempfile.TemporaryDirectory(prefix="vdeblur-encoder-") as folder:
        for setting in settings:
            report["rows"].append(measure(setting, restored, sharp, rate, color, Path(folder), repeats))
            print(f"{name}: {_row_text(report, report['rows'][-1])}", flush=True)
    return report


def _row_text(report: dict, row: dict) -> str:
    baseline = next((r for r in report["rows"] if r["label"] == "x264 CRF 18, yuv420p"), None)
    loss = row["vs_truth"]["psnr"] - report["model_vs_truth"]["psnr"]
    size = f"{row['bytes'] / 1024:.0f} KiB" if "bytes" in row else "—"
    time_text = "—"
    if "encode_s" in row:
        ms = 1000 * row["encode_s"] / report["frames"]
        ratio = f" ({row['encode_s'] / baseline['encode_s']:.2f}×)" if baseline else ""
        time_text = f"{ms:.1f}{ratio}"
    return (f"{row['label']} | {row['vs_model']['psnr']:.2f} | {row['vs_model']['ssim']:.4f} | "
            f"{row['vs_truth']['psnr']:.2f} | {loss:+.3f} | {row['vs_truth']['ssim']:.4f} | {size} | {time_text}")


def markdown(report: dict) -> str:
    """One table per clip: the setting's scores, its loss against the model's output, size and time."""
    moved = f", output moved {100 * report['closer']:.0f} % of the way to the truth" if report["closer"] else ""
    lines = [
        f"{report['clip']} ({report['size']}, {report['frames']} frames{moved}): blurry input "
        f"{report['blurry_vs_truth']['psnr']:.2f} dB, model output {report['model_vs_truth']['psnr']:.2f} dB / "
        f"{report['model_vs_truth']['ssim']:.4f} against the ground truth.",
        "",
        "| setting | PSNR vs model (dB) | SSIM vs model | PSNR vs truth (dB) | change vs model output (dB) "
        "| SSIM vs truth | size | encode ms/frame (× CRF 18 yuv420p) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {_row_text(report, row)} |" for row in report["rows"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sta-wide", help="model name, run directory or weights file")
    parser.add_argument("--clips", nargs="+", choices=("demo", "720p"), default=["demo", "720p"])
    parser.add_argument("--repeats", type=int, default=3, help="encodes per setting; the time is their median")
    parser.add_argument("--closer", type=float, default=0.0,
                        help="score the output moved this share of the way to the truth (a better model)")
    parser.add_argument("--frames", type=int, default=24, help="the clips' first frames to use (at most 24)")
    parser.add_argument("--only", default="", help="measure only the settings whose label matches this regex")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "encoder_settings.json")
    args = parser.parse_args()
    settings = [setting for setting in SETTINGS if re.search(args.only, setting.label)]
    reports = []
    load_before = os.getloadavg()
    for clip in args.clips:
        reports.append(run_clip(clip, args.model, args.repeats, args.closer, settings, args.frames))
        print(markdown(reports[-1]), flush=True)
    result = {"model": args.model, "repeats": args.repeats, "load_average_before": load_before,
              "load_average_after": os.getloadavg(), "cpus": os.cpu_count(), "clips": reports}
    with atomic_output(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
