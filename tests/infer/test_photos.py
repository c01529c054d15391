"""`vdeblur deblur` on photographs: one image in, one upright image out, checked by reading the files back."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from .conftest import make_video, moving_frame
from .test_bad_inputs import run_failing
from vdeblur.cli import main
from vdeblur.infer.deblurrer import Deblurrer


def sideways_photo(path: Path, width: int = 41, height: int = 27) -> Path:
    """A JPEG stored sideways with EXIF Orientation 6 (turn 90° clockwise to view), as phones write them."""
    image = Image.fromarray(moving_frame(3, width, height))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(path, exif=exif, quality=95)
    return path


def test_photo_becomes_an_upright_image_that_is_the_model_on_the_still(tmp_path: Path, tiny_weights: Path) -> None:
    photo = sideways_photo(tmp_path / "shot.jpg")
    out = tmp_path / "sharp.png"
    assert main(["deblur", str(photo), "-o", str(out), "--model", str(tiny_weights), "--quiet", "--compare"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sharp.png", "sharp_compare.png", "shot.jpg"]
    upright = np.asarray(ImageOps.exif_transpose(Image.open(photo)).convert("RGB"))
    written = cv2.imread(str(out))[:, :, ::-1]
    assert written.shape == upright.shape == (41, 27, 3)
    # A still is restored from T copies of itself; the upright pixels come from OpenCV's decoder here.
    stored = cv2.imread(str(photo), cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR)[:, :, ::-1].copy()
    still = torch.rot90(torch.from_numpy(stored), -1, dims=(0, 1)).permute(2, 0, 1).float() / 255
    deblurrer = Deblurrer(tiny_weights, device="cpu")
    expected = deblurrer.deblur_clip(still.expand(deblurrer.num_frames, *still.shape)).permute(1, 2, 0).numpy()
    assert np.abs(written.astype(int) - np.round(expected * 255)).max() <= 1
    compare = cv2.imread(str(tmp_path / "sharp_compare.png"))
    assert compare.shape == (41, 54, 3)


def test_16_bit_photo_keeps_16_bits_in_png_and_8_in_jpeg(tmp_path: Path, tiny_weights: Path) -> None:
    photo = tmp_path / "deep.png"
    cv2.imwrite(str(photo), moving_frame(1, 30, 20).astype(np.uint16) * 257)
    for name, dtype in (("out.png", np.uint16), ("out.jpg", np.uint8)):
        assert main(["deblur", str(photo), "-o", str(tmp_path / name), "--model", str(tiny_weights), "--quiet"]) == 0
        assert cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED).dtype == dtype


def test_several_photos_go_into_a_folder_under_their_own_names(tmp_path: Path, tiny_weights: Path) -> None:
    first, second = sideways_photo(tmp_path / "a.jpg"), sideways_photo(tmp_path / "b.jpg", width=20)
    out = tmp_path / "sharp"
    assert main(["deblur", str(first), str(second), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    assert [cv2.imread(str(out / name)).shape for name in ("a.jpg", "b.jpg")] == [(41, 27, 3), (20, 27, 3)]


@pytest.mark.parametrize("case", ["video to an image", "photo to a video", "unreadable photo"])
def test_mismatched_or_broken_inputs_and_outputs_are_one_sentence(
    case: str, tmp_path: Path, tiny_weights: Path, capsys
) -> None:
    if case == "video to an image":
        source, output, words = make_video(tmp_path / "v.mp4", num_frames=3, audio=False), "o.png", "names an image"
    elif case == "photo to a video":
        source, output, words = sideways_photo(tmp_path / "p.jpg"), "o.mp4", "is a photograph"
    else:
        source, output, words = tmp_path / "broken.jpg", "o.png", "corrupt or not an image"
        source.write_bytes(b"\xff\xd8 not really a jpeg")
    message = run_failing(capsys, tmp_path, str(source), "-o", str(tmp_path / output), "--model", str(tiny_weights))
    assert words in message
