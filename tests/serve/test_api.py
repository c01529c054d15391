"""The page's HTTP interface: upload, progress, result and download; bad uploads; names; cancelling; expiry."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage.metrics import peak_signal_noise_ratio

from .conftest import MODEL, SAMPLE, files_under, finished, make_client, sideways_photo, upload, wait_for
from vdeblur.cli import main
from vdeblur.infer.deblurrer import Deblurrer
from vdeblur.io.video import iter_video_frames
from vdeblur.serve.jobs import Job


def decode(data: bytes, tmp_path: Path, name: str) -> tuple[list[np.ndarray], str, str]:
    """Frames, codec and pixel format of an MP4 given as bytes."""
    path = tmp_path / name
    path.write_bytes(data)
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        codec, pix_fmt = context.name, context.pix_fmt
    return list(iter_video_frames(path)), codec, pix_fmt


@pytest.mark.slow
def test_sample_upload_progress_result_and_download(client, work: Path, tmp_path: Path) -> None:
    created = upload(client, SAMPLE)
    assert created.status_code == 201
    job_id = created.json()["id"]
    seen: list[dict] = []
    status = wait_for(client, job_id, finished, seen=seen)
    assert status["state"] == "done" and status["error"] is None
    assert status["frames_done"] == status["total_frames"] == 24
    running = [s for s in seen if s["state"] == "running" and s["stage"] == "deblurring" and s["frames_done"]]
    assert running, "no progress was reported while the job ran"
    assert all(s["frames_per_second"] > 0 and s["seconds_left"] >= 0 for s in running)
    done_counts = [s["frames_done"] for s in running]
    assert done_counts == sorted(done_counts)

    inputs = list(iter_video_frames(SAMPLE))
    before, codec, pix_fmt = decode(client.get(f"/api/jobs/{job_id}/before").content, tmp_path, "before.mp4")
    assert (codec, pix_fmt) == ("h264", "yuv420p") and len(before) == 24  # what every browser plays
    assert peak_signal_noise_ratio(np.stack(inputs), np.stack(before)) > 38

    result_bytes = client.get(f"/api/jobs/{job_id}/result").content
    result, codec, pix_fmt = decode(result_bytes, tmp_path, "result.mp4")
    assert (codec, pix_fmt) == ("h264", "yuv420p") and len(result) == 24
    # The reference: the library's frame API on the decoded sample, with no server and no encoder in between.
    direct = list(Deblurrer(MODEL, "cpu").deblur_frames(inputs))
    to_direct = peak_signal_noise_ratio(np.stack(direct), np.stack(result))
    to_input = peak_signal_noise_ratio(np.stack(inputs), np.stack(result))
    assert to_direct > 40 and to_direct > to_input + 2, (to_direct, to_input)  # the model's output, not the input

    download = client.get(f"/api/jobs/{job_id}/download")
    assert download.content == result_bytes
    assert download.headers["content-disposition"].startswith("attachment")
    assert 'filename="bikes_blur_deblurred.mp4"' in download.headers["content-disposition"]
    # Browsers seek in a video with range requests.
    part = client.get(f"/api/jobs/{job_id}/result", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == result_bytes[100:200]
    assert [p.name for p in files_under(work / job_id)] == ["before.mp4", "input.mp4", "result.mp4"]


def test_photo_upload_gives_the_command_lines_picture(client, work: Path, tmp_path: Path) -> None:
    photo = sideways_photo(tmp_path / "holiday.jpg")
    created = upload(client, photo)
    assert created.status_code == 201 and created.json()["kind"] == "photo"
    job_id = created.json()["id"]
    status = wait_for(client, job_id, finished)
    assert status["state"] == "done" and status["frames_done"] == status["total_frames"] == 1

    # The references: Pillow's upright reading of the file, and `vdeblur deblur` writing the same photograph.
    upright = np.asarray(ImageOps.exif_transpose(Image.open(photo)).convert("RGB"))
    assert main(["deblur", str(photo), "-o", str(tmp_path / "cli.png"), "--model", MODEL, "--quiet"]) == 0
    from_cli = np.asarray(Image.open(tmp_path / "cli.png"))
    before = client.get(f"/api/jobs/{job_id}/before")
    result = client.get(f"/api/jobs/{job_id}/result")
    assert before.headers["content-type"] == result.headers["content-type"] == "image/png"
    before_image, result_image = (np.asarray(Image.open(io.BytesIO(r.content))) for r in (before, result))
    assert before_image.shape == upright.shape == (88, 120, 3)
    assert np.abs(before_image.astype(int) - upright).max() <= 2  # OpenCV's and Pillow's JPEG decoders
    assert np.array_equal(result_image, from_cli)
    assert peak_signal_noise_ratio(upright, result_image) < 45  # the model's output, not the input

    download = client.get(f"/api/jobs/{job_id}/download")
    assert download.content == result.content
    assert 'filename="holiday_deblurred.png"' in download.headers["content-disposition"]
    assert [p.name for p in files_under(work / job_id)] == ["before.png", "input.jpg", "result.png"]


def cli_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, name: str, data: bytes) -> str:
    """What `vdeblur deblur NAME` prints for this file, run from its folder so that it names it NAME."""
    folder = tmp_path / "cli"
    folder.mkdir()
    (folder / name).write_bytes(data)
    monkeypatch.chdir(folder)
    output = "out.png" if Path(name).suffix == ".jpg" else "out.mp4"
    assert main(["deblur", name, "-o", output, "--model", MODEL, "--quiet"]) == 2
    return capsys.readouterr().err.strip().removeprefix("vdeblur deblur: error: ")


@pytest.mark.parametrize("kind", ["not a video", "truncated", "not a photograph"])
def test_bad_upload_gets_the_command_lines_sentence(kind: str, client, work: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, capsys, short_clip: Path) -> None:
    data = SAMPLE.read_bytes()[: SAMPLE.stat().st_size // 2] if kind == "truncated" else b"just some text\n" * 100
    name = "holiday photo.jpg" if kind == "not a photograph" else "holiday clip.mp4"
    response = client.post("/api/jobs", params={"model": MODEL, "name": name}, content=data)
    assert response.status_code == 400
    assert response.json()["error"] == cli_message(tmp_path, monkeypatch, capsys, name, data)
    assert files_under(work) == []
    assert upload(client, short_clip).status_code == 201  # the server goes on serving


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_over_limit_upload_is_refused_and_kept_nowhere(declared: bool, work: Path, short_clip: Path) -> None:
    data = short_clip.read_bytes()
    with make_client(work, max_upload_bytes=len(data) - 1) as client:
        # Without a declared length the limit is found while the body streams in.
        body = data if declared else iter([data[:1000], data[1000:]])
        response = client.post("/api/jobs", params={"model": MODEL, "name": "clip.mp4"}, content=body)
        assert response.status_code == 413
        assert response.json()["error"].startswith("clip.mp4 is larger than ")
        assert files_under(work) == []
        assert client.get("/api/config").status_code == 200


def test_too_many_frames_fails_the_job_with_one_sentence(work: Path, short_clip: Path) -> None:
    with make_client(work, max_frames=5) as client:
        job_id = upload(client, short_clip, name="clip.mp4").json()["id"]
        status = wait_for(client, job_id, finished)
        assert status["state"] == "failed"
        assert status["error"].startswith("clip.mp4 is longer than 5 frames")
        assert files_under(work) == []


@pytest.mark.parametrize("name", ["../../escape.mp4", "..\\..\\escape.mp4", "/etc/escape.mp4", "sub/../../escape.mp4"])
def test_client_file_names_never_become_paths(name: str, client, work: Path, short_clip: Path) -> None:
    outside_before = files_under(work.parent)
    job_id = upload(client, short_clip, name=name).json()["id"]
    status = wait_for(client, job_id, finished)
    assert status["state"] == "done" and status["name"] == "escape.mp4"
    assert 'filename="escape_deblurred.mp4"' in client.get(f"/api/jobs/{job_id}/download").headers[
        "content-disposition"]
    written = set(files_under(work.parent)) - set(outside_before)
    assert written == {work / job_id, *(work / job_id / f for f in ("input.mp4", "before.mp4", "result.mp4"))}
    for path in [f"/api/jobs/..%2F..%2F{job_id}/result", "/api/jobs/../result", "/static/..%2Fapp.py",
                 "/static/../../cli.py"]:
        assert client.get(path).status_code == 404


def test_cancelling_stops_the_running_job_and_the_next_one_runs(client, work: Path, short_clip: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    report = Job.report

    def slow_report(self: Job, done: int, total: int | None) -> None:
        time.sleep(0.3)  # time to cancel between frames
        report(self, done, total)

    monkeypatch.setattr(Job, "report", slow_report)
    first = upload(client, short_clip).json()["id"]
    second = upload(client, short_clip).json()
    assert second["state"] == "queued" and second["jobs_ahead"] == 0
    wait_for(client, first, lambda s: s["stage"] == "deblurring" and s["frames_done"] >= 1)
    assert client.delete(f"/api/jobs/{first}").status_code == 200
    cancelled = wait_for(client, first, finished)
    assert cancelled["state"] == "cancelled" and cancelled["frames_done"] < 6
    assert not (work / first).exists()
    assert wait_for(client, second["id"], finished)["state"] == "done"
    assert files_under(work / second["id"])  # the second job's files are there, the first one's are not
    assert [p.name for p in work.iterdir()] == [second["id"]]


def test_stopping_the_server_cancels_its_jobs_and_removes_their_files(work: Path, short_clip: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    report = Job.report
    monkeypatch.setattr(Job, "report", lambda self, done, total: (time.sleep(0.3), report(self, done, total)))
    with make_client(work) as client:
        running = upload(client, short_clip).json()["id"]
        upload(client, short_clip)
        wait_for(client, running, lambda s: s["stage"] == "deblurring" and s["frames_done"] >= 1)
    assert files_under(work) == []


def test_finished_results_expire(work: Path, short_clip: Path) -> None:
    with make_client(work, keep_seconds=0.5) as client:
        job_id = upload(client, short_clip).json()["id"]
        assert wait_for(client, job_id, finished)["state"] == "done"
        deadline = time.monotonic() + 10
        while client.get(f"/api/jobs/{job_id}").status_code != 404:
            assert time.monotonic() < deadline, "the result never expired"
            time.sleep(0.1)
        assert files_under(work) == []


def cut_with_index_in_front(source: Path, fraction: float, tmp_path: Path) -> bytes:
    """``source`` remuxed with its index in front, then cut to ``fraction`` of its bytes: a file that opens."""
    whole = tmp_path / "front_index.mp4"
    with av.open(str(source)) as video, av.open(str(whole), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream_from_template(video.streams.video[0])
        for packet in video.demux(video.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return whole.read_bytes()[: int(whole.stat().st_size * fraction)]


@pytest.mark.filterwarnings("ignore:.*may be truncated")  # the server's own log of the warning
@pytest.mark.parametrize("where", ["mid-frame", "after some frames"])
def test_a_cut_file_that_opens_gets_the_command_lines_error_or_warning(
    where: str, client, work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, short_clip: Path
) -> None:
    """Cut inside its first frames, decoding fails: an error. Cut later, the frames before the cut are deblurred
    and a warning says the file may be truncated. The page says what the command line says, in both cases."""
    data = cut_with_index_in_front(*((short_clip, 0.67) if where == "mid-frame" else (SAMPLE, 0.5)), tmp_path)
    name = "cut.mp4"
    folder = tmp_path / "cli"
    folder.mkdir()
    (folder / name).write_bytes(data)
    monkeypatch.chdir(folder)
    with pytest.warns() if where != "mid-frame" else contextlib.nullcontext() as caught:
        code = main(["deblur", name, "-o", "out.mp4", "--model", MODEL, "--quiet"])

    status = wait_for(client, upload(client, folder / name).json()["id"], finished)
    if where == "mid-frame":
        assert code == 2 and status["state"] == "failed"
        assert status["error"] == capsys.readouterr().err.strip().removeprefix("vdeblur deblur: error: ")
        assert files_under(work) == []
    else:
        assert code == 0 and status["state"] == "done", status["error"]
        [cli_warning] = [str(w.message) for w in caught if "truncated" in str(w.message)]
        assert status["warning"] == cli_warning
        assert 0 < status["total_frames"] == status["frames_done"] < 24


def test_other_sites_cannot_use_a_server_on_localhost(work: Path, short_clip: Path) -> None:
    """A page of another site may send requests to localhost, and may rename itself localhost (DNS rebinding)."""
    from vdeblur.serve.server import allowed_hosts_for

    with make_client(work, allowed_hosts=allowed_hosts_for("127.0.0.1"), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/config").status_code == 200
        assert client.get("/api/config", headers={"Host": "localhost:8000"}).status_code == 200
        assert client.get("/api/config", headers={"Host": "rebound.example:8000"}).status_code == 400
        foreign = client.post("/api/jobs", params={"name": "a.mp4"}, content=short_clip.read_bytes(),
                              headers={"Origin": "http://elsewhere.example"})
        assert foreign.status_code == 403 and files_under(work) == []
        own = client.post("/api/jobs", params={"name": "a.mp4"}, content=short_clip.read_bytes(),
                           headers={"Origin": "http://127.0.0.1:8000"})
        assert own.status_code == 201
        job_id = own.json()["id"]
        assert client.delete(f"/api/jobs/{job_id}", headers={"Origin": "http://elsewhere.example"}).status_code == 403
