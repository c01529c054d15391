"""A moving scene that can be rendered at any instant: background, camera and pasted objects.

World coordinates are pixels of a background *canvas* a little larger than the output frame. The camera maps
the world to the output: ``q = c_out + R(angle) · scale · (p - c_canvas - depth · shift)``, where ``shift`` is
the camera translation and ``depth`` (relative inverse depth, 1 for the reference plane) makes near things
move more than far ones: that is parallax. Each layer is warped straight from its source to the output, once
per instant, so the sharp frame is resampled only once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from vdeblur.synth.flow import FlowInterpolator
from vdeblur.synth.trajectory import MotionPath


def _rotation_scale(angle: float, log_scale: float) -> np.ndarray:
    s = math.exp(log_scale)
    return s * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32)


@dataclass
class Camera:
    """The camera: output size, where the output centre sits on the canvas, and an optional shake path."""

    out_size: tuple[int, int]  # (width, height)
    canvas_center: tuple[float, float]
    path: MotionPath | None = None

    def pose(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """``(R, shift)``: the 2×2 rotation-scale and the translation at time ``t``."""
        if self.path is None:
            return np.eye(2, dtype=np.float32), np.zeros(2, np.float32)
        x, y, angle, log_scale = self.path.at(t)
        return _rotation_scale(angle, log_scale), np.array([x, y], np.float32)

    def matrix(self, t: float, depth: float = 1.0) -> np.ndarray:
        """2×3 affine matrix mapping world points at ``depth`` to output pixels at time ``t``."""
        rs, shift = self.pose(t)
        c_out = np.array([(self.out_size[0] - 1) / 2, (self.out_size[1] - 1) / 2], np.float32)
        offset = c_out - rs @ (np.asarray(self.canvas_center, np.float32) + depth * shift)
        return np.hstack([rs, offset[:, None]])


def _corners(width: float, height: float) -> np.ndarray:
    """The four corners of a ``width × height`` image as homogeneous columns, ``(3, 4)``."""
    return np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float32).T


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2×3 affine ``outer ∘ inner``."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


@dataclass
class StillBackground:
    """A photograph (linear light) seen by the camera, optionally with a smooth depth map for parallax.

    Attributes:
        canvas: ``(H, W, 3)`` linear image, larger than the output by the camera's largest excursion.
        depth: ``(h_out, w_out)`` relative inverse depth per output pixel, or ``None`` for a flat scene.
    """

    canvas: np.ndarray
    depth: np.ndarray | None = None
    _grid: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)

    def render(self, camera: Camera, t: float, interpolation: int) -> np.ndarray:
        """The photograph as the camera sees it at time ``t``: linear ``(h_out, w_out, 3)``."""
        width, height = camera.out_size
        if self.depth is None:
            return cv2.warpAffine(self.canvas, camera.matrix(t), (width, height), flags=interpolation,
                                  borderMode=cv2.BORDER_REFLECT101)
        # Per-pixel depth: invert the camera map per output pixel (depth taken at the output pixel, which is
        # accurate for a depth map that varies slowly compared with the motion).
        rs, shift = camera.pose(t)
        inverse = np.linalg.inv(rs).astype(np.float32)
        xs, ys = self._centred_grid(width, height)
        map_x = inverse[0, 0] * xs + inverse[0, 1] * ys + camera.canvas_center[0] + self.depth * shift[0]
        map_y = inverse[1, 0] * xs + inverse[1, 1] * ys + camera.canvas_center[1] + self.depth * shift[1]
        return cv2.remap(self.canvas, map_x, map_y, interpolation, borderMode=cv2.BORDER_REFLECT101)

    def max_depth(self) -> float:
        """Largest relative inverse depth (1 for a flat scene): the nearest point moves most."""
        return 1.0 if self.depth is None else float(self.depth.max())

    def _centred_grid(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Output pixel coordinates relative to the centre, made once (rendering calls this per sample)."""
        if self._grid is None or self._grid[0].shape != (height, width):
            self._grid = np.meshgrid(np.arange(width, dtype=np.float32) - (width - 1) / 2,
                                     np.arange(height, dtype=np.float32) - (height - 1) / 2)
        return self._grid


@dataclass
class VideoBackground:
    """Real footage: output time ``t`` shows source time ``start + t · stride`` (interpolated along the flow).

    The camera's canvas is the source frame; its shake, if any, is added on top of the footage's own motion.
    """

    clip: FlowInterpolator
    start: float
    stride: float

    def render(self, camera: Camera, t: float, interpolation: int) -> np.ndarray:
        """The footage at output time ``t``, through the (possibly shaking) camera: linear ``(h_out, w_out, 3)``."""
        frame = self.clip.frame_at(self.start + t * self.stride)
        return cv2.warpAffine(frame, camera.matrix(t), camera.out_size, flags=interpolation,
                              borderMode=cv2.BORDER_REFLECT101)

    def max_depth(self) -> float:
        """Footage carries its own parallax; for the added shake it is one flat plane."""
        return 1.0


@dataclass
class Sprite:
    """A moving object pasted over the background: its own image, soft mask and path, at its own depth.

    Attributes:
        image: ``(h, w, 3)`` linear colour.
        alpha: ``(h, w)`` coverage in [0, 1]; soft edges keep the pasted boundary as smooth as a real one.
        anchor: world position of the sprite's centre at time 0.
        path: the object's own motion (translation, spin, change of size) relative to the anchor.
        depth: relative inverse depth; > 1 puts it in front of the reference plane for camera parallax.
    """

    image: np.ndarray
    alpha: np.ndarray
    anchor: tuple[float, float]
    path: MotionPath
    depth: float = 1.0
    _premultiplied: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._premultiplied = np.dstack([self.image * self.alpha[..., None], self.alpha]).astype(np.float32)

    def matrix(self, camera: Camera, t: float) -> np.ndarray:
        """2×3 affine from sprite pixels to output pixels at time ``t``."""
        x, y, angle, log_scale = self.path.at(t)
        rs = _rotation_scale(angle, log_scale)
        centre = np.array([(self.alpha.shape[1] - 1) / 2, (self.alpha.shape[0] - 1) / 2], np.float32)
        offset = np.asarray(self.anchor, np.float32) + np.array([x, y], np.float32) - rs @ centre
        return _compose(camera.matrix(t, self.depth), np.hstack([rs, offset[:, None]]))

    def composite(self, canvas: np.ndarray, camera: Camera, t: float, interpolation: int) -> np.ndarray:
        """Draw the sprite over ``canvas`` in place ("over" on premultiplied colour) and return it.

        Only the output rectangle the sprite covers is warped and blended: most sprites are small.
        """
        matrix = self.matrix(camera, t)
        height, width = self.alpha.shape
        corners = matrix @ _corners(width, height)
        x0, y0 = (max(0, int(math.floor(v)) - 2) for v in corners.min(axis=1))
        x1 = min(camera.out_size[0], int(math.ceil(corners[0].max())) + 3)
        y1 = min(camera.out_size[1], int(math.ceil(corners[1].max())) + 3)
        if x1 <= x0 or y1 <= y0:
            return canvas
        matrix[:, 2] -= (x0, y0)
        warped = cv2.warpAffine(self._premultiplied, matrix, (x1 - x0, y1 - y0), flags=interpolation,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        coverage = np.clip(warped[..., 3:], 0.0, 1.0)
        region = canvas[y0:y1, x0:x1]
        region *= 1.0 - coverage
        region += warped[..., :3]
        return canvas


@dataclass
class Scene:
    """Background + sprites (drawn in order, later ones in front) seen by one camera."""

    background: StillBackground | VideoBackground
    camera: Camera
    sprites: list[Sprite] = field(default_factory=list)

    def render(self, t: float, sharp: bool = False) -> np.ndarray:
        """The scene at instant ``t`` in linear light (values may exceed 1 where highlights were boosted).

        ``sharp`` uses Lanczos resampling, for the target frame; exposure samples use bilinear, whose slight
        softening disappears in the average anyway.
        """
        interpolation = cv2.INTER_LANCZOS4 if sharp else cv2.INTER_LINEAR
        image = self.background.render(self.camera, t, interpolation)
        for sprite in self.sprites:
            image = sprite.composite(image, self.camera, t, interpolation)
        return np.maximum(image, 0.0)

    def held_at_mean(self, times: np.ndarray) -> "Scene":
        """The scene with the camera and every object held still at their mean poses over ``times``; footage
        keeps playing (its own motion between source frames is interpolated evenly about the exposure's middle).
        """
        camera = self.camera
        if camera.path is not None:
            camera = replace(camera, path=camera.path.held_at_mean(times))
        sprites = [replace(sprite, path=sprite.path.held_at_mean(times)) for sprite in self.sprites]
        return Scene(self.background, camera, sprites)

    def image_motion(self, start: float, end: float, probes: int = 17) -> float:
        """Largest distance in output pixels that any layer's corners travel between ``start`` and ``end``.

        Used to choose how finely to sample an exposure; footage's own motion is added by the caller.
        """
        corners = _corners(*self.camera.out_size)
        times = np.linspace(start, end, probes)
        longest = 0.0
        for depth in {1.0, self.background.max_depth()}:
            to_output = np.vstack([self.camera.matrix(start, depth), [0, 0, 1]])
            world = np.linalg.inv(to_output) @ corners
            track = np.stack([self.camera.matrix(t, depth) @ world for t in times])
            longest = max(longest, float(np.linalg.norm(np.diff(track, axis=0), axis=1).sum(axis=0).max()))
        for sprite in self.sprites:
            local = _corners(sprite.alpha.shape[1], sprite.alpha.shape[0])
            track = np.stack([sprite.matrix(self.camera, t) @ local for t in times])
            longest = max(longest, float(np.linalg.norm(np.diff(track, axis=0), axis=1).sum(axis=0).max()))
        return longest
