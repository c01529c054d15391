"""Reading and writing still images as float RGB in [0, 1], whatever their bit depth and channel layout.

OpenCV does the file work because it keeps 16-bit RGB intact (Pillow reduces it to 8 bit); it stores channels
as BGR, which is converted here and nowhere else. Pillow only reads sizes, because it can do so from the header.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vdeblur.errors import MediaError
from vdeblur.io.atomic import atomic_output

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def is_image_file(path: str | os.PathLike) -> bool:
    """True for a file whose suffix is one of the image formats vdeblur reads."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def to_rgb_float(array: np.ndarray) -> np.ndarray:
    """Convert an RGB-ordered image of any integer depth or channel layout to float32 ``(H, W, 3)`` in [0, 1].

    Greyscale is repeated to three channels; an alpha channel is dropped (deblurring acts on colour only).
    """
    if np.issubdtype(array.dtype, np.integer):
        out = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    else:
        out = np.clip(array.astype(np.float32), 0.0, 1.0)
    if out.ndim == 2:
        out = out[:, :, None]
    if out.ndim != 3 or out.shape[2] not in (1, 2, 3, 4):
        raise MediaError(f"Unsupported image layout with shape {array.shape}.")
    if out.shape[2] in (1, 2):  # grey, or grey + alpha
        out = np.repeat(out[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(out[:, :, :3])


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"Image file not found: {path}.")
    return path


def _unreadable(path: Path) -> MediaError:
    return MediaError(f"Cannot read image {path}: it is corrupt or not an image.")


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image file, from its header alone (nothing is decoded).

    Raises:
        MediaError: the same errors as :func:`read_image`, for a file whose header is missing or unreadable.
    """
    path = _existing(path)
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError) as exc:
        raise _unreadable(path) from exc


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as float32 RGB ``(H, W, 3)`` in [0, 1] (8 or 16 bit, grey, RGB, with or without alpha).

    Raises:
        MediaError: the file is missing, unreadable or not an image.
    """
    return read_image_and_depth(path)[0]


def read_image_and_depth(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """:func:`read_image`, and the file's bit depth: 16 for a 16-bit file, else 8 (what an output keeps)."""
    path = _existing(path)
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None or array.size == 0:
        raise _unreadable(path)
    if array.ndim == 3 and array.shape[2] >= 3:
        array = array[:, :, [2, 1, 0] + list(range(3, array.shape[2]))]  # BGR(A) -> RGB(A)
    return to_rgb_float(array), 16 if array.dtype == np.uint16 else 8


# What each EXIF Orientation value asks of the stored pixels before display (PIL's ImageOps.exif_transpose), on
# (H, W, C) arrays: 2 mirrors, 3 turns 180°, 4 flips, 5 transposes, 6 turns 90° clockwise, 7 transposes across
# the other diagonal, 8 turns 90° counter-clockwise.
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}
_EXIF_ORIENTATION = 0x0112


def read_upright_image(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """:func:`read_image_and_depth`, the image turned as the file's EXIF Orientation tag says, so that it stands
    as viewers show it.

    Cameras and phones store many photographs sideways and tag them instead of turning the pixels; OpenCV's
    unchanged read (kept for 16-bit files) ignores the tag.

    Raises:
        MediaError: as :func:`read_image`.
    """
    image, bits = read_image_and_depth(path)
    try:
        with Image.open(path) as header:
            orientation = header.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError):  # an image OpenCV reads but Pillow cannot parse has no tag that we can see
        return image, bits
    turn = _UPRIGHT.get(orientation)
    return (np.ascontiguousarray(turn(image)) if turn is not None else image), bits


def quantize(image: np.ndarray, bits: int = 8) -> np.ndarray:
    """Round a float image in [0, 1] to unsigned integers of the given bit depth (8 or 16)."""
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    top, dtype = (255, np.uint8) if bits == 8 else (65535, np.uint16)
    return np.round(np.clip(image, 0.0, 1.0) * top).astype(dtype)


def write_image(path: str | os.PathLike, image: np.ndarray, bits: int = 8) -> None:
    """Write an RGB image atomically: float in [0, 1] is quantised to ``bits``; uint8/uint16 is written as is.

    The format follows the suffix; 16 bit needs PNG or TIFF.
    """
    path = Path(path)
    array = image if image.dtype in (np.uint8, np.uint16) else quantize(image, bits)
    if array.dtype == np.uint16 and path.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise MediaError(f"16-bit output needs a .png or .tif file, not {path.name}.")
    if array.ndim == 3:
        array = np.ascontiguousarray(array[:, :, ::-1])  # RGB -> BGR for OpenCV
    with atomic_output(path) as tmp:
        if not cv2.imwrite(str(tmp), array):
            raise MediaError(f"Cannot write image {path}.")
