"""Image files: bit depths, channel layouts and atomic writes, checked against the written pixel values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vdeblur.errors import MediaError
from vdeblur.io.atomic import atomic_output
from vdeblur.io.images import quantize, read_image, read_upright_image, write_image


def test_8_bit_rgb_round_trip_is_exact(tmp_path, photo):
    write_image(tmp_path / "a.png", photo)
    back = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(quantize(back), quantize(photo))


def test_16_bit_png_keeps_16_bits_and_rgb_order(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 65536, size=(9, 11, 3), dtype=np.uint16)
    write_image(tmp_path / "deep.png", image)
    # Independent reader: OpenCV returns BGR, so channel 0 on disk must be our blue channel.
    on_disk = cv2.imread(str(tmp_path / "deep.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(on_disk[:, :, ::-1], image)
    np.testing.assert_allclose(read_image(tmp_path / "deep.png"), image / 65535.0, atol=1e-7)


def test_grey_and_alpha_become_rgb(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 2] = 255  # red in OpenCV's BGRA order
    rgba[..., 3] = 7  # alpha must be dropped, not blended
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    g = read_image(tmp_path / "grey.png")
    assert g.shape == (3, 4, 3)
    np.testing.assert_allclose(g[..., 1], grey / 255.0, atol=1e-7)
    np.testing.assert_allclose(read_image(tmp_path / "rgba.png")[0, 0], [1.0, 0.0, 0.0])


def test_corrupt_and_missing_images_raise_media_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(MediaError, match="corrupt"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(MediaError, match="not found"):
        read_image(tmp_path / "missing.png")


def test_atomic_output_leaves_nothing_behind_on_error(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_output_gives_ordinary_file_permissions_even_if_the_writer_recreates_the_file(tmp_path):
    import os

    target = tmp_path / "w.bin"
    with atomic_output(target) as tmp:
        tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)  # what safetensors' writer does
        os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_photographs_are_read_upright_as_pillow_turns_them_by_their_exif_tag(tmp_path, suffix):
    from PIL import Image, ImageOps

    rng = np.random.default_rng(2)
    stored = np.repeat(np.repeat(rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8), 8, 0), 8, 1)
    for orientation in range(1, 9):
        path = tmp_path / f"o{orientation}{suffix}"
        image = Image.fromarray(stored)
        exif = image.getexif()
        exif[0x0112] = orientation
        image.save(path, exif=exif, quality=98)
        expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        got = quantize(read_upright_image(path)[0])
        assert got.shape == expected.shape
        # PNG exactly; JPEG through two decoders (OpenCV's, Pillow's) within a few levels, where a wrong turn of
        # these 8-pixel blocks is off by a hundred.
        assert np.abs(got.astype(int) - expected).max() <= (0 if suffix == ".png" else 8)
