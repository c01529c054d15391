"""Where frames come from: video files, folders of frames and photographs, behind one interface.

A source yields :class:`SourceFrame` objects (RGB pixels, a timestamp, a file name) and says what the output
must keep (frame rate, rotation, colour tags, audio, bit depth); :mod:`vdeblur.infer.sinks` writes them back.
Neither knows about models.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vdeblur.errors import MediaError
from vdeblur.io.images import image_size, is_image_file, read_image, read_image_and_depth, read_upright_image
from vdeblur.io.listing import list_images
from vdeblur.io.video import ColorInfo, VideoReader

DEFAULT_FRAME_RATE = Fraction(30)  # for videos made from frame folders, which carry no timing


@dataclass(frozen=True)
class SourceFrame:
    """One input frame: float32 RGB ``(H, W, 3)`` in [0, 1], presentation time and a file name."""

    image: np.ndarray
    pts: int | None
    time_base: Fraction | None
    name: str


# Threads of the video decoder and of the encoder each; 0 is FFmpeg's choice (about one per core). The model
# shares the cores with them. On a quiet 2-core machine capping both at one thread changed 1280x720 end-to-end
# speed by noise-level amounts (`benchmarks/pipeline_settings.py --compare threads`: 2.62 against 2.77
# frames/s), so FFmpeg chooses; `Deblurrer(codec_threads=1)` is there for machines that other jobs share.
CODEC_THREADS = 0


class VideoSource:
    """Frames of a video file, decoded lazily (see :class:`vdeblur.io.video.VideoReader`)."""

    def __init__(self, path: Path, threads: int = CODEC_THREADS) -> None:
        self.path = path
        self._reader = VideoReader(path, threads=threads)
        info = self._reader.info
        self.width, self.height = info.width, info.height
        self.num_frames = info.num_frames
        self.frame_rate = info.frame_rate or DEFAULT_FRAME_RATE
        self.rotation = self._reader.rotation
        self.color = self._reader.color
        self.audio_source: Path | None = path if info.has_audio else None
        self.bits = 8
        self._last_frame_end: float | None = None  # where the last decoded frame ends, once iterated

    def __iter__(self) -> Iterator[SourceFrame]:
        frame = None
        for index, frame in enumerate(self._reader):
            scale = 255.0 if frame.image.dtype == np.uint8 else 65535.0
            image = frame.image.astype(np.float32) / scale
            yield SourceFrame(image, frame.pts, frame.time_base, f"frame_{index + 1:06d}.png")
        if frame is not None and frame.pts is not None and frame.time_base:
            self._last_frame_end = float(frame.pts * frame.time_base + 1 / self.frame_rate)
        problem = self.truncation_warning()
        if problem:
            warnings.warn(problem, stacklevel=2)

    def truncation_warning(self) -> str | None:
        """After iterating: a sentence saying the file may be truncated, if its frames clearly fall short."""
        problem = self._shortfall(self._last_frame_end)
        return f"{self.path} {problem}; the file may be truncated" if problem else None

    def _shortfall(self, end: float | None) -> str | None:
        """How the decoded frames fall short of what the header announces, if they clearly do."""
        expected, decoded = self.num_frames, self._reader.frames_decoded
        if expected:
            return f"announces {expected} frames but only {decoded} decoded" if decoded < expected else None
        # Containers such as Matroska keep no frame count but a duration, written first: a file cut short keeps
        # it. The margin ignores audio that outlasts the video by a little (the container's duration covers both).
        duration = self._reader.info.duration
        if duration and end is not None and end < 0.9 * duration and duration - end > 2 / self.frame_rate:
            return f"lasts {duration:.2f} s by its header but its {decoded} frames end at {end:.2f} s"
        return None

    def close(self) -> None:
        self._reader.close()


class _ImageFiles:
    """What image files carry and video would: no timing (frames are numbered at `DEFAULT_FRAME_RATE`), no
    rotation, no audio, BT.709 colour."""

    frame_rate = DEFAULT_FRAME_RATE
    rotation = 0
    color = ColorInfo.bt709()
    audio_source: Path | None = None

    def close(self) -> None:
        pass


class FrameFolderSource(_ImageFiles):
    """The images of a folder, in natural order; all must have the same size.

    Sizes are checked from the file headers before any frame is decoded, so a mixed folder fails at once.
    Output frames are 16-bit when the first input frame is.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder
        self.files = list_images(folder)
        if not self.files:
            raise MediaError(f"{folder} contains no image files (png, jpg, tif, ...).")
        sizes = {}
        for file in self.files:
            sizes.setdefault(image_size(file), file)
            if len(sizes) > 1:
                (size_a, file_a), (size_b, file_b) = list(sizes.items())[:2]
                raise MediaError(
                    f"Frames differ in size: {file_a.name} is {size_a[0]}x{size_a[1]} but {file_b.name} is "
                    f"{size_b[0]}x{size_b[1]}; all frames of a folder must have the same size."
                )
        (self.width, self.height), = sizes
        self.num_frames = len(self.files)
        self.bits = read_image_and_depth(self.files[0])[1]  # the depth outputs keep

    def __iter__(self) -> Iterator[SourceFrame]:
        for file in self.files:
            yield SourceFrame(read_image(file), None, None, file.stem + ".png")


class PhotoSource(_ImageFiles):
    """One photograph: a single frame, which the model restores as a still (it stands in for all T frames).

    It is read upright as its EXIF Orientation tag says, and its output is written upright without the tag.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.image, self.bits = read_upright_image(path)
        self.height, self.width = self.image.shape[:2]
        self.num_frames = 1

    def __iter__(self) -> Iterator[SourceFrame]:
        yield SourceFrame(self.image, None, None, self.path.stem + ".png")


def is_photo(path: Path) -> bool:
    """An input is a photograph when it is a file with an image suffix (.png, .jpg, .tif, ...)."""
    return path.is_file() and is_image_file(path)


Source = VideoSource | FrameFolderSource | PhotoSource


def open_source(path: Path, codec_threads: int = CODEC_THREADS) -> Source:
    """A video file, a folder of frames or a photograph (``codec_threads``: decoder threads for a video, 0 for
    FFmpeg's choice).

    Raises:
        MediaError: missing path, folder without images, an unreadable photograph, or a file that is not a
            readable video.
    """
    if not path.exists():
        raise MediaError(f"Input not found: {path}.")
    if path.is_dir():
        return FrameFolderSource(path)
    if is_photo(path):
        return PhotoSource(path)
    return VideoSource(path, codec_threads)
