"""The Python API for deblurring: ``vdeblur.Deblurrer``.

Example:
    >>> from vdeblur import Deblurrer
    >>> deblurrer = Deblurrer(model="runs/my-run", device="auto")   # doctest: +SKIP
    >>> deblurrer.deblur_video("shaky.mp4", "sharp.mp4")            # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from vdeblur.checkpoint import load_model
from vdeblur.device import select_device
from vdeblur.errors import UserError
from vdeblur.infer.backends import prepare_model
from vdeblur.infer.engine import WindowEngine
from vdeblur.infer.outputs import atomic_folder, check_outputs
from vdeblur.infer.model_choice import AUTO_MODEL, ModelChoice, resolve_model
from vdeblur.infer.sinks import FolderSink, ImageSink, VideoSink, is_image_output, is_video_output
from vdeblur.infer.sources import CODEC_THREADS, Source, SourceFrame, open_source
from vdeblur.infer.threads import BackgroundConsumer, prefetch
from vdeblur.infer.tiling import TileConfig
from vdeblur.io.atomic import atomic_output
from vdeblur.io.images import quantize
from vdeblur.io.video import DEFAULT_CRF
from vdeblur.precision import autocast_dtype, resolve_precision

FrameT = TypeVar("FrameT", np.ndarray, torch.Tensor)
# Called after each frame with (frames done, frames announced by the source or None); raising stops the run.
ProgressCallback = Callable[[int, int | None], None]
_QUEUE = 4  # frames waiting between reader, model and writer


class Deblurrer:
    """Deblur clips, frame streams, video files and frame folders with one model.

    Args:
        model: a model name with shipped weights, a run directory, a ``.safetensors`` file, or a model object;
            ``auto``: the quality model where this hardware runs it fast enough, else a small shipped one
            (:mod:`vdeblur.infer.model_choice`; the choice and its reason are in :attr:`model_choice`).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        tile: tile side in pixels; None chooses from free memory; 0 never tiles.
        precision: ``fp32``, ``bf16`` (autocast), or ``auto``: bf16 where this hardware runs it faster
            (:mod:`vdeblur.precision`); the resolved value is in :attr:`precision`.
        bf16: deprecated spelling of ``precision`` (True: ``bf16``, False: ``fp32``); wins where given.
        tile_config: tile overlap settings.
        cache_features: reuse each frame's encoder features across windows (None: when the model supports it
            and it fits in memory).
        backend: ``torch``; ``compile`` to run it through torch.compile (tens of seconds of compilation per
            frame size, then faster where Inductor's fusions pay, as on CPUs with bf16 matrix units; falls back
            to ``torch`` with a warning if compilation fails); or ``onnxruntime`` to run an ONNX export of the
            model with ONNX Runtime (CPU and float32 only: ``device`` "auto" means the CPU there, and bf16 is off).
        codec_threads: threads of the video decoder and of the encoder each (0: FFmpeg's choice, about one
            per core); 1 leaves the cores to the model where other jobs share the machine.
        fuse: with the ``torch`` backend on the CPU, run the model's dense and local-fusion blocks as oneDNN
            convolutions with their activations, additions and concatenations fused in
            (:mod:`vdeblur.infer.fusion`: the same function, up to bf16 rounding, and faster); None: wherever
            oneDNN can, False: never. The weights are taken as they are when the ``Deblurrer`` is made.
        scene_cuts: find the scene cuts of each video, folder or stream and restore every frame from neighbours of
            its own shot only (:mod:`vdeblur.infer.shots`), as at the ends of a video; False takes each input for
            one shot (the evaluation protocol of data sets, whose sequences are single shots).

    Raises:
        UserError: unknown model, device or backend, or a backend that cannot honour ``device``/``bf16``;
            CheckpointError for unreadable or mismatched weights.
    """

    def __init__(
        self,
        model: str | os.PathLike | nn.Module = AUTO_MODEL,
        device: str | torch.device = "auto",
        *,
        tile: int | None = None,
        precision: str = "auto",
        bf16: bool | None = None,
        tile_config: TileConfig = TileConfig(),
        cache_features: bool | None = None,
        backend: str = "torch",
        codec_threads: int = CODEC_THREADS,
        fuse: bool | None = None,
        scene_cuts: bool = True,
    ) -> None:
        self.codec_threads = codec_threads
        if backend == "onnxruntime":
            device = "cpu" if device == "auto" else device
        self.device = device if isinstance(device, torch.device) else select_device(device)
        if bf16 is not None:
            precision = "bf16" if bf16 else "fp32"
        if backend == "onnxruntime":
            precision = _onnxruntime_precision(self.device, precision)
        self.precision: str = resolve_precision(precision, self.device)
        self.model_choice: ModelChoice | None = None
        if isinstance(model, str) and model == AUTO_MODEL:
            self.model_choice = resolve_model(self.device.type, self.precision)
            model = self.model_choice.name
        self.model = model if isinstance(model, nn.Module) else load_model(model, self.device)
        if backend != "torch":
            self.model = prepare_model(self.model, backend)
        self.engine = WindowEngine(
            self.model, self.device, dtype=autocast_dtype(self.precision), tile=tile,
            tile_config=tile_config, cache_features=cache_features, compile=backend == "compile", fuse=fuse,
            scene_cuts=scene_cuts,
        )

    @property
    def num_frames(self) -> int:
        """T: how many frames the model sees per output frame."""
        return self.engine.num_frames

    def deblur_clip(self, clip: torch.Tensor) -> torch.Tensor:
        """Restore the reference (middle) frame of a clip.

        Args:
            clip: ``(B, T, 3, H, W)`` or ``(T, 3, H, W)`` float RGB in [0, 1].

        Returns:
            ``(B, 3, H, W)`` or ``(3, H, W)`` float32 in [0, 1].
        """
        return self.engine.deblur_clip(clip)

    def deblur_frames(self, frames: Iterable[FrameT]) -> Iterator[FrameT]:
        """Deblur a stream of frames lazily: one output per input, in order, with edge frames replicated (at the
        ends, and at scene cuts unless ``scene_cuts`` is off).

        Args:
            frames: numpy RGB ``(H, W, 3)`` arrays (uint8, uint16 or float in [0, 1]) or tensors ``(3, H, W)``
                float in [0, 1]; all of one size.

        Returns:
            An iterator of restored frames of the same kind (numpy of the input's dtype, or float tensors).
        """
        kinds: deque[np.dtype | None] = deque()

        def tensors() -> Iterator[torch.Tensor]:
            for frame in frames:
                if isinstance(frame, torch.Tensor):
                    kinds.append(None)
                    yield frame.float()
                else:
                    kinds.append(frame.dtype)
                    yield _array_to_tensor(frame)

        for out in self.engine.run(tensors()):
            kind = kinds.popleft()
            yield out if kind is None else _tensor_to_array(out, kind)

    def deblur_video(
        self,
        source: str | os.PathLike,
        destination: str | os.PathLike,
        *,
        codec: str | None = None,
        crf: int = DEFAULT_CRF,
        preset: str | None = None,
        overwrite: bool = False,
        compare: str | os.PathLike | None = None,
        progress: bool = True,
        on_frame: ProgressCallback | None = None,
        pixel_format: str | None = None,
    ) -> int:
        """Deblur a video file, a folder of frames or a photograph into a video file, a folder of PNG frames or
        (for a photograph) an image file.

        The output kind follows ``destination``: a video suffix (``.mp4``, ``.mkv``, ...) writes a video that
        keeps the frame count, timestamps, rotation, colour tags and audio of the source; an image suffix
        (``.png``, ``.jpg``, ``.tif``, ...) writes a photograph's result, upright; anything else writes a folder
        of PNGs named like the source frames. Outputs appear only when complete.

        Args:
            source: a video file, a folder of images, or one image file (a photograph, restored as a still).
            destination: the output video file, image file or folder.
            codec: video encoder (default H.264; VP9 for WebM).
            crf: encoder quality (lower is better; the default keeps the model's gain, see BENCHMARKS.md).
            preset: the x264/x265 speed preset (None: :data:`vdeblur.io.video.DEFAULT_PRESET` for those).
            overwrite: replace an existing output.
            compare: also write a side-by-side (input | output) video or folder here.
            progress: show a progress bar.
            on_frame: called after each frame with the frames done so far and the frame count the source
                announces (None when it announces none). An exception it raises stops the run the way Ctrl-C
                does: it propagates, and no partial output is left.
            pixel_format: the video encoder's pixel format (e.g. ``yuv420p``, which every browser plays) instead
                of the default for the codec and frame size.

        Returns:
            The number of frames written.

        Raises:
            UserError / MediaError: bad input, unsafe or unwritable output (nothing is written then).
        """
        source, destination = Path(source), Path(destination)
        targets = check_outputs(source, destination, None if compare is None else Path(compare), overwrite)
        src = open_source(source, self.codec_threads)
        try:
            with contextlib.ExitStack() as stack:
                sinks = [
                    _open_sink(stack, target, src, codec, crf, preset, side_by_side=i == 1,
                               threads=self.codec_threads, pixel_format=pixel_format)
                    for i, target in enumerate(targets)
                ]
                return self._stream(src, sinks, progress, desc=source.name, on_frame=on_frame)
        finally:
            src.close()

    def _stream(
        self, source: Source, sinks: list[_Sink], progress: bool, desc: str, on_frame: ProgressCallback | None
    ) -> int:
        pending: deque[SourceFrame] = deque()  # frames whose output has not arrived yet (about T/2 of them)
        reader = prefetch(_with_tensors(source), maxsize=_QUEUE)

        def tensors() -> Iterator[torch.Tensor]:
            for frame, tensor in reader:
                pending.append(frame)
                yield tensor

        def write(item: tuple[SourceFrame, torch.Tensor]) -> None:
            frame, restored = item
            image = restored.permute(1, 2, 0).numpy()
            for sink in sinks:
                sink.write(image, frame)

        count = 0
        bar = tqdm(total=source.num_frames, desc=desc, unit="frame", disable=not progress, dynamic_ncols=True)
        # closing(reader) stops and joins the decoding thread before the caller closes the source.
        with contextlib.closing(reader), bar, BackgroundConsumer(write, maxsize=_QUEUE) as writer:
            for restored in self.engine.run(tensors()):
                writer.submit((pending.popleft(), restored))
                count += 1
                bar.update()
                if on_frame is not None:
                    on_frame(count, source.num_frames)
        for sink in sinks:
            sink.close()
        return count


class _Sink:
    """A sink with a side-by-side option: writes ``input | output`` instead of the output alone."""

    def __init__(self, inner: VideoSink | FolderSink | ImageSink, side_by_side: bool) -> None:
        self.inner = inner
        self.side_by_side = side_by_side

    def write(self, image: np.ndarray, frame: SourceFrame) -> None:
        self.inner.write(np.concatenate([frame.image, image], axis=1) if self.side_by_side else image, frame)

    def close(self) -> None:
        self.inner.close()


def _open_sink(
    stack: contextlib.ExitStack, target: Path, source: Source, codec: str | None, crf: int, preset: str | None,
    side_by_side: bool, threads: int, pixel_format: str | None = None,
) -> _Sink:
    """Open a sink writing into a temporary file or folder that replaces ``target`` when the stack closes."""
    if is_video_output(target):
        tmp = stack.enter_context(atomic_output(target))
        inner: VideoSink | FolderSink | ImageSink = VideoSink(
            tmp, source, codec, crf, audio=not side_by_side, threads=threads, destination=target,
            pixel_format=pixel_format, preset=preset,
        )
        stack.callback(_abort_on_error, inner)
    elif is_image_output(target):
        inner = ImageSink(stack.enter_context(atomic_output(target)), source)
    else:
        inner = FolderSink(stack.enter_context(atomic_folder(target)), source)
    return _Sink(inner, side_by_side)


def _onnxruntime_precision(device: torch.device, precision: str) -> str:
    """The precision ONNX Runtime runs in (float32), or the reason it cannot run as asked."""
    if device.type != "cpu":
        raise UserError(f"The onnxruntime backend runs on the CPU only, not on {device}; use --device cpu.")
    if precision == "bf16":
        raise UserError("The onnxruntime backend runs in float32 only; use --precision fp32 or --backend torch.")
    return "fp32"


def _abort_on_error(sink: VideoSink) -> None:
    # Runs on every exit; after a successful close the writer is already finished and this does nothing.
    sink.abort()


def _with_tensors(source: Source) -> Iterator[tuple[SourceFrame, torch.Tensor]]:
    for frame in source:
        yield frame, torch.from_numpy(frame.image).permute(2, 0, 1)


def _array_to_tensor(frame: np.ndarray) -> torch.Tensor:
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an RGB array (H, W, 3), got shape {frame.shape}")
    if np.issubdtype(frame.dtype, np.integer):
        scaled = frame.astype(np.float32) / float(np.iinfo(frame.dtype).max)
    else:
        scaled = frame.astype(np.float32, copy=False)
    return torch.from_numpy(np.ascontiguousarray(scaled)).permute(2, 0, 1)


def _tensor_to_array(frame: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    image = frame.permute(1, 2, 0).numpy()
    if dtype in (np.uint8, np.uint16):
        return quantize(image, 8 if dtype == np.uint8 else 16)
    return image.astype(dtype, copy=False)
