"""Fixtures for the inference tests: a tiny randomly initialised model on disk and generated media."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from vdeblur.checkpoint import save_weights
from vdeblur.models import create_model

TINY_STA = dict(width=4, growth=4, num_layers=1, num_spatial=2, num_temporal=2, num_frames=3)
NTSC = Fraction(30000, 1001)


def tiny_model() -> torch.nn.Module:
    """A ~15 k-parameter STANet (T=3) with feature caching; random weights, seeded.

    A new attention block's output projection is zero (so training starts from the plain encoder-decoder);
    it gets values here, or every engine, tiling and backend test would run with the attention path off.
    """
    torch.manual_seed(0)
    model = create_model("sta-cpu", **TINY_STA).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.1)
    return model


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_weights(path, tiny_model())
    return path


def moving_frame(index: int, width: int, height: int) -> np.ndarray:
    """A textured frame with a bar that moves one step per frame."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([(x * 7 + y * 3) % 256, (x * 2 + index * 9) % 256, (y * 5) % 256], axis=-1)
    image[:, (index * 3) % width : (index * 3) % width + 4] = 255
    return image.astype(np.uint8)


def make_video(
    path: Path,
    num_frames: int = 24,
    size: tuple[int, int] = (67, 45),
    rate: Fraction = NTSC,
    audio: bool = True,
    pts: list[int] | None = None,
    rotation: int = 0,
    lossless: bool = False,
) -> Path:
    """Write a test video with PyAV: H.264 yuv444p (odd sizes allowed), optional AAC tone.

    ``pts`` (in units of 1/rate's denominator time base) makes a variable-frame-rate file.
    """
    width, height = size
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv444p"
        if lossless:
            video.options = {"qp": "0"}  # only the RGB -> YUV rounding remains
        if pts is not None:
            video.time_base = video.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            video.set_display_rotation(rotation)
        stream_audio = out.add_stream("aac", rate=44100) if audio else None
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(moving_frame(i, width, height), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if stream_audio is not None:
            sample_rate = 44100
            total = int(sample_rate * num_frames / rate)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(total) / sample_rate)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = tone[None, start : start + 1024]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
                out.mux(stream_audio.encode(frame))
            out.mux(stream_audio.encode())
    return path


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    """24 frames, 67×45, 29.97 fps, AAC audio."""
    return make_video(tmp_path / "input.mp4")
