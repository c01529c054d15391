"""`Deblurrer.deblur_video(on_frame=...)`: progress reports, and stopping a run from the callback."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from .conftest import make_video
from vdeblur.infer.deblurrer import Deblurrer


class Stop(Exception):
    pass


def test_on_frame_counts_every_frame_and_pixel_format_is_honoured(tmp_path: Path, tiny_weights: Path) -> None:
    video_file = make_video(tmp_path / "in.mp4", num_frames=24, size=(64, 48), audio=False)
    calls: list[tuple[int, int | None]] = []
    out = tmp_path / "out.mp4"
    # yuv420p is the writer's default here, so ask for another format to see the request reach the encoder.
    written = Deblurrer(tiny_weights, "cpu").deblur_video(
        video_file, out, progress=False, on_frame=lambda done, total: calls.append((done, total)),
        pixel_format="yuv444p",
    )
    assert calls == [(i, 24) for i in range(1, 25)] and written == 24
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv444p"


def test_raising_from_on_frame_stops_and_leaves_nothing(video_file: Path, tmp_path: Path,
                                                        tiny_weights: Path) -> None:
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    seen: list[int] = []

    def stop_at_five(done: int, total: int | None) -> None:
        seen.append(done)
        if done == 5:
            raise Stop

    with pytest.raises(Stop):
        Deblurrer(tiny_weights, "cpu").deblur_video(
            video_file, out_folder / "out.mp4", compare=out_folder / "cmp.mp4", progress=False, on_frame=stop_at_five
        )
    assert seen == [1, 2, 3, 4, 5]
    assert list(out_folder.iterdir()) == []
