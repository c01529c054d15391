"""What a camera does after the light is integrated: sensor noise, then lossy compression."""

from __future__ import annotations

import io

import cv2
import numpy as np

from vdeblur.io.video import require_pyav


def add_sensor_noise(linear: np.ndarray, rng: np.random.Generator, shot: float, read: float) -> np.ndarray:
    """Heteroscedastic Gaussian approximation of shot + read noise on a linear image in [0, 1].

    The variance is ``shot · x + read²`` per pixel and channel (photon noise grows with the signal, read noise
    does not). Added after the blur, as in a sensor, and clipped to [0, 1].
    """
    sigma = np.sqrt(shot * np.clip(linear, 0.0, 1.0) + read * read)
    return np.clip(linear + sigma * rng.standard_normal(linear.shape, dtype=np.float32), 0.0, 1.0)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode a uint8 RGB image as JPEG at ``quality`` (1–100)."""
    ok, buffer = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def h264_roundtrip(frames: list[np.ndarray], crf: int) -> list[np.ndarray]:
    """Encode uint8 RGB frames (even width and height) as one H.264 stream at ``crf`` and decode them back.

    Inter-frame coding matters here: it is what a phone video does to blurred frames, and it differs from
    per-frame JPEG (blocking that drifts with motion, smoothing of low-contrast blur).
    """
    av = require_pyav()
    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # mbtree=0: the macroblock-tree rate control of the x264 that PyAV bundles reads an uninitialised stack
        # value (valgrind: 6 uses per 8-frame clip, none without mbtree), so the same frames came back different
        # from call to call, with any thread count. A phone's hardware encoder has no macroblock tree either.
        stream.options = {"crf": str(int(crf)), "preset": "veryfast", "x264-params": "mbtree=0"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer, mode="r") as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if len(decoded) != len(frames):
        raise RuntimeError(f"H.264 round trip returned {len(decoded)} frames for {len(frames)}")
    return decoded
