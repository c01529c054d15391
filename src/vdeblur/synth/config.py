"""Settings of `vdeblur synth`: how strong, how varied and how degraded the synthesized blur is."""

from __future__ import annotations

from dataclasses import dataclass

from vdeblur.errors import ConfigError

CODECS = ("none", "jpeg", "h264")
TARGETS = ("instant", "centroid")
# How often each codec is drawn where a sequence's codec is random (`mixed`, or several names): no compression is
# the most common, then a photo's JPEG or a phone video's H.264.
CODEC_WEIGHTS = {"none": 0.4, "jpeg": 0.3, "h264": 0.3}


def codec_choices(codec: str) -> tuple[str, ...]:
    """The codecs a sequence's codec is drawn from: ``mixed`` is all of them, else the comma-separated names."""
    return CODECS if codec == "mixed" else tuple(codec.split(","))


@dataclass(frozen=True)
class SynthConfig:
    """Strength and variety of the synthesized blur.

    Blur lengths are in pixels of the written frames. Every sequence draws its own median blur length
    log-uniformly from ``[blur_min, blur_max]`` (a wide spread, most sequences moderate); frames within a
    sequence vary around it with the motion.

    Attributes:
        frames: frames per written sequence (fewer if a clip is too short).
        sequences_per_source: sequences made from each source (different segments, paths and settings).
        long_side: longest side of written frames (sources are shrunk, never enlarged).
        blur_min, blur_max: range of the per-sequence median blur length, pixels.
        exposure_min, exposure_max: shutter-open fraction of the frame interval.
        object_probability: chance that a sequence has moving objects pasted in (each from another photo).
        max_objects: at most this many per sequence.
        parallax_probability: chance of per-region motion on a still (depth map and a foreground layer).
        highlight_probability: chance that highlights are boosted (and lights added) so they streak saturated.
        shake_probability: chance of camera shake on top of footage (always on for stills and static footage).
        noise: scale of sensor noise (0 disables; 1 covers clean daylight to high ISO).
        camera_response: chance that a sequence's camera encodes with a random tone curve instead of sRGB
            (`color.random_tone_curve`: gamma 1.8–2.6, a linear toe, up to strong contrast).
        codec: compression of the blurred frames: none, jpeg or h264; mixed draws one of the three per sequence,
            and comma-separated names (``none,jpeg``) one of those (weights `CODEC_WEIGHTS`).
        max_source_frames: frames decoded from each video at most.
        within_shots: keep each sequence of footage within one shot of its source: where its segment holds scene
            cuts, the sequence takes the segment's longest shot (`vdeblur.infer.shots`). Exposures are interpolated
            along the optical flow, which across a cut blends two shots into frames no camera takes.
        target: what the sharp frame shows. ``instant``: the scene at the exposure's middle, GOPRO's convention.
            ``centroid``: the camera and every pasted object at their mean pose over the exposure, where the blurred
            frame's content is centred. Along a curved or jerky path the two differ by a few pixels that nothing
            in the blurred frame tells, so a model trained on ``instant`` targets can only average over them.
    """

    frames: int = 30
    sequences_per_source: int = 1
    long_side: int = 640
    blur_min: float = 2.0
    blur_max: float = 40.0
    exposure_min: float = 0.5
    exposure_max: float = 1.0
    object_probability: float = 0.5
    max_objects: int = 3
    parallax_probability: float = 0.6
    highlight_probability: float = 0.5
    shake_probability: float = 0.5
    noise: float = 1.0
    camera_response: float = 0.0
    codec: str = "mixed"
    max_source_frames: int = 900
    within_shots: bool = True
    target: str = "instant"

    def __post_init__(self) -> None:
        # A clip needs two source frames for any motion between them; objects may be left out altogether.
        minimums = {"frames": 1, "sequences_per_source": 1, "max_objects": 0, "max_source_frames": 2}
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                raise ConfigError(f"{name} must be at least {minimum}, got {getattr(self, name)}.")
        if self.long_side < 64:
            raise ConfigError(f"The long side must be at least 64 pixels, got {self.long_side}.")
        if not 0 < self.blur_min <= self.blur_max:
            raise ConfigError(f"Blur lengths need 0 < min <= max, got {self.blur_min} and {self.blur_max}.")
        if not 0 < self.exposure_min <= self.exposure_max <= 1:
            raise ConfigError(f"Exposures need 0 < min <= max <= 1, got {self.exposure_min} and {self.exposure_max}.")
        for name in ("object_probability", "parallax_probability", "highlight_probability", "shake_probability",
                     "camera_response"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must lie in [0, 1], got {getattr(self, name)}.")
        if self.noise < 0:
            raise ConfigError(f"The noise scale must be >= 0, got {self.noise}.")
        names = codec_choices(self.codec)
        if any(name not in CODECS for name in names) or len(set(names)) != len(names):
            raise ConfigError(f"Unknown or repeated codec in '{self.codec}'; choose one of {', '.join(CODECS)}, mixed, "
                              "or several of the first three separated by commas (none,jpeg).")
        if self.target not in TARGETS:
            raise ConfigError(f"Unknown target '{self.target}'; choose one of {', '.join(TARGETS)}.")
