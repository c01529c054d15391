"""Dataset layouts: detection, pairing, and the errors a user can cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vdeblur.data import LAYOUTS, detect_layout, find_sequences
from vdeblur.errors import UserError
from vdeblur.io.images import write_image


def _frames(folder: Path, count: int, suffix: str = ".png") -> list[Path]:
    paths = [folder / f"{i:05d}{suffix}" for i in range(count)]
    for i, path in enumerate(paths):
        write_image(path, np.full((6, 8, 3), i / 10, np.float32))
    return paths


@pytest.mark.parametrize(
    ("layout", "blur_dir", "sharp_dir", "split", "suffix"),
    [
        ("gopro", "train/{s}/blur", "train/{s}/sharp", "train", ".png"),
        ("dvd", "quantitative_datasets/{s}/input", "quantitative_datasets/{s}/GT", "all", ".jpg"),
        ("bsd", "valid/{s}/Blur/RGB", "valid/{s}/Sharp/RGB", "val", ".png"),
        ("reds", "val_blur/{s}", "val_sharp/{s}", "val", ".png"),
        ("generic", "{s}/blur", "{s}/sharp", "train", ".png"),
    ],
)
def test_each_layout_is_detected_and_paired(tmp_path, layout, blur_dir, sharp_dir, split, suffix):
    expected = {}
    for name, count in (("seq_a", 3), ("seq_b", 2)):
        blur = _frames(tmp_path / blur_dir.format(s=name), count, suffix)
        sharp = _frames(tmp_path / sharp_dir.format(s=name), count, suffix)
        expected[name] = (blur, sharp)
    assert detect_layout(tmp_path) == layout
    sequences = find_sequences(tmp_path, split=split)
    assert {s.name: (s.blur, s.sharp) for s in sequences} == expected
    assert find_sequences(tmp_path, layout=layout, split=split) == sequences


def test_gopro_blur_folder_option_and_natural_order(tmp_path):
    for folder in ("blur", "blur_gamma", "sharp"):
        for i in (2, 10, 1):
            write_image(tmp_path / "test" / "s" / folder / f"f{i}.png", np.zeros((4, 4, 3), np.float32))
    (sequence,) = find_sequences(tmp_path, split="test", blur_folder="blur_gamma")
    assert [p.name for p in sequence.blur] == ["f1.png", "f2.png", "f10.png"]
    assert sequence.blur[0].parent.name == "blur_gamma"


def test_unknown_folder_lists_the_layouts_looked_for(tmp_path):
    (tmp_path / "nothing" / "here").mkdir(parents=True)
    with pytest.raises(UserError) as error:
        find_sequences(tmp_path)
    for layout in LAYOUTS.values():
        assert layout.pattern in str(error.value)


def test_missing_root_and_missing_sharp_folder(tmp_path):
    with pytest.raises(UserError, match="not found"):
        find_sequences(tmp_path / "absent")
    _frames(tmp_path / "train" / "s1" / "blur", 2)
    _frames(tmp_path / "train" / "s1" / "sharp", 2)
    _frames(tmp_path / "train" / "s2" / "sharp", 2)  # s2 lacks its blur folder
    with pytest.raises(UserError, match=r"s2[/\\]blur"):
        find_sequences(tmp_path, layout="gopro")
    with pytest.raises(UserError, match="'test' split"):
        find_sequences(tmp_path, layout="gopro", split="test")


def test_unequal_counts_name_the_sequence(tmp_path):
    _frames(tmp_path / "walk" / "blur", 3)
    _frames(tmp_path / "walk" / "sharp", 2)
    with pytest.raises(UserError, match="Sequence walk has 3 blurred frames .* but 2 sharp"):
        find_sequences(tmp_path)


def test_dvd_standard_test_split(tmp_path):
    base = tmp_path / "quantitative_datasets"
    for name in ("IMG_0003", "IMG_0010", "720p_240fps_2"):
        _frames(base / name / "input", 2, ".jpg")
        _frames(base / name / "GT", 2, ".jpg")
    assert [s.name for s in find_sequences(tmp_path, split="test")] == ["720p_240fps_2", "IMG_0003"]
    assert [s.name for s in find_sequences(tmp_path, split="train")] == ["IMG_0010"]
    with pytest.raises(UserError, match="'train', 'test' and 'all'"):
        find_sequences(tmp_path, split="val")
