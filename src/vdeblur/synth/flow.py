"""Motion-compensated frame interpolation with DIS optical flow, to raise the frame rate of real footage.

Averaging frames that are far apart in time gives ghosts (separate copies of a moving edge), not blur. The
exposure is therefore sampled finely and each sample between two source frames is predicted by warping both
neighbours along the optical flow (Jiang et al., "Super SloMo", CVPR 2018, equations 4-5: the flow from the
intermediate time is approximated from the two flows between the neighbours), blended with weights that drop
where a pixel is hidden in one of them (forward-backward check).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from vdeblur.synth.color import boost_highlights, srgb_to_linear


def _warp(image: np.ndarray, flow: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``image(p + flow(p))`` for every pixel p (backward warping, bilinear, edges replicated)."""
    coords = grid + flow
    return cv2.remap(image, coords[..., 0], coords[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class FlowInterpolator:
    """Frames of a clip at any fractional time, in linear light.

    Args:
        frames: uint8 RGB ``(H, W, 3)`` source frames, consecutive.
        highlight_gain: `boost_highlights` gain applied when a frame is turned into linear light.
        to_linear: the inverse of the camera response that encoded the frames (values in [0, 1]).

    Flows are computed on demand and only the most recent pairs are kept, so memory stays bounded when a
    long clip is rendered front to back.
    """

    def __init__(
        self, frames: list[np.ndarray], highlight_gain: float = 1.0,
        to_linear: Callable[[np.ndarray], np.ndarray] = srgb_to_linear,
    ) -> None:
        self.frames = frames
        self.highlight_gain = highlight_gain
        self.to_linear = to_linear
        height, width = frames[0].shape[:2]
        xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self._grid = np.stack([xs, ys], axis=-1)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._linear: dict[int, np.ndarray] = {}
        self._pairs: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.frames)

    def linear(self, index: int) -> np.ndarray:
        """Source frame ``index`` in linear light (highlights boosted), float32 ``(H, W, 3)``."""
        if index not in self._linear:
            if len(self._linear) > 4:
                self._linear.pop(min(self._linear))
            image = self.to_linear(self.frames[index].astype(np.float32) / 255.0)
            self._linear[index] = boost_highlights(image, self.highlight_gain)
        return self._linear[index]

    def flow(self, first: int, second: int) -> np.ndarray:
        """Optical flow from frame ``first`` to ``second``: ``frames[first](p) ≈ frames[second](p + flow(p))``."""
        grey = [cv2.cvtColor(self.frames[i], cv2.COLOR_RGB2GRAY) for i in (first, second)]
        return self._dis.calc(grey[0], grey[1], None)

    def _pair(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Flows 0→1 and 1→0 between frames ``index`` and ``index + 1``, with each frame's visibility map."""
        if index not in self._pairs:
            if len(self._pairs) > 3:
                self._pairs.pop(min(self._pairs))
            forward, backward = self.flow(index, index + 1), self.flow(index + 1, index)
            # A pixel whose forward flow is not undone by the backward flow at its destination is occluded.
            mismatch_0 = np.linalg.norm(forward + _warp(backward, forward, self._grid), axis=-1)
            mismatch_1 = np.linalg.norm(backward + _warp(forward, backward, self._grid), axis=-1)
            visible_0 = np.exp(-((mismatch_0 / 1.5) ** 2)).astype(np.float32)
            visible_1 = np.exp(-((mismatch_1 / 1.5) ** 2)).astype(np.float32)
            self._pairs[index] = (forward, backward, visible_0, visible_1)
        return self._pairs[index]

    def frame_at(self, time: float) -> np.ndarray:
        """The frame at fractional source time ``time`` (clamped to the clip), linear float32 ``(H, W, 3)``."""
        time = min(max(time, 0.0), len(self.frames) - 1.0)
        index = min(int(math.floor(time)), len(self.frames) - 2) if len(self.frames) > 1 else 0
        a = time - index
        if a < 1e-4 or len(self.frames) == 1:
            return self.linear(index)
        if a > 1 - 1e-4:
            return self.linear(index + 1)
        forward, backward, visible_0, visible_1 = self._pair(index)
        flow_t0 = -(1 - a) * a * forward + a * a * backward
        flow_t1 = (1 - a) * (1 - a) * forward - a * (1 - a) * backward
        from_0 = _warp(self.linear(index), flow_t0, self._grid)
        from_1 = _warp(self.linear(index + 1), flow_t1, self._grid)
        weight_0 = (1 - a) * _warp(visible_0, flow_t0, self._grid)[..., None] + 1e-4
        weight_1 = a * _warp(visible_1, flow_t1, self._grid)[..., None] + 1e-4
        return (weight_0 * from_0 + weight_1 * from_1) / (weight_0 + weight_1)

    def motion_percentile(self, index: int, percentile: float = 99.0) -> float:
        """A high percentile of the flow magnitude (pixels per source frame) between ``index`` and ``index + 1``."""
        return float(np.percentile(np.linalg.norm(self.flow(index, index + 1), axis=-1), percentile))
