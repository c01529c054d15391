"""Sharp material to synthesise from: video files, folders of frames, and still photographs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vdeblur.data.layouts import list_frames
from vdeblur.errors import UserError
from vdeblur.io.images import is_image_file, read_image
from vdeblur.io.video import is_video_file, iter_video_frames


@dataclass(frozen=True)
class Source:
    """One input: ``kind`` is ``"video"`` (a file), ``"frames"`` (a folder of frames) or ``"still"``."""

    path: Path
    kind: str

    @property
    def name(self) -> str:
        """Used in sequence names: the file or folder name without suffix."""
        return self.path.stem if self.kind != "frames" else self.path.name


def collect_sources(paths: list[str | os.PathLike]) -> list[Source]:
    """Classify each argument: a file is a video or a still; a folder of two or more images (and no video) is
    the frames of one clip; any other folder's videos and images are sources of their own (subfolders are not
    searched). Photographs of different scenes are therefore passed as files, not as a folder.

    Raises:
        UserError: a path is missing or holds nothing usable.
    """
    sources: list[Source] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            sources.append(_classify_file(path))
        elif path.is_dir():
            children = sorted(p for p in path.iterdir() if p.is_file())
            images = [p for p in children if is_image_file(p)]
            videos = [p for p in children if is_video_file(p)]
            if len(images) >= 2 and not videos:
                sources.append(Source(path, "frames"))
            elif images or videos:
                sources.extend(_classify_file(p) for p in images + videos)
            else:
                raise UserError(f"Source folder {path} holds no video or image file.")
        else:
            raise UserError(f"Source not found: {path}.")
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"Two sources share the name {duplicates[0]}; sequence names would collide.")
    return sources


def _classify_file(path: Path) -> Source:
    if is_video_file(path):
        return Source(path, "video")
    if is_image_file(path):
        return Source(path, "still")
    raise UserError(f"{path} is neither a video nor an image file (judged by its suffix).")


def _fit(image: np.ndarray, long_side: int) -> np.ndarray:
    """Shrink (never enlarge) so the longer side is at most ``long_side``; area filtering keeps detail honest."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_clip(source: Source, long_side: int, max_frames: int) -> list[np.ndarray]:
    """Frames of a video or frame folder as uint8 RGB, shrunk to ``long_side``, at most ``max_frames``."""
    if source.kind == "video":
        frames = []
        for frame in iter_video_frames(source.path):
            frames.append(_fit(frame, long_side))
            if len(frames) >= max_frames:
                break
    else:
        # Natural order, as the dataset readers use: frame2 before frame10 in unpadded names.
        files = list_frames(source.path)[:max_frames]
        frames = [_fit(np.round(read_image(p) * 255).astype(np.uint8), long_side) for p in files]
        odd = next((p for p, f in zip(files, frames) if f.shape != frames[0].shape), None)
        if odd is not None:
            raise UserError(
                f"{source.path} is read as the frames of one clip, but {odd.name} differs in size from "
                f"{files[0].name}; pass photographs as separate files (e.g. {source.path}/*.jpg)."
            )
    if not frames:
        raise UserError(f"{source.path} has no frame.")
    return frames


def load_still(path: Path, long_side: int) -> np.ndarray:
    """A photograph as float32 sRGB in [0, 1], shrunk so its longer side is at most ``long_side``."""
    return _fit(read_image(path), long_side)
