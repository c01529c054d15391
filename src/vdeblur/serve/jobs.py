"""The page's jobs: one runs at a time in a worker thread, the others wait in order; each lives in its own folder.

A job's folder is ``<work>/<random id>/`` and holds only files with fixed names (:data:`INPUT_STEM`, and the
``before`` and ``result`` files of its :class:`MediaKind`), so no name a client sends ever becomes a path. A job
that fails or is cancelled removes its folder at once; a finished one keeps it until it expires.
"""

from __future__ import annotations

import enum
import logging
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vdeblur.errors import UserError, describe_os_error

_log = logging.getLogger(__name__)
INPUT_STEM = "input"


@dataclass(frozen=True)
class MediaKind:
    """What a job shows the browser: its kind's name, and the suffix and MIME type of the files it serves."""

    name: str
    suffix: str
    media_type: str

    @property
    def before(self) -> str:
        """The input as the browser shows it: a video re-encoded frame for frame (so that the two players stay
        in step), or a photograph upright as PNG."""
        return f"before{self.suffix}"

    @property
    def result(self) -> str:
        return f"result{self.suffix}"


VIDEO = MediaKind("video", ".mp4", "video/mp4")
PHOTO = MediaKind("photo", ".png", "image/png")  # PNG: lossless, and it keeps a 16-bit photograph's depth


class State(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (State.DONE, State.FAILED, State.CANCELLED)


class Cancelled(Exception):
    """Raised inside a running job when it is cancelled; the library then removes its partial outputs."""


@dataclass
class Job:
    """One upload and its result. ``name`` is the client's file name, for messages and the download only."""

    id: str
    folder: Path
    input: Path
    name: str
    model: str
    created: float
    kind: MediaKind = VIDEO
    state: State = State.QUEUED
    stage: str = "waiting"
    frames_done: int = 0
    total_frames: int | None = None
    started: float | None = None  # when the model started on the first frame
    finished: float | None = None
    error: str | None = None
    warning: str | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        if self.cancel_requested.is_set():
            raise Cancelled

    def report(self, done: int, total: int | None) -> None:
        """The progress callback of a running job; stops it when cancelled.

        The frames counted while the upload was re-encoded beat ``total``, the count its header announces.
        """
        self.frames_done, self.total_frames = done, self.total_frames or total
        self.check_cancelled()


# Runs a job to completion: writes its kind's before and result files into the job's folder, calls job.report
# after each frame.
Runner = Callable[[Job], None]


class JobQueue:
    """Jobs by id, the order in which queued ones wait, and the worker thread that runs them one at a time.

    Args:
        work: the folder that holds every job's folder.
        runner: does a job's work (see :data:`Runner`); a `UserError` it raises becomes the job's message.
        keep_seconds: how long a finished job (and its files) stays before it expires.
    """

    def __init__(self, work: Path, runner: Runner, keep_seconds: float) -> None:
        self.work = work
        self._runner = runner
        self._keep_seconds = keep_seconds
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[Job] = deque()
        self._lock = threading.Condition()
        self._closing = False
        self._worker = threading.Thread(target=self._work, name="vdeblur-serve-jobs", daemon=True)

    def start(self) -> None:
        self._worker.start()

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (new, empty) folder."""
        job_id = uuid.uuid4().hex
        folder = self.work / job_id
        folder.mkdir()
        return job_id, folder

    def submit(self, job_id: str, folder: Path, input_path: Path, name: str, model: str,
               kind: MediaKind = VIDEO) -> Job:
        job = Job(job_id, folder, input_path, name, model, created=time.monotonic(), kind=kind)
        with self._lock:
            if self._closing:
                shutil.rmtree(folder, ignore_errors=True)
                raise UserError("The server is shutting down; try again once it is back.")
            self._jobs[job_id] = job
            self._waiting.append(job)
            self._lock.notify_all()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def status(self, job: Job) -> dict[str, Any]:
        """What the page shows: state, queue position, progress, speed, time left, and the error if any."""
        with self._lock:
            position = next((i for i, waiting in enumerate(self._waiting) if waiting is job), None)
            now = job.finished or time.monotonic()
            elapsed = now - job.started if job.started is not None else 0.0
            fps = job.frames_done / elapsed if job.frames_done and elapsed > 0 else None
            left = (job.total_frames - job.frames_done) / fps if fps and job.total_frames else None
            return {
                "id": job.id, "name": job.name, "kind": job.kind.name, "model": job.model,
                "state": job.state.value, "stage": job.stage,
                "jobs_ahead": position, "frames_done": job.frames_done, "total_frames": job.total_frames,
                "frames_per_second": fps, "seconds_left": left, "error": job.error,
                "warning": job.warning,
            }

    def cancel(self, job: Job) -> None:
        """Stop a running job at its next frame, or drop a waiting one; a finished job is left as it is."""
        with self._lock:
            job.cancel_requested.set()
            if job.state is State.QUEUED:
                self._waiting.remove(job)
                self._finish(job, State.CANCELLED, None)

    def close(self) -> None:
        """Cancel every job, wait for the running one to stop, and remove every job's folder."""
        with self._lock:
            self._closing = True
            for job in list(self._waiting):
                self.cancel(job)
            for job in self._jobs.values():
                job.cancel_requested.set()
            self._lock.notify_all()
        if self._worker.is_alive():
            self._worker.join()
        with self._lock:
            for job in self._jobs.values():
                shutil.rmtree(job.folder, ignore_errors=True)

    def expire(self) -> None:
        """Forget finished jobs older than ``keep_seconds``, with their files."""
        with self._lock:
            now = time.monotonic()
            for job in [j for j in self._jobs.values() if j.finished and now - j.finished > self._keep_seconds]:
                shutil.rmtree(job.folder, ignore_errors=True)
                del self._jobs[job.id]

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closing:
                    # Wake now and then while idle, so that old results expire without a new request.
                    if not self._lock.wait(timeout=min(30.0, self._keep_seconds)):
                        self.expire()  # the condition's lock is re-entrant
                if self._closing:
                    return
                job = self._waiting.popleft()
                job.state, job.stage = State.RUNNING, "preparing"
            self._run(job)
            self.expire()

    def _run(self, job: Job) -> None:
        try:
            self._runner(job)
        except Cancelled:
            self._end(job, State.CANCELLED, None)
        except UserError as exc:
            self._end(job, State.FAILED, str(exc).replace(str(job.input), job.name))
        except OSError as exc:  # a full disk, say: one sentence for the page, as the command line gives
            self._end(job, State.FAILED, describe_os_error(exc).replace(str(job.input), job.name))
        except Exception:  # a bug: the page says so, the log keeps the traceback, and later jobs still run
            _log.exception("job %s failed", job.id)
            self._end(job, State.FAILED, "The server failed on this video (a bug); its log has the details.")
        else:
            self._end(job, State.DONE, None)

    def _end(self, job: Job, state: State, error: str | None) -> None:
        with self._lock:
            self._finish(job, state, error)

    def _finish(self, job: Job, state: State, error: str | None) -> None:
        if state is not State.DONE:
            shutil.rmtree(job.folder, ignore_errors=True)
        job.state, job.error, job.finished = state, error, time.monotonic()
        job.stage = state.value
