"""Reading and writing video files with PyAV (FFmpeg), keeping what a viewer notices.

The reader decodes lazily to RGB arrays and carries each frame's timestamp, so variable frame rates survive.
The writer re-encodes RGB frames with those timestamps, the source's rotation (display matrix) and colour
tags, and copies the source's audio packets without re-encoding when the output container accepts the codec
(it transcodes to AAC/Opus otherwise). YUV<->RGB conversion happens here and nowhere else.

``iter_video_frames`` and ``probe_video`` are the stable interface other parts (synthesis, the demo) use.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vdeblur.errors import MediaError, first_line

try:
    import av
    from av.codec.context import Flags as CodecFlags
    from av.video.reformatter import Interpolation
except ImportError:
    # PyAV is a dependency, but a machine can lack it: the image of a lent GPU has none, and its 36 MB wheel does
    # not fit what travels there (scripts/device_train.sh). Photographs still render and models still train there;
    # anything that opens or writes a video says what is missing (require_pyav).
    av = None

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts", ".wmv",
                  ".flv", ".3gp", ".ogv", ".nut", ".y4m")

# FFmpeg's AVColorSpace (stream/frame tags) -> swscale's conversion matrix names understood by PyAV.
_SWS_COLORSPACE = {1: "itu709", 4: "fcc", 5: "itu601", 6: "smpte170m", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
_RANGE_FULL = 2  # AVCOL_RANGE_JPEG; 0 (unspecified) and 1 (MPEG) mean limited range
# Output suffix -> the audio codec used when the source's audio cannot be copied into that container.
_AUDIO_FALLBACK = {".webm": "libopus", ".ogv": "libopus"}
_DEFAULT_VIDEO_CODEC = {".webm": "libvpx-vp9", ".ogv": "libvpx-vp9"}
# The written video should keep the model's gain: within 0.05 dB of its output on the demo sample, with room for
# better models, at the smallest file that does (benchmarks/encoder_settings.py; BENCHMARKS.md "The written video").
DEFAULT_CRF = 16
# x264's and x265's speed/size trade-offs, fastest first. The default is `veryfast`: with the fast models the
# encoder took a third of the time at x264's own `medium` (the whole command 2.25 against 2.60 frames/s for
# `sta-fast` at 1280x720 on 2 cores), and `veryfast` loses about as little of the model's gain at about the same size
# (BENCHMARKS.md, "The written video").
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
DEFAULT_PRESET = "veryfast"
_PRESET_CODECS = ("libx264", "libx265")
# swscale's default same-size conversions between YUV 4:2:0 and RGB repeat each chroma sample instead of
# interpolating it and round loosely: on the demo sample that alone cost 0.23 dB of the model's gain, ten times
# what H.264 at CRF 18 costs (BENCHMARKS.md, "The written video"). Players interpolate chroma; the reader does
# too, and the writer filters chroma before subsampling it. Into 48-bit RGB, FFmpeg 8's full-chroma
# interpolation returns garbage (8 dB), while accurate rounding alone already takes an interpolating path there.
# BITEXACT keeps swscale off its SIMD paths that round differently from its C code, so that the same file gives
# the same pixels on every CPU: the data sets are rendered from videos, and two builds of the benchmark set on
# different CPUs differed in their video-sourced sequences only (docs/DATA.md). It costs about 1.4 ms per 720p
# frame; on an AVX2 CPU the pixels are the same as without it.
if av is not None:
    _EXACT = Interpolation.ACCURATE_RND | Interpolation.BITEXACT
    TO_RGB_FLAGS = {
        "rgb24": Interpolation.BILINEAR | _EXACT | Interpolation.FULL_CHR_H_INT,
        "rgb48le": Interpolation.BILINEAR | _EXACT,
    }
    FROM_RGB_FLAGS = Interpolation.BICUBIC | _EXACT | Interpolation.FULL_CHR_H_INP
# Audio is muxed this far (seconds) ahead of the video, so FFmpeg's interleaving buffer stays small.
_AUDIO_LEAD_SECONDS = 1.0


def require_pyav() -> Any:
    """The ``av`` module.

    Raises:
        MediaError: PyAV is not installed.
    """
    if av is None:
        raise MediaError("Reading or writing video needs PyAV (FFmpeg for Python), which is not installed here: "
                         "pip install av.")
    return av


def is_video_file(path: str | os.PathLike) -> bool:
    """True for a file whose suffix is a common video container (content is checked only when opened)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class ColorInfo:
    """The colour tags of a video stream, as FFmpeg's enum values (0/2 mean unspecified)."""

    colorspace: int = 2
    color_range: int = 0
    color_primaries: int = 2
    color_trc: int = 2

    @classmethod
    def bt709(cls) -> ColorInfo:
        """Tags for video made from RGB images (sRGB primaries and transfer are those of BT.709)."""
        return cls(colorspace=1, color_range=1, color_primaries=1, color_trc=1)

    @property
    def sws_colorspace(self) -> str:
        """The matrix swscale must use between RGB and YUV (BT.601 when untagged, as FFmpeg does)."""
        return _SWS_COLORSPACE.get(self.colorspace, "itu601")

    @property
    def sws_range(self) -> str:
        return "JPEG" if self.color_range == _RANGE_FULL else "MPEG"


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about its first video stream."""

    width: int
    height: int
    frame_rate: Fraction | None
    num_frames: int | None
    has_audio: bool
    time_base: Fraction | None = None
    pix_fmt: str | None = None
    codec: str | None = None
    duration: float | None = None  # seconds: the stream's, else the container's (which may include audio)


@dataclass(frozen=True)
class TimedFrame:
    """One decoded frame: RGB pixels and its presentation time.

    ``image`` is uint8 ``(H, W, 3)``, or uint16 for sources with more than 8 bits per component.
    ``pts`` counts ``time_base`` units (None when the container gives no timestamp).
    """

    image: np.ndarray
    pts: int | None
    time_base: Fraction | None


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read the first video stream's metadata without decoding frames.

    Raises:
        MediaError: missing file, or not a video FFmpeg can open.
    """
    path = Path(path)
    with _open_input(path) as container:
        return _video_info(container, path)


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise MediaError(f"Video file not found: {path}.")
    require_pyav()
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"Cannot open {path} as a video: it is corrupt, truncated or not a video file.") from exc


def _video_info(container: av.container.InputContainer, path: Path) -> VideoInfo:
    if not container.streams.video:
        raise MediaError(f"{path} has no video stream.")
    stream = container.streams.video[0]
    if stream.codec_context.width <= 0 or stream.codec_context.height <= 0:
        raise MediaError(f"{path} has a video stream without a frame size; it is corrupt or not supported.")
    return VideoInfo(
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        frame_rate=stream.average_rate or stream.guessed_rate,
        num_frames=stream.frames or None,
        has_audio=bool(container.streams.audio),
        time_base=stream.time_base,
        pix_fmt=stream.codec_context.pix_fmt,
        codec=stream.codec_context.name,
        duration=_duration_seconds(container, stream),
    )


def _duration_seconds(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


class VideoReader:
    """Decode the first video stream of a file lazily as RGB :class:`TimedFrame` objects.

    Opening decodes the first frame, so an empty or undecodable video fails here, before any output exists,
    and ``rotation`` and ``color`` (read from the decoded frame's side data and tags) are known up front.

    Args:
        path: the video file.
        threads: decoder threads; 0 lets FFmpeg choose (about one per core).

    Raises:
        MediaError: missing, not a video, no frames, or frames in a pixel format that cannot become RGB.
    """

    def __init__(self, path: str | os.PathLike, threads: int = 0) -> None:
        self.path = Path(path)
        self._container = _open_input(self.path)
        try:
            self.info = _video_info(self._container, self.path)
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = threads
            # Decoders whose transforms have CPU-specific variants (MPEG-4 part 2's IDCT) then use the exact one.
            stream.codec_context.flags |= CodecFlags.bitexact
            self._frames = self._container.decode(stream)
            first = self._next_raw()
            if first is None:
                raise MediaError(f"{self.path} has no video frames.")
        except BaseException:
            self._container.close()
            raise
        self._first: av.VideoFrame | None = first
        self.rotation = int(first.rotation or 0)
        self.color = ColorInfo(
            colorspace=int(first.colorspace), color_range=int(first.color_range),
            color_primaries=int(first.color_primaries), color_trc=int(first.color_trc),
        )
        # High-bit-depth sources decode to 16-bit RGB so that nothing is lost before the model sees them.
        self._rgb_format = "rgb48le" if first.format.components[0].bits > 8 else "rgb24"
        self.frames_decoded = 0

    def _next_raw(self) -> av.VideoFrame | None:
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except av.FFmpegError as exc:
            raise MediaError(
                f"Cannot decode {self.path} after {getattr(self, 'frames_decoded', 0)} frames: "
                "the file is corrupt or truncated."
            ) from exc

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        try:
            return frame.to_ndarray(
                format=self._rgb_format,
                src_colorspace=self.color.sws_colorspace,
                src_color_range=self.color.sws_range,
                interpolation=TO_RGB_FLAGS[self._rgb_format],
            )
        except (ValueError, av.FFmpegError) as exc:
            raise MediaError(
                f"{self.path} uses pixel format '{frame.format.name}', which cannot be converted to RGB."
            ) from exc

    def __iter__(self) -> Iterator[TimedFrame]:
        while True:
            frame = self._first if self._first is not None else self._next_raw()
            self._first = None
            if frame is None:
                return
            self.frames_decoded += 1
            yield TimedFrame(self._to_rgb(frame), frame.pts, frame.time_base)

    def close(self) -> None:
        """Release the file."""
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_video_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Yield the frames of the first video stream as uint8 RGB arrays ``(H, W, 3)``, decoded lazily.

    Raises:
        MediaError: missing file, not a video, or a decoding error.
    """
    with VideoReader(path) as reader:
        for frame in reader:
            image = frame.image
            yield image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)


def video_encoder(name: str) -> av.Codec:
    """FFmpeg's encoder called ``name``, checked to be one for video.

    Raises:
        MediaError: FFmpeg has no encoder of that name, or it encodes audio, subtitles or data.
    """
    advice = "use libx264 or another video encoder that `ffmpeg -encoders` lists"
    require_pyav()
    try:
        codec = av.Codec(name, "w")
    except (av.FFmpegError, ValueError) as exc:  # PyAV's UnknownCodecError is a ValueError
        raise MediaError(f"FFmpeg has no video encoder named '{name}'; {advice}.") from exc
    if codec.type != "video":
        raise MediaError(f"'{name}' is not a video encoder (FFmpeg's '{codec.name}' encodes {codec.type}); {advice}.")
    return codec


def _check_preset(codec: str, preset: str | None) -> str | None:
    """The preset to give ``codec``: ``preset`` checked, or the default where the codec takes x264's presets.

    Raises:
        MediaError: an unknown preset name, or a preset for an encoder that has none of x264's.
    """
    if preset is None:
        return DEFAULT_PRESET if codec in _PRESET_CODECS else None
    if preset not in X264_PRESETS:
        raise MediaError(f"Unknown encoder preset '{preset}'; use one of {', '.join(X264_PRESETS)}.")
    if codec not in _PRESET_CODECS:
        raise MediaError(f"The encoder {codec} takes no preset; presets are for {' and '.join(_PRESET_CODECS)}.")
    return preset


def choose_pixel_format(codec: str, width: int, height: int) -> str:
    """yuv420p (what every player decodes) for even sizes; yuv444p for odd ones, which 4:2:0 cannot hold.

    Raises:
        MediaError: the codec is unknown, not a video encoder, or takes none of these pixel formats.
    """
    formats = [f.name for f in (video_encoder(codec).video_formats or [])]
    odd = width % 2 or height % 2
    if not odd and (not formats or "yuv420p" in formats):
        return "yuv420p"
    candidates = ("yuv444p", "gbrp", "rgb24", "bgr0")
    for candidate in candidates:
        if candidate in formats:
            return candidate
    wanted = ", ".join(candidates if odd else ("yuv420p", *candidates))
    raise MediaError(
        f"Encoder '{codec}' cannot encode {width}x{height} frames: it takes none of the pixel formats {wanted}"
        f"{' (an odd size rules out yuv420p)' if odd else ''}; use libx264."
    )


def default_video_codec(path: str | os.PathLike) -> str:
    """H.264 except where the container requires otherwise (WebM and Ogg take VP9)."""
    return _DEFAULT_VIDEO_CODEC.get(Path(path).suffix.lower(), "libx264")


class VideoWriter:
    """Encode RGB frames to a video file, with timestamps, rotation, colour tags and the source's audio.

    The container is opened when the first frame arrives (its size fixes the stream's size).

    Args:
        path: the output file; its suffix picks the container.
        frame_rate: nominal frame rate (used for frames without a timestamp, and as the stream's rate).
        codec: video encoder name (default: :func:`default_video_codec`).
        crf: constant-rate-factor quality for encoders that take one (x264/x265/VP9/AV1); lower is better.
        rotation: display rotation in degrees, as read from the source (0 for none).
        color: colour tags to write and to convert RGB with.
        audio_source: a file whose audio streams are copied (or transcoded) into the output.
        pixel_format: force a pixel format instead of :func:`choose_pixel_format`.
        threads: encoder threads; 0 lets the encoder choose (x264 takes about 1.5 per core).
        preset: the x264/x265 preset (one of :data:`X264_PRESETS`); None: :data:`DEFAULT_PRESET` for those
            encoders, nothing for others.
        options: more encoder options (FFmpeg's names, e.g. ``{"tune": "film"}``), given after vdeblur's own so
            that they win.
        destination: the file messages name, when ``path`` is a temporary file that will be renamed to it
            (see :func:`~vdeblur.io.atomic.atomic_output`); default ``path``.

    Raises:
        MediaError: the codec is not a video encoder FFmpeg has, or a preset is given for an encoder without
            x264's presets (at once); or the container or codec cannot be written (when the first frame arrives).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        frame_rate: Fraction,
        *,
        codec: str | None = None,
        crf: int = DEFAULT_CRF,
        rotation: int = 0,
        color: ColorInfo | None = None,
        audio_source: str | os.PathLike | None = None,
        pixel_format: str | None = None,
        threads: int = 0,
        preset: str | None = None,
        options: Mapping[str, str] | None = None,
        destination: str | os.PathLike | None = None,
    ) -> None:
        self.path = Path(path)
        self.destination = Path(destination) if destination is not None else self.path
        self.frame_rate = Fraction(frame_rate)
        self.threads = threads
        self.codec = codec or default_video_codec(self.path)
        video_encoder(self.codec)  # a misspelt --codec fails before any frame is decoded
        self.crf = crf
        self.preset = _check_preset(self.codec, preset)
        self.rotation = rotation
        self.color = color or ColorInfo()
        self.audio_source = Path(audio_source) if audio_source is not None else None
        self.pixel_format = pixel_format
        self.options = dict(options or {})
        self._container: av.container.OutputContainer | None = None
        self._stream: Any = None
        self._audio: _AudioPassThrough | None = None
        self._time_base: Fraction | None = None
        self._last_pts: int | None = None
        self.frames_written = 0

    def _open(self, width: int, height: int, time_base: Fraction) -> None:
        pix_fmt = self.pixel_format or choose_pixel_format(self.codec, width, height)
        try:
            self._container = av.open(str(self.path), "w", format=_muxer_for(self.path))
            options = {"crf": str(self.crf)} if self.codec in ("libx264", "libx265", "libvpx-vp9", "libsvtav1") else {}
            if self.preset is not None:
                options["preset"] = self.preset
            if self.codec == "libvpx-vp9":
                options["b"] = "0"  # constant quality: VP9 honours crf only without a target bit rate
            options.update(self.options)
            stream = self._container.add_stream(self.codec, rate=self.frame_rate, options=options)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
            context = stream.codec_context
            context.thread_count = self.threads
            context.colorspace, context.color_range = self.color.colorspace, self.color.color_range
            context.color_primaries, context.color_trc = self.color.color_primaries, self.color.color_trc
            if self.rotation:
                stream.set_display_rotation(self.rotation)
            self._stream = stream
            if self.audio_source is not None:
                self._audio = _AudioPassThrough(self.audio_source, self._container, self.path)
        except (av.FFmpegError, ValueError) as exc:
            self.abort()
            raise self._failure("write", exc) from exc
        self._time_base = time_base

    def _failure(self, doing: str, exc: Exception) -> MediaError:
        # FFmpeg's text may quote the file it was writing, which is the temporary one; users know the destination.
        detail = first_line(exc).replace(str(self.path), str(self.destination))
        return MediaError(f"Cannot {doing} video {self.destination} with encoder '{self.codec}' ({detail}).")

    def write(self, image: np.ndarray, pts: int | None = None, time_base: Fraction | None = None) -> None:
        """Encode one RGB frame (uint8 or uint16 ``(H, W, 3)``).

        Args:
            image: the frame.
            pts: its presentation time in ``time_base`` units; None numbers frames at ``frame_rate``.
            time_base: the unit of ``pts``; must stay the same for every frame.
        """
        if self._container is None:
            base = time_base if (pts is not None and time_base is not None) else 1 / self.frame_rate
            self._open(image.shape[1], image.shape[0], Fraction(base))
        if pts is None or time_base is None:
            pts = self.frames_written if time_base is None else self._next_pts()
        # Encoders need strictly increasing timestamps; broken sources sometimes repeat one.
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        rgb_format = "rgb24" if image.dtype == np.uint8 else "rgb48le"
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=rgb_format)
        frame = rgb.reformat(
            format=self._stream.pix_fmt, dst_colorspace=self.color.sws_colorspace, dst_color_range=self.color.sws_range,
            interpolation=FROM_RGB_FLAGS,
        )
        frame.pts, frame.time_base = pts, self._time_base
        try:
            if self._audio is not None:
                self._audio.mux_until(float(pts * self._time_base) + _AUDIO_LEAD_SECONDS)
            self._container.mux(self._stream.encode(frame))
        except av.FFmpegError as exc:
            raise self._failure("write", exc) from exc
        self.frames_written += 1

    def _next_pts(self) -> int:
        step = max(1, round(1 / (self.frame_rate * self._time_base)))
        return 0 if self._last_pts is None else self._last_pts + step

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio and finish the file."""
        if self._container is None:
            return
        try:
            self._container.mux(self._stream.encode())
            if self._audio is not None:
                self._audio.finish()
            self._container.close()
        except av.FFmpegError as exc:
            self.abort()
            raise self._failure("finish", exc) from exc
        self._container = None

    def abort(self) -> None:
        """Close the file without finishing it (the caller deletes it); does nothing after :meth:`close`."""
        if self._audio is not None:
            self._audio.close()
        if self._container is not None:
            try:
                self._container.close()
            except av.FFmpegError:
                pass
        self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _muxer_for(path: Path) -> str | None:
    # Temporary files keep the destination's suffix, so FFmpeg's guess from the name is right; only
    # suffixes FFmpeg does not map to a muxer by name need help.
    return {".m4v": "mp4", ".mts": "mpegts", ".m2ts": "mpegts", ".ogv": "ogg"}.get(path.suffix.lower())


class _AudioPassThrough:
    """Copy (or, if the container refuses the codec, transcode) every audio stream of a source file."""

    def __init__(self, source: Path, output: av.container.OutputContainer, output_path: Path) -> None:
        self._input = av.open(str(source))
        self._output = output
        self._routes: dict[int, tuple[Any, Any]] = {}  # input stream index -> (output stream, encoder or None)
        supported = output.supported_codecs
        for in_stream in self._input.streams.audio:
            if in_stream.codec_context.name in supported:
                self._routes[in_stream.index] = (output.add_stream_from_template(in_stream), None)
            else:
                codec = _AUDIO_FALLBACK.get(output_path.suffix.lower(), "aac")
                warnings.warn(
                    f"audio codec '{in_stream.codec_context.name}' cannot be stored in {output_path.suffix} files; "
                    f"re-encoding it as {codec}",
                    stacklevel=3,
                )
                out_stream = output.add_stream(codec, rate=in_stream.codec_context.sample_rate or 48000)
                self._routes[in_stream.index] = (out_stream, True)
        self._packets = self._input.demux(*self._input.streams.audio) if self._routes else iter(())
        self._pending: av.Packet | None = None

    def mux_until(self, seconds: float) -> None:
        """Mux source audio packets up to ``seconds`` of presentation time."""
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            if packet.dts is None and packet.size == 0:
                continue  # demuxer flush packets carry nothing
            if packet.pts is not None and packet.time_base is not None and packet.pts * packet.time_base > seconds:
                self._pending = packet
                return
            self._route(packet)

    def _route(self, packet: av.Packet) -> None:
        out_stream, transcode = self._routes[packet.stream.index]
        if transcode:
            for frame in packet.decode():
                frame.pts = None  # let the encoder's resampler and frame-size buffer number the samples
                self._output.mux(out_stream.encode(frame))
        else:
            packet.stream = out_stream
            self._output.mux(packet)

    def finish(self) -> None:
        """Mux everything left and flush any audio encoder."""
        self.mux_until(float("inf"))
        for out_stream, transcode in self._routes.values():
            if transcode:
                self._output.mux(out_stream.encode())
        self.close()

    def close(self) -> None:
        self._input.close()
