"""The page's HTTP interface (Starlette): the page itself, uploads, job status, cancelling, and the results.

    GET    /                       the page
    GET    /api/config             models, the default model, and the limits
    POST   /api/jobs?model=&name=  the request body is the video or photograph; 201 with the job's status (its
                                   "kind": video or photo), or 4xx {"error"}
    GET    /api/jobs/{id}          the job's status (see `JobQueue.status`)
    DELETE /api/jobs/{id}          cancel it
    GET    /api/jobs/{id}/before   the input as the browser shows it: a video      } once the job is done; MP4
                                   re-encoded, a photograph upright                } for a video, PNG for a
    GET    /api/jobs/{id}/result   the deblurred video or photograph               } photograph
    GET    /api/jobs/{id}/download the same as an attachment                       }

An upload is a photograph when the client's file name has an image suffix (.jpg, .png, ...), as on the command
line; anything else is taken for a video.

Errors a user can cause answer ``{"error": one sentence}``, the same sentence the command line prints.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vdeblur.errors import UserError
from vdeblur.infer.sources import PhotoSource
from vdeblur.io.images import IMAGE_SUFFIXES
from vdeblur.io.video import VIDEO_SUFFIXES, probe_video
from vdeblur.serve.jobs import INPUT_STEM, PHOTO, VIDEO, Job, JobQueue, MediaKind, Runner, State

STATIC = Path(__file__).parent / "static"
_TOO_LARGE = "{name} is larger than {limit}, the largest upload this server takes; send a smaller file."


@dataclass(frozen=True)
class ServeSettings:
    """What the page offers and allows.

    Args:
        work: the folder for uploads and results (the server's own; every job gets a folder inside it).
        models: the models the page offers, the default first.
        max_upload_bytes: the largest upload accepted.
        max_frames: the longest video accepted, in frames.
        keep_seconds: how long a finished result stays downloadable.
        allowed_hosts: the names the page may be reached by (the Host header); others are refused, so that a
            web site cannot reach a server on localhost through a name of its own (DNS rebinding).
    """

    work: Path
    models: tuple[str, ...]
    max_upload_bytes: int
    max_frames: int
    keep_seconds: float
    allowed_hosts: tuple[str, ...] = ("*",)


def create_app(settings: ServeSettings, runner: Runner) -> Starlette:
    """The page's application; its job queue starts and stops with it (the ASGI lifespan)."""
    jobs = JobQueue(settings.work, runner, settings.keep_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        jobs.start()
        try:
            yield
        finally:
            # Stops the running job at its next frame; the library removes its partial output.
            await run_in_threadpool(jobs.close)

    async def config(request: Request) -> Response:
        return JSONResponse({
            "models": list(settings.models), "default_model": settings.models[0],
            "max_upload_bytes": settings.max_upload_bytes, "max_frames": settings.max_frames,
        })

    async def create_job(request: Request) -> Response:
        if not _same_origin(request):
            return _cross_origin()
        model = request.query_params.get("model", settings.models[0])
        name = display_name(request.query_params.get("name", ""))
        if model not in settings.models:
            return _error(400, f"Unknown model '{model}'; this server offers {', '.join(settings.models)}.")
        too_large = _error(413, _TOO_LARGE.format(name=name, limit=_megabytes(settings.max_upload_bytes)))
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_upload_bytes:
            return too_large  # before reading a byte of it
        job_id, folder = jobs.new_folder()
        # The client's name gives at most a known suffix (FFmpeg guesses some formats by it, and it tells a
        # photograph from a video), never a path.
        suffix = _known_suffix(name)
        kind = PHOTO if suffix in IMAGE_SUFFIXES else VIDEO
        upload = folder / (INPUT_STEM + suffix)
        try:
            if not await _receive(request, upload, settings.max_upload_bytes):
                shutil.rmtree(folder, ignore_errors=True)
                return too_large
            await run_in_threadpool(_check_upload, upload, name, kind)
            job = jobs.submit(job_id, folder, upload, name, model, kind)
        except UserError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return _error(400, str(exc))
        except ClientDisconnect:  # the page was closed mid-upload: nobody to answer
            shutil.rmtree(folder, ignore_errors=True)
            return Response(status_code=400)
        except BaseException:  # a dropped connection, a full disk, a cancelled request: keep nothing
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return JSONResponse(jobs.status(job), status_code=201)

    def find(request: Request) -> Job | None:
        return jobs.get(request.path_params["job_id"])

    async def job_status(request: Request) -> Response:
        job = find(request)
        return JSONResponse(jobs.status(job)) if job else _no_job()

    async def cancel_job(request: Request) -> Response:
        if not _same_origin(request):
            return _cross_origin()
        job = find(request)
        if job is None:
            return _no_job()
        jobs.cancel(job)
        return JSONResponse(jobs.status(job))

    def file_route(path_name: str, file_of: Callable[[MediaKind], str], attachment: bool) -> Route:
        async def job_file(request: Request) -> Response:
            job = find(request)
            if job is None or job.state is not State.DONE:
                return _no_job()
            download = f"{PurePath(job.name).stem}_deblurred{job.kind.suffix}" if attachment else None
            return FileResponse(job.folder / file_of(job.kind), media_type=job.kind.media_type, filename=download,
                                content_disposition_type="attachment" if attachment else "inline")

        return Route(f"/api/jobs/{{job_id}}/{path_name}", job_file)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    routes = [
        Route("/", page),
        Route("/api/config", config),
        Route("/api/jobs", create_job, methods=["POST"]),
        Route("/api/jobs/{job_id}", job_status),
        Route("/api/jobs/{job_id}", cancel_job, methods=["DELETE"]),
        file_route("before", lambda kind: kind.before, attachment=False),
        file_route("result", lambda kind: kind.result, attachment=False),
        file_route("download", lambda kind: kind.result, attachment=True),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.jobs = jobs
    return app


async def _receive(request: Request, path: Path, limit: int) -> bool:
    """Stream the request body into ``path``; False (and nothing kept) once it passes ``limit`` bytes."""
    size = 0
    with path.open("wb") as file:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return False
            file.write(chunk)
    return True


def _check_upload(path: Path, name: str, kind: MediaKind) -> None:
    """Refuse a file that cannot be read as a photograph, or that FFmpeg cannot open as a video, with the
    library's sentence naming the client's file."""
    try:
        if kind is PHOTO:
            PhotoSource(path)
        else:
            probe_video(path)
    except UserError as exc:
        raise UserError(str(exc).replace(str(path), name)) from exc


def display_name(client_name: str) -> str:
    """The client's file name, reduced to a last path component of printable characters, for messages only."""
    last = re.split(r"[/\\]", client_name)[-1]
    printable = "".join(c for c in last if c.isprintable()).strip().lstrip(".")
    return printable[:120] or "upload"


def _known_suffix(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES or suffix in IMAGE_SUFFIXES else ""


def _megabytes(size: int) -> str:
    return f"{size / 1e6:g} MB"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _same_origin(request: Request) -> bool:
    """False for a request another site's page sent (browsers name that page in Origin); other clients send none."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _cross_origin() -> JSONResponse:
    return _error(403, "Only the page itself may start or cancel jobs; open it at this server's address.")


def _no_job() -> JSONResponse:
    return _error(404, "No such job: it finished long ago and expired, or never existed; upload the file again.")
