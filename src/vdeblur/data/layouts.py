"""Finding blurred/sharp frame pairs in the folder layouts of the published deblurring datasets.

Each layout knows how to recognise itself and how to list the sequences of one split. A sequence is two equally
long, name-sorted lists of frame files; nothing is decoded here, so listing a large dataset is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vdeblur.errors import UserError
from vdeblur.io.listing import list_images, list_subfolders


@dataclass(frozen=True)
class Sequence:
    """One video's frames: ``blur[i]`` is the blurred version of ``sharp[i]``.

    Attributes:
        name: unique within a dataset; item keys are ``"<name>/<frame stem>"``.
        blur: blurred frame files in temporal order.
        sharp: sharp frame files in the same order, as many as ``blur``.
    """

    name: str
    blur: list[Path]
    sharp: list[Path]

    def __len__(self) -> int:
        return len(self.blur)


def list_frames(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, in natural name order.

    Raises:
        UserError: the folder is missing or holds no image.
    """
    if not folder.is_dir():
        raise UserError(f"Frame folder not found: {folder}.")
    frames = list_images(folder)
    if not frames:
        raise UserError(f"Frame folder {folder} holds no image.")
    return frames


def pair_sequence(name: str, blur_dir: Path, sharp_dir: Path) -> Sequence:
    """Build a `Sequence` from a blurred and a sharp frame folder.

    Raises:
        UserError: a folder is missing or empty, or the two hold different numbers of frames.
    """
    blur, sharp = list_frames(blur_dir), list_frames(sharp_dir)
    if len(blur) != len(sharp):
        raise UserError(
            f"Sequence {name} has {len(blur)} blurred frames in {blur_dir} but {len(sharp)} sharp frames in {sharp_dir}."
        )
    return Sequence(name=name, blur=blur, sharp=sharp)


def _subdirs(folder: Path) -> list[Path]:
    """Visible subfolders in natural order; hidden ones (e.g. a sequence still being written) are skipped."""
    return list_subfolders(folder) if folder.is_dir() else []


# Split spellings differ between datasets (BSD says "valid", REDS "val"); each layout maps the common names.
_VALIDATION = ("val", "valid", "validation")


def _split_dir(root: Path, split: str, spellings: dict[str, str], layout: str) -> Path:
    folder = root / spellings.get(split, split)
    if not folder.is_dir():
        present = sorted(p.name for p in _subdirs(root))
        raise UserError(f"The {layout} dataset at {root} has no '{split}' split (found folders: {', '.join(present) or 'none'}).")
    return folder


def _gopro(root: Path, split: str, blur_folder: str) -> list[Sequence]:
    split_dir = _split_dir(root, split, {}, "GOPRO")
    return [
        pair_sequence(seq.name, seq / blur_folder, seq / "sharp")
        for seq in _subdirs(split_dir)
    ]


def _generic(root: Path, split: str, blur_folder: str) -> list[Sequence]:
    # A folder that is itself one sequence (root/blur, root/sharp) is read as a dataset of one.
    if (root / "sharp").is_dir():
        return [pair_sequence(root.name, root / blur_folder, root / "sharp")]
    return [pair_sequence(seq.name, seq / blur_folder, seq / "sharp") for seq in _subdirs(root) if (seq / "sharp").is_dir()]


# DVD ships one folder of 71 videos; the 10 below are the test set its authors named (Su et al., CVPR 2017,
# in their repository's issue tracker) and that later papers use. "train" is the other 61, "all" every video.
DVD_TEST_SEQUENCES = frozenset({
    "720p_240fps_2", "IMG_0003", "IMG_0021", "IMG_0030", "IMG_0031",
    "IMG_0032", "IMG_0033", "IMG_0037", "IMG_0039", "IMG_0049",
})


def _dvd_split_folders(root: Path) -> bool:
    """True for the re-arranged copy some projects use: ``{train,test}/<seq>/{input,GT}``."""
    return any((s / "GT").is_dir() and (s / "input").is_dir() for split in ("train", "test") for s in _subdirs(root / split))


def _dvd_videos_folder(root: Path) -> Path:
    """Where the DVD videos sit: ``quantitative_datasets`` as shipped, or ``root`` itself when given that folder."""
    return root / "quantitative_datasets" if (root / "quantitative_datasets").is_dir() else root


def _dvd(root: Path, split: str, blur_folder: str) -> list[Sequence]:
    if _dvd_split_folders(root) and split != "all":
        split_dir = _split_dir(root, split, {}, "DVD")
        return [pair_sequence(s.name, s / "input", s / "GT") for s in _subdirs(split_dir) if (s / "GT").is_dir()]
    seqs = [s for s in _subdirs(_dvd_videos_folder(root)) if (s / "GT").is_dir()]
    if split == "test":
        seqs = [s for s in seqs if s.name in DVD_TEST_SEQUENCES]
    elif split == "train":
        seqs = [s for s in seqs if s.name not in DVD_TEST_SEQUENCES]
    elif split != "all":
        raise UserError(f"The DVD dataset has splits 'train', 'test' and 'all', not '{split}'.")
    return [pair_sequence(s.name, s / "input", s / "GT") for s in seqs]


def _bsd(root: Path, split: str, blur_folder: str) -> list[Sequence]:
    split_dir = _split_dir(root, split, {name: "valid" for name in _VALIDATION}, "BSD")
    return [pair_sequence(s.name, s / "Blur" / "RGB", s / "Sharp" / "RGB") for s in _subdirs(split_dir)]


def _reds(root: Path, split: str, blur_folder: str) -> list[Sequence]:
    name = "val" if split in _VALIDATION else split
    blur_root, sharp_root = root / f"{name}_blur", root / f"{name}_sharp"
    if not blur_root.is_dir() or not sharp_root.is_dir():
        raise UserError(f"The REDS dataset at {root} needs folders {blur_root.name} and {sharp_root.name} for split '{split}'.")
    return [pair_sequence(s.name, s, sharp_root / s.name) for s in _subdirs(blur_root)]


def _looks_gopro(root: Path) -> bool:
    return any((seq / "sharp").is_dir() for split in _subdirs(root) for seq in _subdirs(split))


def _looks_generic(root: Path) -> bool:
    return (root / "sharp").is_dir() or any((seq / "sharp").is_dir() for seq in _subdirs(root))


def _looks_dvd(root: Path) -> bool:
    in_videos_folder = any((s / "input").is_dir() and (s / "GT").is_dir() for s in _subdirs(_dvd_videos_folder(root)))
    return in_videos_folder or _dvd_split_folders(root)


def _looks_bsd(root: Path) -> bool:
    return any((seq / "Sharp" / "RGB").is_dir() for split in _subdirs(root) for seq in _subdirs(split))


def _looks_reds(root: Path) -> bool:
    return any(p.name.endswith("_sharp") for p in _subdirs(root))


@dataclass(frozen=True)
class Layout:
    """A dataset layout: a pattern shown in error messages, a recogniser and a reader."""

    pattern: str
    looks_like: Callable[[Path], bool]
    read: Callable[[Path, str, str], list[Sequence]]


# Order matters for detection: the specific layouts are tried before "generic", whose pattern is the loosest.
LAYOUTS: dict[str, Layout] = {
    "reds": Layout("{train,val}_{blur,sharp}/<seq>/*.png", _looks_reds, _reds),
    "dvd": Layout("quantitative_datasets/<seq>/{input,GT}/*.jpg (or {train,test}/<seq>/{input,GT})", _looks_dvd, _dvd),
    "bsd": Layout("{train,valid,test}/<seq>/{Blur,Sharp}/RGB/*.png", _looks_bsd, _bsd),
    "gopro": Layout("{train,test}/<seq>/{blur,blur_gamma,sharp}/*.png", _looks_gopro, _gopro),
    "generic": Layout("<seq>/{blur,sharp}/*.png", _looks_generic, _generic),
}


def detect_layout(root: str | os.PathLike) -> str:
    """Name of the first layout in `LAYOUTS` that ``root`` matches.

    Raises:
        UserError: ``root`` is missing or matches no layout (the message lists the layouts looked for).
    """
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"Dataset folder not found: {root}.")
    for name, layout in LAYOUTS.items():
        if layout.looks_like(root):
            return name
    looked_for = "; ".join(f"{name} ({layout.pattern})" for name, layout in LAYOUTS.items())
    raise UserError(f"{root} matches no known dataset layout; looked for: {looked_for}.")


def find_sequences(
    root: str | os.PathLike, layout: str = "auto", split: str = "train", blur_folder: str = "blur"
) -> list[Sequence]:
    """List the blurred/sharp sequences of one split of a dataset.

    Args:
        root: the dataset folder (e.g. ``GOPRO_Large``, ``DeepVideoDeblurring_Dataset``, ``BSD_2ms16ms``, ``REDS``).
        layout: one of `LAYOUTS` (``gopro``, ``dvd``, ``bsd``, ``reds``, ``generic``) or ``auto`` to detect it.
        split: ``train``, ``test`` or ``val``/``valid`` as the dataset has them (ignored by ``generic``;
            DVD also accepts ``all``).
        blur_folder: for GOPRO and generic layouts, the folder holding the blurred frames (GOPRO ships ``blur``
            and ``blur_gamma``).

    Returns:
        The sequences in name order, each with as many blurred as sharp frames.

    Raises:
        UserError: unknown layout or split, a missing folder, an empty sequence, unequal frame counts, or a
            folder with no sequence.
    """
    root = Path(root)
    if layout == "auto":
        layout = detect_layout(root)
    elif layout not in LAYOUTS:
        raise UserError(f"Unknown dataset layout '{layout}'; choose one of auto, {', '.join(LAYOUTS)}.")
    elif not root.is_dir():
        raise UserError(f"Dataset folder not found: {root}.")
    sequences = LAYOUTS[layout].read(root, split, blur_folder)
    if not sequences:
        raise UserError(f"No sequence found in {root} (layout {layout}, split '{split}': {LAYOUTS[layout].pattern}).")
    return sequences
