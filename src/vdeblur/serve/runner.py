"""What a job does: check the upload, prepare it for the browser (a video re-encoded, a photograph upright as PNG),
and deblur it with a `Deblurrer`."""

from __future__ import annotations

import time

from vdeblur.errors import MediaError
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.infer.sinks import ImageSink, VideoSink
from vdeblur.infer.sources import PhotoSource, VideoSource
from vdeblur.io.atomic import atomic_output
from vdeblur.serve.jobs import PHOTO, Job

# Both videos the page shows are H.264 in MP4, which Chromium, Firefox and Safari play, whatever the command line's
# default encoding is. 4:2:0 is what every player decodes but needs even sizes; odd ones get 4:4:4, which
# Chromium plays (the browser test covers even sizes; 4:4:4 was checked by hand in Debian's Chromium 156).
BROWSER_CODEC = "libx264"
BEFORE_CRF = 18


def browser_pixel_format(width: int, height: int) -> str:
    return "yuv444p" if width % 2 or height % 2 else "yuv420p"


class DeblurRunner:
    """Runs jobs (see `vdeblur.serve.jobs.Runner`), keeping the last model used loaded.

    Args:
        device: the device for every model.
        max_frames: the longest video accepted, in frames.
        codec_threads: decoder and encoder threads (0: FFmpeg's choice).
    """

    def __init__(self, device: str, max_frames: int, codec_threads: int) -> None:
        self.device = device
        self.max_frames = max_frames
        self.codec_threads = codec_threads
        self._loaded: tuple[str, Deblurrer] | None = None

    def __call__(self, job: Job) -> None:
        if job.kind is PHOTO:
            self._write_photo_before(job)
            encoding = {}  # the result is an image file, written as its suffix says
        else:
            width, height = self._write_video_before(job)
            encoding = {"codec": BROWSER_CODEC, "pixel_format": browser_pixel_format(width, height)}
        job.stage = "loading the model"
        deblurrer = self._deblurrer(job.model)
        job.check_cancelled()
        job.stage = "deblurring"
        job.started = time.monotonic()
        deblurrer.deblur_video(job.input, job.folder / job.kind.result, progress=False, on_frame=job.report,
                               **encoding)

    def _write_photo_before(self, job: Job) -> None:
        """Write the upload upright as PNG, at its own bit depth, as `vdeblur deblur` reads it."""
        source = PhotoSource(job.input)
        sink = ImageSink(job.folder / job.kind.before, source)  # its write is atomic itself
        for frame in source:
            sink.write(frame.image, frame)
        job.total_frames = 1

    def _write_video_before(self, job: Job) -> tuple[int, int]:
        """Re-encode the upload for the browser, counting its frames against the limit; returns its size."""
        before = job.folder / job.kind.before
        source = VideoSource(job.input, self.codec_threads)
        try:
            self._check_length(job, source.num_frames)
            pixel_format = browser_pixel_format(source.width, source.height)
            count = 0
            with atomic_output(before) as tmp:
                sink = VideoSink(tmp, source, BROWSER_CODEC, BEFORE_CRF, audio=False, threads=self.codec_threads,
                                 destination=before, pixel_format=pixel_format)
                try:
                    for count, frame in enumerate(source, start=1):
                        self._check_length(job, count)
                        job.check_cancelled()
                        sink.write(frame.image, frame)
                    sink.close()
                finally:
                    sink.abort()
            job.total_frames = count
            # The command line warns and goes on; so does the page, showing the same sentence.
            warning = source.truncation_warning()
            job.warning = warning.replace(str(job.input), job.name) if warning else None
            return source.width, source.height
        finally:
            source.close()

    def _check_length(self, job: Job, frames: int | None) -> None:
        if frames is not None and frames > self.max_frames:
            raise MediaError(f"{job.name} is longer than {self.max_frames} frames, the longest video this server "
                             f"takes; cut it shorter or start the server with a larger --max-frames.")

    def _deblurrer(self, model: str) -> Deblurrer:
        if self._loaded is None or self._loaded[0] != model:
            self._loaded = None  # free the previous model before loading the next
            self._loaded = (model, Deblurrer(model, self.device, codec_threads=self.codec_threads))
        return self._loaded[1]
