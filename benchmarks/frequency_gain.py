"""Which spatial frequencies a model restores: the blur's loss and the model's output, band by band.

PSNR weighs every frequency alike, and most of an image's energy lies at low frequencies, so a gain of 1 dB
can come from anywhere. Visible sharpness lives at the high ones (edges, texture). For every frame of a test
set this compares the luma of the blurry input, the model's output and the sharp target in the Fourier domain
(each frame under a Hann window, so that the frame's border adds no spurious high frequencies), and sums the
power over octave bands of radial frequency. Per band it reports:

- ``input``, ``output``: the amplitude each keeps of the target's, sqrt(sum |F(x)|^2 / sum |F(sharp)|^2). Blur
  lowers it at high frequencies; a deblurrer should bring it back towards 1 (above 1 is ringing or noise).
- ``error removed``: 1 - sum |F(output - sharp)|^2 / sum |F(input - sharp)|^2, the share of the input's error
  energy in the band that the model takes away (negative where it adds error).

Usage:
    python benchmarks/frequency_gain.py --model sta-fast --data /work/data/vdeblur-bench
"""

from __future__ import annotations

import argparse
import functools

import numpy as np
import torch

from vdeblur.data import find_sequences
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.io.images import read_image

# Octave bands of radial frequency in cycles per pixel; 0.5 is the Nyquist limit along an axis, and the corners
# of the spectrum reach 0.71.
BAND_EDGES = (0.0, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 0.75)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)  # BT.601, the protocol's Y for SSIM on grey images


@functools.lru_cache(maxsize=8)
def window_and_bands(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The Hann window of a frame of this size, and :func:`band_index`: the same for every frame of a set."""
    return np.outer(np.hanning(height), np.hanning(width)), band_index(height, width)


def band_index(height: int, width: int) -> np.ndarray:
    """The band of every bin of an ``height`` x ``width`` 2-D FFT (-1 for the DC bin, which no band takes)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    radius = np.hypot(fy, fx)
    index = np.digitize(radius, BAND_EDGES[1:-1])
    index[0, 0] = -1
    return index


def band_power(image: np.ndarray, window: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Power of the windowed luma ``image`` (H, W) summed over each band."""
    power = np.abs(np.fft.fft2(image * window)) ** 2
    return np.array([power[bands == b].sum() for b in range(len(BAND_EDGES) - 1)])


class BandTotals:
    """Running per-band sums over frames: the target's power, the input's and output's, and their errors'."""

    def __init__(self) -> None:
        self.sums = {key: np.zeros(len(BAND_EDGES) - 1) for key in ("sharp", "input", "output", "in_err", "out_err")}

    def add(self, blurry: np.ndarray, restored: np.ndarray, sharp: np.ndarray) -> None:
        window, bands = window_and_bands(*sharp.shape)
        frames = {"sharp": sharp, "input": blurry, "output": restored, "in_err": blurry - sharp,
                  "out_err": restored - sharp}
        for key, image in frames.items():
            self.sums[key] += band_power(image, window, bands)

    def rows(self) -> list[tuple[str, float, float, float]]:
        rows = []
        for b in range(len(BAND_EDGES) - 1):
            sharp = self.sums["sharp"][b]
            rows.append((
                f"{BAND_EDGES[b]:.3f}-{BAND_EDGES[b + 1]:.3f}",
                float(np.sqrt(self.sums["input"][b] / sharp)),
                float(np.sqrt(self.sums["output"][b] / sharp)),
                float(1 - self.sums["out_err"][b] / self.sums["in_err"][b]),
            ))
        return rows


def luma(frame: torch.Tensor | np.ndarray) -> np.ndarray:
    """Luma in [0, 255] of a CHW tensor or HWC array in [0, 1], rounded to 8 bits as the protocol scores."""
    array = frame.permute(1, 2, 0).numpy() if isinstance(frame, torch.Tensor) else frame
    return np.round(np.clip(array, 0, 1) * 255).astype(np.float64) @ _LUMA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="sta-fast")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    torch.set_num_threads(1)
    deblurrer = Deblurrer(args.model, "cpu", precision="fp32", scene_cuts=False)  # data-set sequences: one shot each
    totals = BandTotals()
    for sequence in find_sequences(args.data, "auto", args.split):
        blurry = [read_image(path) for path in sequence.blur]
        frames = (torch.from_numpy(image.transpose(2, 0, 1).copy()) for image in blurry)
        for image, restored, sharp_path in zip(blurry, deblurrer.deblur_frames(frames), sequence.sharp, strict=True):
            totals.add(luma(image), luma(restored), luma(read_image(sharp_path)))
    print(f"{args.model} on {args.data} ({args.split}); amplitude kept of the target's, and error energy removed")
    print("| band (cycles/px) | input | output | error removed |")
    print("|---|---:|---:|---:|")
    for band, kept_in, kept_out, removed in totals.rows():
        print(f"| {band} | {kept_in:.3f} | {kept_out:.3f} | {removed:+.1%} |")


if __name__ == "__main__":
    main()
