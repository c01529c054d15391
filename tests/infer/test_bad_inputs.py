"""Every user mistake ends in one sentence on stderr, exit code 2, no traceback and no output left behind."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import av
import cv2
import pytest
from safetensors.torch import save_file

from .conftest import make_video, moving_frame
from vdeblur.cli import main
from vdeblur.models import create_model


def run_failing(capsys: pytest.CaptureFixture, folder: Path, *args: str) -> str:
    """Run `vdeblur deblur ARGS`; assert it fails cleanly and writes nothing new in ``folder``."""
    before = set(folder.rglob("*"))
    code = main(["deblur", *args, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    message = err.strip().splitlines()[-1]
    assert message.startswith("vdeblur deblur: error: ") and message.endswith(".")
    assert set(folder.rglob("*")) == before, "a (partial or temporary) output was left behind"
    return message


def test_missing_input(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    message = run_failing(capsys, tmp_path, str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mp4"),
                          "--model", str(tiny_weights))
    assert "not found" in message


def test_folder_without_images(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no frames here")
    message = run_failing(
        capsys, tmp_path, str(tmp_path / "empty"), "-o", str(tmp_path / "o"), "--model", str(tiny_weights)
    )
    assert "no image or video files" in message


def test_file_that_is_not_a_video(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is text, not a video\n" * 50)
    message = run_failing(capsys, tmp_path, str(fake), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_weights))
    assert "Cannot open" in message


def test_truncated_video_is_refused(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    """A cut-off MP4 loses its index (written last): it cannot be opened, so it is refused."""
    whole = make_video(tmp_path / "whole.mp4", num_frames=10, audio=False)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    message = run_failing(capsys, tmp_path, str(cut), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_weights))
    assert "corrupt" in message or "truncated" in message


def test_matroska_cut_short_is_deblurred_with_a_warning(tmp_path: Path, tiny_weights: Path) -> None:
    """Matroska has no frame count but states its duration up front: a cut-off file keeps it, and says so."""
    whole = make_video(tmp_path / "whole.mkv", num_frames=20, audio=False)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    args = ["--model", str(tiny_weights), "--quiet"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the whole file must pass without one
        assert main(["deblur", str(whole), "-o", str(tmp_path / "whole-out.mkv"), *args]) == 0
    with pytest.warns(UserWarning, match=r"lasts 0\.67 s by its header but its \d+ frames end at .* may be truncated"):
        assert main(["deblur", str(cut), "-o", str(tmp_path / "cut-out.mkv"), *args]) == 0
    with av.open(str(cut)) as source, av.open(str(tmp_path / "cut-out.mkv")) as output:
        decodable = sum(1 for _ in source.decode(video=0))
        assert 0 < decodable < 20 and sum(1 for _ in output.decode(video=0)) == decodable


def test_video_with_zero_frames(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    empty = tmp_path / "empty.avi"  # AVI keeps the stream header of a stream without frames
    with av.open(str(empty), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()
    message = run_failing(capsys, tmp_path, str(empty), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_weights))
    assert "no video frames" in message


def test_mixed_frame_sizes(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), moving_frame(0, 20, 10))
    cv2.imwrite(str(folder / "2.png"), moving_frame(1, 22, 10))
    message = run_failing(capsys, tmp_path, str(folder), "-o", str(tmp_path / "o"), "--model", str(tiny_weights))
    assert "differ in size" in message


def test_unsupported_pixel_format(tmp_path: Path, tiny_weights: Path, capsys, monkeypatch) -> None:
    """FFmpeg converts every software format it decodes; a frame it cannot convert must still fail cleanly."""
    source = make_video(tmp_path / "v.mp4", num_frames=6, audio=False)

    def refuse(*args, **kwargs):
        raise ValueError("Conversion to rgb24 is not supported")

    monkeypatch.setattr(av.VideoFrame, "to_ndarray", refuse)
    message = run_failing(capsys, tmp_path, str(source), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_weights))
    assert "pixel format" in message


def test_unwritable_output_folder(tmp_path: Path, video_file: Path, tiny_weights: Path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    message = run_failing(
        capsys, tmp_path, str(video_file), "-o", str(blocker / "out.mp4"), "--model", str(tiny_weights)
    )
    assert "not a folder" in message


def test_output_is_the_input(tmp_path: Path, video_file: Path, tiny_weights: Path, capsys) -> None:
    link = tmp_path / "link.mp4"
    link.hardlink_to(video_file)
    message = run_failing(
        capsys, tmp_path, str(video_file), "-o", str(link), "--model", str(tiny_weights), "--overwrite"
    )
    assert "is the input" in message
    assert link.stat().st_size == video_file.stat().st_size


def test_existing_output_needs_overwrite(tmp_path: Path, video_file: Path, tiny_weights: Path, capsys) -> None:
    existing = tmp_path / "done.mp4"
    existing.write_bytes(b"old")
    message = run_failing(capsys, tmp_path, str(video_file), "-o", str(existing), "--model", str(tiny_weights))
    assert "--overwrite" in message and existing.read_bytes() == b"old"


def test_unknown_model_name(tmp_path: Path, video_file: Path, capsys) -> None:
    message = run_failing(capsys, tmp_path, str(video_file), "-o", str(tmp_path / "o.mp4"), "--model", "no-such-model")
    assert "Unknown model" in message


def test_checkpoint_of_another_architecture(tmp_path: Path, video_file: Path, capsys) -> None:
    other = create_model("dblrnet-cpu", channels=8, num_blocks=1, head_channels=8)
    weights = tmp_path / "mislabelled.safetensors"
    metadata = {"model": "sta-cpu", "model_kwargs": {"num_frames": 3}}
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(weights),
              metadata={"vdeblur": json.dumps(metadata)})
    message = run_failing(capsys, tmp_path, str(video_file), "-o", str(tmp_path / "o.mp4"), "--model", str(weights))
    assert "does not fit" in message


def test_interrupted_run_leaves_nothing(
    tmp_path: Path, video_file: Path, tiny_weights: Path, monkeypatch, stop, capsys
) -> None:
    """Stopped in the middle of encoding: exit 128 + signal, one line, neither the output nor a temporary file."""
    from vdeblur.io import video as video_io

    stop.at_call(monkeypatch, video_io.VideoWriter, "write", call=5)
    before = set(tmp_path.rglob("*"))
    args = ["deblur", str(video_file), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_weights), "--quiet"]
    assert main(args) == stop.status
    assert capsys.readouterr().err == f"vdeblur deblur: {stop.message}\n"
    assert set(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("option, value", [("--threads", "0"), ("--tile", "-5"), ("--crf", "100")])
def test_bad_numbers_are_usage_errors(
    option: str, value: str, tmp_path: Path, video_file: Path, tiny_weights: Path, capsys
) -> None:
    before = set(tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as stop:
        main(["deblur", str(video_file), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_weights), option, value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"argument {option}" in err and value in err and "Traceback" not in err
    assert set(tmp_path.rglob("*")) == before


def test_a_tile_below_the_smallest_is_a_usage_error_that_names_it(
    tmp_path: Path, video_file: Path, tiny_weights: Path, capsys
) -> None:
    """``--tile 3`` used to run, hundreds of times slower; the smallest tile depends on the model."""
    args = [str(video_file), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_weights)]
    message = run_failing(capsys, tmp_path, *args, "--tile", "3")
    smallest = int(re.search(r"smallest this model accepts, (\d+)", message).group(1))
    assert f"--tile {smallest}" in message
    # The number named is the boundary: one pixel less is refused, that size itself runs.
    run_failing(capsys, tmp_path, *args, "--tile", str(smallest - 1))
    assert main(["deblur", *args, "--tile", str(smallest), "--quiet"]) == 0


def test_output_folder_that_holds_the_input_is_refused(tmp_path: Path, tiny_weights: Path, capsys, monkeypatch) -> None:
    """A frames output replaces its whole folder: a folder holding the input (or ".") must never be one."""
    folder = tmp_path / "videos"
    folder.mkdir()
    video = make_video(folder / "precious.mp4", num_frames=4, audio=False)
    (folder / "notes.txt").write_text("mine")
    message = run_failing(capsys, tmp_path, str(video), "-o", str(folder), "--model", str(tiny_weights), "--overwrite")
    assert "contains the input" in message
    monkeypatch.chdir(folder)
    message = run_failing(capsys, tmp_path, "precious.mp4", "-o", ".", "--model", str(tiny_weights), "--overwrite")
    assert "contains the input" in message
    assert (folder / "notes.txt").read_text() == "mine" and video.stat().st_size > 0


def test_overwrite_replaces_only_an_earlier_output(tmp_path: Path, video_file: Path, tiny_weights: Path, capsys) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "000000.png"), moving_frame(0, 8, 8))
    (frames / "notes.txt").write_text("mine")
    args = [str(video_file), "-o", str(frames), "--model", str(tiny_weights), "--overwrite"]
    message = run_failing(capsys, tmp_path, *args)
    assert "holds more than frames (notes.txt)" in message
    (frames / "notes.txt").unlink()
    assert main(["deblur", *args, "--quiet"]) == 0  # a folder of frames only: an earlier output, replaced
    assert len(list(frames.glob("*.png"))) == 24
    notes = tmp_path / "notes"
    notes.write_text("mine")
    message = run_failing(capsys, tmp_path, str(video_file), "-o", str(notes), "--model", str(tiny_weights),
                          "--overwrite")
    assert "is a file, not a folder of frames" in message and notes.read_text() == "mine"


def test_overwrite_through_a_link_and_dotdot_replaces_the_folder_that_was_checked(
    tmp_path: Path, video_file: Path, tiny_weights: Path
) -> None:
    """``link/../out`` is ``a/out`` to the file system (the link is followed first), never ``./out``."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "a" / "b")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    target = str(tmp_path / "link" / ".." / "out")
    args = ["deblur", str(video_file), "-o", target, "--model", str(tiny_weights), "--overwrite", "--quiet"]
    assert main(args) == 0
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"
    assert len(list((tmp_path / "a" / "out").glob("*.png"))) == 24
    assert main(args) == 0  # an earlier output there: replaced again


def test_batch_outputs_that_collide_are_refused(tmp_path: Path, tiny_weights: Path, capsys) -> None:
    first = make_video(tmp_path / "v.mp4", num_frames=3, audio=False)
    second = make_video(tmp_path / "v_compare.mp4", num_frames=3, audio=False)
    message = run_failing(capsys, tmp_path, str(first), str(second), "-o", str(tmp_path / "out"), "--compare",
                          "--model", str(tiny_weights))
    assert "would both be written to" in message and "v_compare.mp4" in message


def test_full_disk_is_one_sentence_and_leaves_nothing(
    tmp_path: Path, video_file: Path, tiny_weights: Path, capsys, monkeypatch
) -> None:
    """A failure no check can foresee (the disk fills as the output is put in place) still ends cleanly."""
    import errno

    from vdeblur.io import atomic

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(atomic.os, "replace", full_disk)
    before = set(tmp_path.rglob("*"))
    out = tmp_path / "o.mp4"
    assert main(["deblur", str(video_file), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"vdeblur deblur: error: No space left on device: {out}."
    assert set(tmp_path.rglob("*")) == before
