"""Fixtures for the page's tests: the bundled sample, a short cut of it, a photograph, and the app on a work folder."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the page's tests need the 'serve' extra (pip install 'vdeblur[serve]')")
pytest.importorskip("uvicorn", reason="the page's tests need the 'serve' extra (pip install 'vdeblur[serve]')")

from starlette.testclient import TestClient  # noqa: E402

from vdeblur.infer.sources import CODEC_THREADS  # noqa: E402
from vdeblur.io.video import iter_video_frames  # noqa: E402
from vdeblur.serve.app import ServeSettings, create_app  # noqa: E402
from vdeblur.serve.runner import DeblurRunner  # noqa: E402

SAMPLE = Path(__file__).parents[2] / "src" / "vdeblur" / "samples" / "bikes_blur.mp4"
MODEL = "single-frame"  # the fastest shipped model (42 GFLOPs a 1280x720 frame; `vdeblur models`)


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample's first 6 frames, cropped to 160x96: a real clip that the model deblurs in a second."""
    path = tmp_path_factory.mktemp("clips") / "short.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for index, image in enumerate(iter_video_frames(SAMPLE)):
            if index == 6:
                break
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image[100:196, 200:360].copy(), format="rgb24")))
        out.mux(stream.encode())
    return path


def sideways_photo(path: Path) -> Path:
    """A 120x88 crop of the sample's first frame as a JPEG stored sideways (EXIF Orientation 6), as phones do."""
    image = Image.fromarray(next(iter_video_frames(SAMPLE))[60:180, 200:288])
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(path, exif=exif, quality=95)
    return path


def make_client(work: Path, allowed_hosts: tuple[str, ...] = ("*",), base_url: str = "http://testserver",
                **limits: float) -> TestClient:
    settings = ServeSettings(
        work=work, models=(MODEL, "sta-cpu"), max_upload_bytes=int(limits.get("max_upload_bytes", 10_000_000)),
        max_frames=int(limits.get("max_frames", 100)), keep_seconds=limits.get("keep_seconds", 3600.0),
        allowed_hosts=allowed_hosts,
    )
    # The command line's decoder threads: a cut file can decode differently with another count.
    runner = DeblurRunner("cpu", settings.max_frames, codec_threads=CODEC_THREADS)
    return TestClient(create_app(settings, runner), base_url=base_url)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def client(work: Path) -> Iterator[TestClient]:
    with make_client(work) as test_client:
        yield test_client


def upload(client: TestClient, path: Path, name: str | None = None, model: str = MODEL):
    return client.post("/api/jobs", params={"model": model, "name": name or path.name}, content=path.read_bytes())


def wait_for(client: TestClient, job_id: str, done: Callable[[dict], bool], timeout: float = 300.0,
              seen: list[dict] | None = None) -> dict:
    """Poll the job's status until ``done(status)``; every status seen is appended to ``seen``."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/jobs/{job_id}").json()
        if seen is not None:
            seen.append(status)
        if done(status):
            return status
        assert time.monotonic() < deadline, f"the job never got there: {status}"
        time.sleep(0.1)


def finished(status: dict) -> bool:
    return status["state"] in ("done", "failed", "cancelled")


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


@contextlib.contextmanager
def served(tmp_path: Path, *args: str, sigint: object = signal.SIG_DFL) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run `vdeblur serve --port 0 ARGS` in a process of its own, with its temporary files under ``tmp_path``;
    yields the process and the page's address (what it prints). Stopped with SIGKILL if the test leaves it running.

    ``sigint`` is the SIGINT disposition the process starts with, whatever the test runner's own is: SIG_IGN is
    what a shell gives a command started with ``&`` in a script.
    """
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "vdeblur", "serve", "--port", "0", "--model", MODEL, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        line = process.stdout.readline() if ready else ""
        match = re.search(r"http://\S+/", line)
        assert match, f"no address printed: {line!r} {process.stderr.read() if process.poll() is not None else ''}"
        yield process, match.group(0)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def http_json(method: str, url: str, data: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
