"""Where restored frames go: a video file that keeps the source's timing, rotation, colour tags and audio, a
folder of PNGs named after the source frames, or, for a photograph, an image file. The output's kind follows its
path (:func:`is_video_output`, :func:`is_image_output`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vdeblur.infer.sources import CODEC_THREADS, Source, SourceFrame
from vdeblur.io.images import is_image_file, quantize, write_image
from vdeblur.io.video import VideoWriter, is_video_file


def to_display_orientation(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate pixels as a player would for a display matrix rotating ``rotation`` degrees counter-clockwise."""
    quarter_turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=quarter_turns)) if quarter_turns else image


class VideoSink:
    """Write frames to a video file, keeping the source's timing, rotation, colour tags and audio."""

    def __init__(
        self, path: Path, source: Source, codec: str | None, crf: int, audio: bool = True,
        threads: int = CODEC_THREADS, destination: Path | None = None, pixel_format: str | None = None,
        preset: str | None = None,
    ) -> None:
        self._writer = VideoWriter(
            path, source.frame_rate, codec=codec, crf=crf, rotation=source.rotation, color=source.color,
            audio_source=source.audio_source if audio else None, threads=threads, destination=destination,
            pixel_format=pixel_format, preset=preset,
        )

    def write(self, image: np.ndarray, frame: SourceFrame) -> None:
        """Encode ``image`` (float RGB) at ``frame``'s timestamp."""
        self._writer.write(quantize(image, 8), frame.pts, frame.time_base)

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer.abort()


class FolderSink:
    """Write frames as PNG files named after the source frames (upright, at the source's bit depth)."""

    def __init__(self, folder: Path, source: Source) -> None:
        self.folder = folder
        self.bits = source.bits
        self.rotation = source.rotation

    def write(self, image: np.ndarray, frame: SourceFrame) -> None:
        """Write ``image`` (float RGB) as ``<folder>/<frame.name>``."""
        upright = to_display_orientation(image, self.rotation)
        write_image(self.folder / frame.name, quantize(upright, self.bits))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class ImageSink:
    """Write the one frame of a photograph as an image file, in the format its suffix names.

    PNG and TIFF keep a 16-bit source's depth; other formats hold 8 bits.
    """

    def __init__(self, path: Path, source: Source) -> None:
        self.path = path
        self.bits = source.bits if path.suffix.lower() in (".png", ".tif", ".tiff") else 8

    def write(self, image: np.ndarray, frame: SourceFrame) -> None:
        """Write ``image`` (float RGB) to the sink's file."""
        write_image(self.path, quantize(image, self.bits))

    def close(self) -> None:
        pass


def is_image_output(path: Path) -> bool:
    """An output path names an image file when it has an image suffix (for a photograph's output)."""
    return is_image_file(path)


def is_video_output(path: Path) -> bool:
    """An output path names a video when it has a video suffix; anything else is a folder of frames."""
    return is_video_file(path)
