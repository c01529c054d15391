"""Turning one source into a `Scene` plus its timing: the random choices of one synthesized sequence."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from vdeblur.errors import UserError
from vdeblur.infer.shots import ShotCounter
from vdeblur.synth.color import SRGB, ToneCurve, boost_highlights
from vdeblur.synth.config import SynthConfig
from vdeblur.synth.flow import FlowInterpolator
from vdeblur.synth.masks import blob_mask, feather, fill_hole, grabcut_mask, random_depth
from vdeblur.synth.scene import Camera, Scene, Sprite, StillBackground, VideoBackground
from vdeblur.synth.sources import load_still
from vdeblur.synth.trajectory import MotionPath, linear_motion, random_shake

# Averaged frames are spaced so that no layer moves more than this between two exposure samples: at a pixel, the
# average of the samples is indistinguishable from a continuous exposure (no ghost copies).
SAMPLE_SPACING_PX = 1.0
MAX_SAMPLES = 160
# Real footage is sampled at most this many source frames apart per exposure: interpolating along the flow
# over longer gaps breaks down on real motion.
MAX_SOURCE_SPAN = 8.0
# Smallest output side written: a smaller frame holds too little scene to train on.
MIN_OUTPUT_SIDE = 64


@dataclass
class Plan:
    """A scene and its timing: output frame ``i`` is sharp at time ``i`` and exposed over ``i ± exposure / 2``.

    Attributes:
        footage_motion: pixels the footage itself moves per exposure (0 for stills); added to the scene's
            layer motion when choosing the number of exposure samples.
        facts: the random choices, written beside the sequence for the record.
        curve: the camera response that encoded the source and encodes the written frames.
    """

    scene: Scene
    num_frames: int
    exposure: float
    footage_motion: float
    facts: dict
    curve: ToneCurve | SRGB = field(default_factory=SRGB)


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A value whose logarithm is uniform on ``[log low, log high]``."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _shake_margin(path: MotionPath | None, depth: float, width: int, height: int) -> int:
    """Canvas border needed so the shaking camera never looks past the canvas edge."""
    if path is None:
        return 0
    half_diagonal = 0.5 * math.hypot(width, height)
    turn = float(np.abs(path.angle).max() + np.abs(path.log_scale).max()) * half_diagonal
    return int(math.ceil(path.max_excursion() * depth + turn)) + 4


def _fit_shake(
    path: MotionPath, blur: float, depth: float, width: int, height: int, source_shape: tuple[int, ...]
) -> tuple[MotionPath, float, int]:
    """Calm a shake path until its canvas margin fits the source: a shake wanders about 6 times its blur
    length, which a small source cannot hold. The output keeps at least 256 pixels (or 80% of the source,
    whichever is more) on its short side; only the blur gives way.

    Returns:
        The (possibly scaled) path, its blur length and its margin in pixels.
    """
    short = min(source_shape[:2])
    largest = max(0.1 * short, (short - 256) / 2)
    margin = _shake_margin(path, depth, width, height)
    if margin > largest:
        factor = max(largest - 4, 0.0) / (margin - 4)
        path, blur = path.scaled(factor), blur * factor
        margin = _shake_margin(path, depth, width, height)
    return path, blur, margin


def _light_spots(rng: np.random.Generator, canvas: np.ndarray) -> np.ndarray:
    """Add a few small very bright lights (lamps, glints): their streaks must stay saturated in the blur."""
    height, width = canvas.shape[:2]
    spots = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(3, 16))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        radius = rng.uniform(1.0, 4.0)
        cv2.circle(spots, (x, y), int(math.ceil(radius)), float(rng.uniform(3.0, 30.0)), -1, lineType=cv2.LINE_AA)
    spots = cv2.GaussianBlur(spots, (0, 0), 0.7)
    tint = rng.uniform(0.7, 1.0, size=3).astype(np.float32)
    return canvas + spots[..., None] * tint


def _cut_object(rng: np.random.Generator, photo: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A piece of ``photo`` (sRGB float) about ``size`` pixels across and its soft mask: either the
    GrabCut foreground of a random window (a real outline) or a random rounded shape."""
    height, width = photo.shape[:2]
    side = int(min(size, height - 2, width - 2))
    aspect = rng.uniform(0.6, 1.6)
    box_w, box_h = max(8, min(width - 2, int(side * aspect))), max(8, min(height - 2, int(side / aspect)))
    x0, y0 = int(rng.integers(0, width - box_w + 1)), int(rng.integers(0, height - box_h + 1))
    piece = photo[y0 : y0 + box_h, x0 : x0 + box_w]
    mask = np.zeros(0)
    if rng.random() < 0.5:
        inset = (max(1, box_w // 10), max(1, box_h // 10), box_w - 2 * max(1, box_w // 10), box_h - 2 * max(1, box_h // 10))
        mask = grabcut_mask(piece, inset)
    if mask.size == 0 or not 0.15 < mask.mean() < 0.9:
        mask = blob_mask(rng, box_h, box_w)
    return piece, feather(mask, rng.uniform(0.5, 1.2))


def _add_objects(
    rng: np.random.Generator, scene: Scene, pool: list[Path], config: SynthConfig, exposure: float, num_frames: int,
    curve: ToneCurve | SRGB,
) -> list[dict]:
    """Paste 1…max_objects moving objects cut from photographs of ``pool`` (drawn in front, in order)."""
    facts = []
    width, height = scene.camera.out_size
    for _ in range(int(rng.integers(1, config.max_objects + 1)) if pool and config.max_objects else 0):
        photo = load_still(pool[int(rng.integers(0, len(pool)))], 2 * config.long_side)
        size = int(rng.uniform(0.15, 0.5) * min(width, height))
        piece, alpha = _cut_object(rng, photo, size)
        linear = boost_highlights(curve.to_linear(piece), 1.0 + 3.0 * (rng.random() < config.highlight_probability))
        object_blur = log_uniform(rng, config.blur_min, 1.2 * config.blur_max)
        centre = np.asarray(scene.camera.canvas_center) + rng.uniform(-0.4, 0.4, size=2) * (width, height)
        path = linear_motion(rng, num_frames, exposure, object_blur)
        # Start the object where its path is centred, so it stays in view for most of the sequence.
        mid = path.at(num_frames / 2)
        anchor = (float(centre[0] - mid[0]), float(centre[1] - mid[1]))
        scene.sprites.append(Sprite(linear, alpha, anchor, path, depth=float(rng.uniform(1.0, 1.3))))
        facts.append({"size": size, "blur": round(object_blur, 2)})
    return facts


def plan_still(
    rng: np.random.Generator, photo_path: Path, pool: list[Path], config: SynthConfig,
    curve: ToneCurve | SRGB = SRGB(),
) -> Plan:
    """A shaking camera over a photograph, with optional depth parallax, a foreground layer, objects, lights.

    ``curve`` is the camera response taken to have encoded the photograph (it is linearised with its inverse)
    and to encode the written frames.
    """
    photo = load_still(photo_path, 3 * config.long_side)
    num_frames = config.frames
    exposure = rng.uniform(config.exposure_min, config.exposure_max)
    blur = log_uniform(rng, config.blur_min, config.blur_max)
    aspect = float(np.clip(photo.shape[1] / photo.shape[0], 1.0, 1.9))  # landscape, up to the photo's own
    width, height = config.long_side, config.long_side / aspect
    parallax = rng.random() < config.parallax_probability
    depth_amplitude = rng.uniform(0.1, 0.6) if parallax else 0.0
    path = random_shake(rng, num_frames, exposure, blur, frame_diagonal=math.hypot(width, height))
    path, blur, margin = _fit_shake(path, blur, 1.0 + depth_amplitude, int(width), int(height), photo.shape[:2])
    # Never enlarge the photograph: a small photo gives a smaller output instead of soft "sharp" frames.
    shrink = min(1.0, (photo.shape[1] - 2 * margin) / width, (photo.shape[0] - 2 * margin) / height)
    width, height = _even(width * shrink), _even(height * shrink)
    if min(width, height) < MIN_OUTPUT_SIDE:
        raise UserError(f"Photograph {photo_path} is too small to synthesize from (the output would be "
                        f"{width}x{height}, under {MIN_OUTPUT_SIDE} pixels on a side).")
    scale = max((width + 2 * margin) / photo.shape[1], (height + 2 * margin) / photo.shape[0])
    resized = cv2.resize(photo, (max(width + 2 * margin, round(photo.shape[1] * scale)),
                                 max(height + 2 * margin, round(photo.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    x0 = int(rng.integers(0, resized.shape[1] - (width + 2 * margin) + 1))
    y0 = int(rng.integers(0, resized.shape[0] - (height + 2 * margin) + 1))
    canvas_srgb = resized[y0 : y0 + height + 2 * margin, x0 : x0 + width + 2 * margin]
    highlight_gain = rng.uniform(1.5, 6.0) if rng.random() < config.highlight_probability else 1.0
    canvas = boost_highlights(curve.to_linear(canvas_srgb), highlight_gain)
    lights = highlight_gain > 1.0 and rng.random() < 0.4
    if lights:
        canvas = _light_spots(rng, canvas)
    camera = Camera((width, height), ((canvas.shape[1] - 1) / 2, (canvas.shape[0] - 1) / 2), path)
    depth = random_depth(rng, height, width, depth_amplitude) if parallax else None
    background = StillBackground(canvas, depth)
    scene = Scene(background, camera)
    facts: dict = {"kind": "still", "blur": round(blur, 2), "exposure": round(exposure, 3),
                   "depth_amplitude": round(depth_amplitude, 3), "highlight_gain": round(highlight_gain, 2),
                   "lights": lights}
    if parallax and rng.random() < 0.7:
        facts["foreground"] = _add_foreground(rng, scene, canvas_srgb, margin, blur, exposure, num_frames, curve)
    if rng.random() < config.object_probability:
        others = [p for p in pool if p != photo_path]
        facts["objects"] = _add_objects(rng, scene, others, config, exposure, num_frames, curve)
    return Plan(scene, num_frames, exposure, 0.0, facts, curve)


def _add_foreground(
    rng: np.random.Generator, scene: Scene, canvas_srgb: np.ndarray, margin: int, blur: float, exposure: float,
    num_frames: int, curve: ToneCurve | SRGB,
) -> bool:
    """Lift the photo's main subject (GrabCut in a central window) onto a nearer layer that moves against the
    background, filling the background behind it: real occlusion boundaries with parallax."""
    background = scene.background
    assert isinstance(background, StillBackground)
    height, width = canvas_srgb.shape[:2]
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    box_w, box_h = int(inner_w * rng.uniform(0.3, 0.7)), int(inner_h * rng.uniform(0.4, 0.9))
    x = margin + int(rng.integers(0, inner_w - box_w + 1))
    y = margin + int(rng.integers(0, inner_h - box_h + 1))
    mask = grabcut_mask(canvas_srgb, (x, y, box_w, box_h))
    if not 0.03 < mask.mean() < 0.5:
        return False
    alpha = feather(mask, rng.uniform(0.5, 1.0))
    background.canvas = fill_hole(background.canvas, np.clip(cv2.dilate(mask, np.ones((7, 7), np.uint8)), 0, 1))
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    original = boost_highlights(curve.to_linear(canvas_srgb[top:bottom, left:right]), 1.0)
    own = linear_motion(rng, num_frames, exposure, blur * rng.uniform(0.0, 0.6))
    anchor = ((left + right - 1) / 2, (top + bottom - 1) / 2)
    depth = background.max_depth() + rng.uniform(0.2, 0.8)
    scene.sprites.insert(0, Sprite(original, alpha[top:bottom, left:right], anchor, own, depth))
    return True


def longest_shot(frames: list[np.ndarray], segment: tuple[int, int]) -> tuple[int, int]:
    """The longest run of ``frames[segment[0]:segment[1]]`` without a scene cut, as ``(first, last)`` bounds (the
    first such run where several are longest; the whole segment where it has no cut)."""
    counter = ShotCounter()
    shots = [counter(torch.from_numpy(frames[i]).permute(2, 0, 1).float() / 255) for i in range(*segment)]
    runs = [(len(list(group)), shot) for shot, group in itertools.groupby(shots)]
    length, shot = max(runs, key=lambda run: run[0])  # max keeps the first of equals
    if length < 2 <= len(shots):
        raise UserError(f"Footage frames {segment[0]}-{segment[1] - 1} hold no two consecutive frames of one shot "
                        "(every frame starts a new scene, as in a slideshow); give photographs as separate files, or "
                        "pass --across-cuts.")
    first = segment[0] + shots.index(shot)
    return first, first + length


def plan_video(
    rng: np.random.Generator, frames: list[np.ndarray], segment: tuple[int, int], pool: list[Path],
    config: SynthConfig, curve: ToneCurve | SRGB = SRGB(),
) -> Plan:
    """Real footage (``frames[segment[0]:segment[1]]``) exposed over several source frames, interpolated along
    the optical flow, with optional camera shake and pasted objects on top; ``curve`` as for `plan_still`."""
    first, last = longest_shot(frames, segment) if config.within_shots else segment
    highlight_gain = rng.uniform(1.5, 6.0) if rng.random() < config.highlight_probability else 1.0
    clip = FlowInterpolator(frames[first:last], highlight_gain, curve.to_linear)
    probes = np.linspace(0, len(clip) - 2, num=min(5, len(clip) - 1)).round().astype(int)
    motion = float(np.median([clip.motion_percentile(int(i)) for i in probes])) if len(clip) > 1 else 0.0
    blur = log_uniform(rng, config.blur_min, config.blur_max)
    span = float(np.clip(blur / max(motion, 1e-3), 0.25, MAX_SOURCE_SPAN))
    exposure = rng.uniform(config.exposure_min, config.exposure_max)
    stride = max(1, round(span / exposure))
    num_frames = config.frames
    # A short clip gets a smaller stride first (less blur), then fewer frames.
    while num_frames > 1 and (num_frames - 1) * stride + span > len(clip) - 1:
        if stride > 1:
            stride -= 1
            span = min(span, float(stride))
        else:
            num_frames -= 1
    span = min(span, float(stride), max(len(clip) - 1.0, 0.0))
    exposure = span / stride
    footage_blur = motion * span
    shake = rng.random() < config.shake_probability or footage_blur < 2 * config.blur_min
    height, width = frames[0].shape[:2]
    path = None
    shake_blur = 0.0
    if shake:
        shake_blur = log_uniform(rng, config.blur_min, max(config.blur_min, blur if footage_blur < config.blur_min else blur / 2))
        path = random_shake(rng, num_frames, exposure, shake_blur, frame_diagonal=math.hypot(width, height))
        path, shake_blur, _ = _fit_shake(path, shake_blur, 1.0, width, height, (height, width))
    margin = _shake_margin(path, 1.0, width, height)
    out_w, out_h = _even(width - 2 * margin), _even(height - 2 * margin)
    if min(out_w, out_h) < MIN_OUTPUT_SIDE:
        raise UserError(f"Footage of {width}x{height} pixels is too small to synthesize from (the output would be "
                        f"{out_w}x{out_h}, under {MIN_OUTPUT_SIDE} pixels on a side).")
    # An integer start keeps every sharp target on a real source frame (no interpolation in the targets).
    lowest = math.ceil(span / 2)
    highest = max(lowest, math.floor(len(clip) - 1 - span / 2 - (num_frames - 1) * stride))
    start = float(rng.integers(lowest, highest + 1))
    camera = Camera((out_w, out_h), ((width - 1) / 2, (height - 1) / 2), path)
    scene = Scene(VideoBackground(clip, start, float(stride)), camera)
    facts: dict = {"kind": "video", "segment": list(segment), "shot_frames": [first, last], "start": start,
                   "stride": stride,
                   "source_span": round(span, 3), "footage_motion_p99": round(motion, 2),
                   "footage_blur": round(footage_blur, 2), "shake_blur": round(shake_blur, 2),
                   "exposure": round(exposure, 3), "highlight_gain": round(highlight_gain, 2)}
    if rng.random() < config.object_probability * 0.6:
        facts["objects"] = _add_objects(rng, scene, pool, config, exposure, num_frames, curve)
    return Plan(scene, num_frames, exposure, motion * stride * exposure, facts, curve)
