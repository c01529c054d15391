"""`vdeblur deblur` on generated media, checked by decoding the outputs independently with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from .conftest import NTSC, make_video, moving_frame
from vdeblur.cli import main
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.io.video import VideoWriter, iter_video_frames


def decoded(path: Path) -> dict:
    """Independent read-back: counts, timing, size, rotation and audio duration straight from PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        audio = container.streams.audio
        audio_seconds = float(audio[0].duration * audio[0].time_base) if audio else None
        return {
            "count": len(frames),
            "rate": video.average_rate,
            "size": (frames[0].width, frames[0].height),
            "times": [round(float(f.time), 4) for f in frames],
            "rotation": frames[0].rotation,
            "audio": audio_seconds,
            "audio_codec": audio[0].codec_context.name if audio else None,
        }


def test_video_round_trip_keeps_count_rate_size_audio(tmp_path: Path, video_file: Path, tiny_weights: Path) -> None:
    out = tmp_path / "out" / "sharp.mp4"
    assert main(["deblur", str(video_file), "-o", str(out), "--model", str(tiny_weights), "--quiet", "--compare"]) == 0
    src, dst = decoded(video_file), decoded(out)
    assert dst["count"] == src["count"] == 24
    assert dst["rate"] == NTSC
    assert dst["size"] == (67, 45)
    assert dst["times"] == src["times"]
    assert dst["audio_codec"] == "aac"
    assert dst["audio"] == pytest.approx(src["audio"], abs=1e-3)
    side_by_side = decoded(tmp_path / "out" / "sharp_compare.mp4")
    assert side_by_side["size"] == (134, 45) and side_by_side["count"] == 24
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sharp.mp4", "sharp_compare.mp4"]


def test_colours_survive_reading_and_writing_against_the_frames_that_were_encoded(tmp_path: Path) -> None:
    """Reader and writer each against known pixels, so a colour-matrix error shared by both cannot cancel out.

    Losslessly coded (yuv444p, qp 0), only the RGB <-> YUV rounding remains: well under 1 level. Decoding the same
    file with BT.709 coefficients instead of BT.601 (what untagged SD video means) is off by 6-10 levels.
    """
    size = (64, 48)
    source = make_video(tmp_path / "known.mp4", num_frames=3, size=size, audio=False, lossless=True)
    truth = [moving_frame(i, *size).astype(float) for i in range(3)]
    read = list(iter_video_frames(source))
    assert len(read) == 3
    assert max(np.abs(a - b).mean() for a, b in zip(read, truth, strict=True)) < 1.0
    written = tmp_path / "written.mkv"
    with VideoWriter(written, NTSC, crf=0, pixel_format="yuv444p") as writer:  # 4:2:0 would blur the chroma
        for frame in read:
            writer.write(frame)
    assert max(np.abs(a - b).mean() for a, b in zip(iter_video_frames(written), truth, strict=True)) < 1.0


def test_video_pixels_match_the_model_on_decoded_frames(tmp_path: Path, video_file: Path, tiny_weights: Path) -> None:
    out = tmp_path / "sharp.mkv"
    weights = str(tiny_weights)
    args = ["deblur", str(video_file), "-o", str(out), "--model", weights, "--precision", "fp32", "--crf", "0", "--quiet"]
    threads = torch.get_num_threads()
    try:  # one thread for the model, the decoder and the encoder: the same pixels
        assert main([*args, "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    expected = list(Deblurrer(tiny_weights, device="cpu", precision="fp32").deblur_frames(iter_video_frames(video_file)))
    got = list(iter_video_frames(out))
    assert len(got) == len(expected)
    error = np.mean([np.abs(a.astype(float) - b).mean() for a, b in zip(got, expected, strict=True)])
    assert error < 1.0  # lossless yuv444p: only RGB->YUV->RGB rounding remains


def test_variable_frame_rate_and_rotation_are_kept(tmp_path: Path, tiny_weights: Path) -> None:
    pts = [0, 33, 66, 150, 183, 400, 433, 466]
    source = make_video(tmp_path / "vfr.mkv", num_frames=len(pts), size=(32, 24), audio=False, pts=pts, rotation=90)
    out = tmp_path / "vfr_out.mkv"
    assert main(["deblur", str(source), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    dst = decoded(out)
    assert dst["times"] == [p / 1000 for p in pts]
    assert dst["rotation"] == 90
    assert dst["size"] == (32, 24)


def test_rotated_video_to_frames_are_upright(tmp_path: Path, tiny_weights: Path) -> None:
    source = make_video(tmp_path / "rot.mp4", num_frames=3, size=(32, 24), audio=False, rotation=90)
    out = tmp_path / "frames"
    assert main(["deblur", str(source), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["frame_000001.png", "frame_000002.png", "frame_000003.png"]
    assert cv2.imread(str(out / names[0])).shape == (32, 24, 3)  # 90° turn: height and width swap


def test_frame_folder_keeps_names_and_16_bit_depth(tmp_path: Path, tiny_weights: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    names = ["a_1.png", "a_2.png", "a_10.png"]
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), moving_frame(i, 29, 17).astype(np.uint16) * 257)
    out = tmp_path / "sharp_shots"
    assert main(["deblur", str(folder), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    image = cv2.imread(str(out / "a_10.png"), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint16 and image.shape == (17, 29, 3)
    # Frames in natural order (a_2 before a_10) feed the model's windows: compare with the API on that order.
    frames = [cv2.imread(str(folder / n), cv2.IMREAD_UNCHANGED)[:, :, ::-1].copy() for n in names]
    expected = list(Deblurrer(tiny_weights, device="cpu").deblur_frames(frames))[2][:, :, ::-1]
    assert np.abs(image.astype(int) - expected).max() <= 1


def test_frame_folder_to_video_and_greyscale_input(tmp_path: Path, tiny_weights: Path) -> None:
    folder = tmp_path / "grey"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"{i:03d}.jpg"), moving_frame(i, 40, 30)[:, :, 0])
    out = tmp_path / "grey.mp4"
    assert main(["deblur", str(folder), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    dst = decoded(out)
    assert dst["count"] == 5 and dst["size"] == (40, 30) and dst["rate"] == Fraction(30)


def test_many_videos_shared_between_processes(tmp_path: Path, tiny_weights: Path, monkeypatch) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mkv"):
        make_video(videos / name, num_frames=3, size=(16, 16), audio=False)
    out = tmp_path / "out"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert main(["deblur", str(videos), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["b.mp4"]
    monkeypatch.setenv("RANK", "0")
    assert main(["deblur", str(videos), "-o", str(out), "--model", str(tiny_weights), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mkv"]
    assert decoded(out / "c.mkv")["count"] == 3


def test_video_streaming_holds_a_bounded_number_of_frames(tmp_path: Path, tiny_weights: Path, monkeypatch) -> None:
    """Decoded-but-not-yet-written frames stay below the queues plus one window, however long the video."""
    from vdeblur.infer import deblurrer as api
    from vdeblur.infer import sinks, sources

    counts = {"decoded": 0, "written": 0, "most_in_flight": 0}
    decode, write = sources.VideoSource.__iter__, sinks.VideoSink.write

    def counting_decode(self):
        for frame in decode(self):
            counts["decoded"] += 1
            yield frame

    def counting_write(self, image, frame):
        counts["most_in_flight"] = max(counts["most_in_flight"], counts["decoded"] - counts["written"])
        counts["written"] += 1
        write(self, image, frame)

    monkeypatch.setattr(sources.VideoSource, "__iter__", counting_decode)
    monkeypatch.setattr(sinks.VideoSink, "write", counting_write)
    source = make_video(tmp_path / "long.mp4", num_frames=90, size=(16, 16), audio=False)
    deblurrer = Deblurrer(tiny_weights, device="cpu", precision="fp32")
    assert deblurrer.deblur_video(source, tmp_path / "out.mp4", progress=False) == 90
    # reader queue + the frame being put, the window's look-ahead, writer queue + the frame being written
    bound = (api._QUEUE + 1) + deblurrer.num_frames + (api._QUEUE + 1)
    assert counts["written"] == 90 and 0 < counts["most_in_flight"] <= bound < 90 / 2


def test_colour_range_and_space_are_kept(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "full_range.mp4"
    tags = (2, 1, 1, 1)  # full ("JPEG") range, BT.709 matrix, primaries and transfer: none is FFmpeg's default
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        context = stream.codec_context
        context.color_range, context.colorspace, context.color_primaries, context.color_trc = tags
        for i in range(4):
            rgb = av.VideoFrame.from_ndarray(moving_frame(i, 32, 24), format="rgb24")
            frame = rgb.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="JPEG")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    out_path = tmp_path / "out.mp4"
    assert main(["deblur", str(source), "-o", str(out_path), "--model", str(tiny_weights), "--quiet"]) == 0
    for path in (source, out_path):
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            assert (frame.color_range, frame.colorspace, frame.color_primaries, frame.color_trc) == tags, path


@pytest.mark.parametrize(
    ("output", "codec", "message"),
    [
        ("o.mp4", "bogus", "FFmpeg has no video encoder named 'bogus'; use libx264"),
        ("o.mp4", "aac", "'aac' is not a video encoder (FFmpeg's 'aac' encodes audio); use libx264"),
        # Refused by the container only once the file is open: the message must still name o.webm, not the
        # hidden temporary file beside it that is written first.
        ("o.webm", "mpeg4", "Cannot write video {out} with encoder 'mpeg4' ('webm' format does not support"),
    ],
)
def test_encoders_that_cannot_write_the_output_are_one_sentence_naming_it(
    tmp_path: Path, tiny_weights: Path, capsys, output: str, codec: str, message: str
) -> None:
    source = make_video(tmp_path / "in.mp4", num_frames=3, size=(16, 16), audio=False)
    out = tmp_path / output
    before = set(tmp_path.iterdir())
    args = ["deblur", str(source), "-o", str(out), "--model", str(tiny_weights), "--codec", codec, "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"vdeblur deblur: error: {message.format(out=out)}") and err.endswith(".")
    assert "\n" not in err and "Traceback" not in err
    assert set(tmp_path.iterdir()) == before


def _x264_settings(path: Path) -> str:
    """The settings x264 writes into its stream (an SEI message: "... options: cabac=1 ref=1 ...")."""
    data = path.read_bytes()
    start = data.index(b"options: ")
    return data[start:data.index(b"\0", start)].decode()


@pytest.mark.parametrize(("preset", "expected"), [(None, "subme=2 "), ("medium", "subme=7 ")])
def test_the_x264_preset_reaches_the_encoder(
    tmp_path: Path, tiny_weights: Path, preset: str | None, expected: str
) -> None:
    """x264's own record of its settings: veryfast (the default) searches with subme=2, medium with subme=7."""
    source = make_video(tmp_path / "in.mp4", num_frames=3, size=(32, 32), audio=False)
    out = tmp_path / "out.mp4"
    args = ["deblur", str(source), "-o", str(out), "--model", str(tiny_weights), "--quiet"]
    assert main(args + (["--preset", preset] if preset else [])) == 0
    assert expected in _x264_settings(out)


def test_a_preset_for_an_encoder_without_presets_is_one_sentence(
    tmp_path: Path, tiny_weights: Path, capsys
) -> None:
    source = make_video(tmp_path / "in.mp4", num_frames=3, size=(16, 16), audio=False)
    args = ["deblur", str(source), "-o", str(tmp_path / "o.webm"), "--model", str(tiny_weights), "--preset", "slow",
            "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == "vdeblur deblur: error: The encoder libvpx-vp9 takes no preset; presets are for libx264 and libx265."
    assert not (tmp_path / "o.webm").exists()


@pytest.mark.parametrize(("pixel_format", "floor_db"), [("yuv420p", 44.5), ("yuv420p10le", 41.0)])
def test_smooth_chroma_survives_4_2_0_against_the_frame_that_was_encoded(
    tmp_path: Path, pixel_format: str, floor_db: float
) -> None:
    """Camera video has smooth chroma, which 4:2:0 can hold: coded losslessly, only the conversions remain.

    Repeating each chroma sample on reading, swscale's default, gives 42.1 dB on this frame (8 bits); interpolating
    it, as players do, 45.7. Into 16-bit RGB FFmpeg's full-chroma interpolation returned garbage (8 dB).
    """
    from scipy.ndimage import gaussian_filter
    from skimage import color, data

    from vdeblur.io.video import VideoReader
    from vdeblur.metrics import psnr

    ycbcr = color.rgb2ycbcr(data.astronaut()[::2, ::2])
    for channel in (1, 2):
        ycbcr[..., channel] = gaussian_filter(ycbcr[..., channel], 2.0)
    frame = np.clip(np.round(color.ycbcr2rgb(ycbcr) * 255), 0, 255).astype(np.uint8)
    path = tmp_path / "smooth.mkv"
    with VideoWriter(path, Fraction(25), crf=0, pixel_format=pixel_format, options={"qp": "0"}) as writer:
        writer.write(frame)
    with VideoReader(path) as reader:
        image = next(iter(reader)).image
    read = image if image.dtype == np.uint8 else np.round(image / 257).astype(np.uint8)
    assert psnr(read, frame) > floor_db
