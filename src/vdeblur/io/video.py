"""Decoding video files with PyAV (FFmpeg).

Owned by the inference work: it grows the writer, audio pass-through and metadata. The functions below are
the stable interface other parts (synthesis, the demo) rely on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vdeblur.errors import MediaError


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about its first video stream."""

    width: int
    height: int
    frame_rate: Fraction | None
    num_frames: int | None
    has_audio: bool


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read the first video stream's metadata without decoding frames.

    Raises:
        MediaError: missing file, or not a video FFmpeg can open.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"Video file not found: {path}.")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path} has no video stream.")
            stream = container.streams.video[0]
            return VideoInfo(
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                frame_rate=stream.average_rate,
                num_frames=stream.frames or None,
                has_audio=bool(container.streams.audio),
            )
    except av.FFmpegError as exc:
        raise MediaError(f"Cannot open {path} as a video: {exc}.") from exc


def iter_video_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Yield the frames of the first video stream as uint8 RGB arrays ``(H, W, 3)``, decoded lazily.

    Raises:
        MediaError: missing file, not a video, or a decoding error.
    """
    path = Path(path)
    probe_video(path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
    except av.FFmpegError as exc:
        raise MediaError(f"Cannot decode {path}: {exc}.") from exc
