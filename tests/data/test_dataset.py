"""`VideoDeblurDataset`: temporal windows, augmentation shared by all frames, determinism, corrupt files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import vdeblur.data.dataset as dataset_module
from vdeblur.data import Sequence, VideoDeblurDataset, find_sequences, window_indices
from vdeblur.errors import MediaError, UserError
from vdeblur.io.images import write_image

LEVEL_STEP = 10  # blurred frame k = sharp content + k·LEVEL_STEP/255: the offset tells which frame it is


def _sequence(root, name="clip", count=6, height=20, width=28, seed=0):
    """All sharp frames show the same random picture; blurred frame k is it brightened by k steps, so a frame's
    identity survives any geometric transform and the picture reveals any transform applied to it."""
    base = np.random.default_rng(seed).integers(0, 150, size=(height, width, 3)).astype(np.uint8)
    for k in range(count):
        write_image(root / name / "sharp" / f"{k:04d}.png", base)
        write_image(root / name / "blur" / f"{k:04d}.png", base + np.uint8(LEVEL_STEP * k))
    return find_sequences(root)


def _read(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0


def test_window_indices_replicate_edges():
    for length in (1, 2, 7):
        for centre in range(length):
            expected = [min(max(i, 0), length - 1) for i in range(centre - 2, centre + 3)]
            assert window_indices(centre, length, 5) == expected
    assert window_indices(0, 4, 5) == [0, 0, 0, 1, 2]


def test_items_are_the_window_files_without_augmentation(tmp_path):
    sequences = _sequence(tmp_path)
    dataset = VideoDeblurDataset(sequences, num_frames=5)
    (sequence,) = sequences
    assert len(dataset) == len(sequence)
    for index in (0, 1, len(sequence) - 1):
        item = dataset[index]
        assert item["key"] == f"clip/{sequence.sharp[index].stem}"
        expected = [_read(sequence.blur[i]) for i in window_indices(index, len(sequence), 5)]
        np.testing.assert_array_equal(item["blur"].numpy(), np.stack(expected).transpose(0, 3, 1, 2))
        np.testing.assert_array_equal(item["sharp"].numpy(), _read(sequence.sharp[index]).transpose(2, 0, 1))


def test_an_item_reads_only_its_window_and_target(tmp_path, monkeypatch):
    (sequence,) = sequences = _sequence(tmp_path, count=9)
    dataset = VideoDeblurDataset(sequences, num_frames=3)
    reads = []
    original = dataset_module.read_image
    monkeypatch.setattr(dataset_module, "read_image", lambda path: reads.append(path) or original(path))
    dataset[4]
    assert sorted(reads) == sorted([sequence.sharp[4], *sequence.blur[3:6]])


def _dihedral_crops(image, size):
    """Every crop of ``image`` of side ``size`` under every flip/turn (an independent search space)."""
    for top in range(image.shape[0] - size + 1):
        for left in range(image.shape[1] - size + 1):
            crop = image[top : top + size, left : left + size]
            for turns in range(4):
                for flipped in (crop, crop[:, ::-1]):
                    yield np.rot90(flipped, turns)


def test_augmentation_is_identical_for_all_frames_and_target(tmp_path):
    sequences = _sequence(tmp_path, count=5, height=14, width=16)
    (sequence,) = sequences
    dataset = VideoDeblurDataset(sequences, num_frames=3, patch_size=12, augment=True, seed=7)
    seen_orders = set()
    for index in range(len(dataset)):
        item = dataset[index]
        sharp = item["sharp"].numpy().transpose(1, 2, 0)
        window = window_indices(index, len(sequence), 3)
        # The target is some crop + flip/turn of the true sharp frame.
        original = _read(sequence.sharp[index])
        assert any(np.array_equal(sharp, candidate) for candidate in _dihedral_crops(original, 12))
        # Each blurred frame is exactly the target's transform applied to its own frame: constant offset.
        offsets = []
        for frame in item["blur"].numpy().transpose(0, 2, 3, 1):
            difference = np.round((frame - sharp) * 255)
            assert difference.min() == difference.max(), "blurred frame transformed differently from the target"
            offsets.append(int(difference.flat[0]))
        steps = [o // LEVEL_STEP for o in offsets]
        assert steps in (window, window[::-1])
        seen_orders.add(steps == window)
    assert seen_orders == {True, False}  # temporal reversal happens, and not always


def test_same_seed_same_items_new_epoch_new_draws(tmp_path):
    sequences = _sequence(tmp_path, count=4, height=30, width=40)
    first = VideoDeblurDataset(sequences, 3, patch_size=16, augment=True, seed=3)
    second = VideoDeblurDataset(sequences, 3, patch_size=16, augment=True, seed=3)
    for index in reversed(range(len(first))):  # order of access must not matter (DataLoader workers)
        assert np.array_equal(first[index]["blur"], second[index]["blur"])
    # DataLoader workers (separate processes, each given a share of the indices) build the same items.
    first.set_epoch(2)
    loader = DataLoader(first, batch_size=None, num_workers=2)
    for index, item in enumerate(loader):
        assert item["key"] == first.key(index)
        assert torch.equal(item["blur"], first[index]["blur"]) and torch.equal(item["sharp"], first[index]["sharp"])
    first.set_epoch(0)
    before = [first[i]["sharp"] for i in range(len(first))]
    first.set_epoch(1)
    after = [first[i]["sharp"] for i in range(len(first))]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_corrupt_frame_names_the_file(tmp_path):
    sequences = _sequence(tmp_path, count=3)
    sequences[0].blur[1].write_bytes(b"not a png")
    dataset = VideoDeblurDataset(sequences, num_frames=3)
    with pytest.raises(MediaError, match="0001.png"):
        dataset[0]


def test_training_refuses_a_corrupt_first_frame_as_the_reader_does(tmp_path):
    from vdeblur.io.images import read_image
    from vdeblur.train.trainer import _check_patch_fits

    sequences = _sequence(tmp_path, count=2)
    first = sequences[0].sharp[0]
    first.write_bytes(b"not a png")
    with pytest.raises(MediaError) as from_reader:
        read_image(first)
    with pytest.raises(MediaError, match=r"sharp[/\\]0000\.png: it is corrupt") as from_check:
        _check_patch_fits(sequences, patch_size=8)
    assert str(from_check.value) == str(from_reader.value)


def test_training_refuses_frames_smaller_than_the_patches(tmp_path):
    from vdeblur.errors import ConfigError
    from vdeblur.train.trainer import _check_patch_fits

    sequences = _sequence(tmp_path, count=1, height=20, width=28)
    _check_patch_fits(sequences, patch_size=20)
    with pytest.raises(ConfigError, match="clip has 28x20 frames, smaller than data.patch_size 24"):
        _check_patch_fits(sequences, patch_size=24)


def test_frame_deleted_after_listing_names_the_file(tmp_path):
    sequences = _sequence(tmp_path, count=3)
    sequences[0].sharp[2].unlink()
    with pytest.raises(MediaError, match=r"not found: .*sharp[/\\]0002\.png"):
        VideoDeblurDataset(sequences, num_frames=3)[2]


def test_bad_arguments(tmp_path):
    sequences = _sequence(tmp_path, count=2)
    with pytest.raises(UserError, match="odd"):
        VideoDeblurDataset(sequences, num_frames=4)
    with pytest.raises(UserError, match="smaller than the 64-pixel patches"):
        VideoDeblurDataset(sequences, num_frames=1, patch_size=64)[0]
    with pytest.raises(UserError, match="no sequence"):
        VideoDeblurDataset([], num_frames=1)
    assert isinstance(sequences[0], Sequence)
