"""`vdeblur serve` as a process: it prints its address, and Ctrl-C, SIGTERM or SIGHUP mid-job leave nothing behind."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from .conftest import SAMPLE, http_json, served
from vdeblur.cli import main


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "line", "sigint_at_start"), [
    (signal.SIGINT, "vdeblur serve: interrupted.", signal.SIG_DFL),  # Ctrl-C
    # `vdeblur serve &` in a script starts with SIGINT ignored; uvicorn stops on it all the same, so it must be
    # reported as a stop, not as a clean exit with status 0.
    (signal.SIGINT, "vdeblur serve: interrupted.", signal.SIG_IGN),
    (signal.SIGTERM, "vdeblur serve: stopped by SIGTERM; ", signal.SIG_DFL),
    (signal.SIGHUP, "vdeblur serve: stopped by SIGHUP; ", signal.SIG_DFL),
], ids=["SIGINT", "SIGINT-ignored-at-start", "SIGTERM", "SIGHUP"])
def test_a_signal_mid_job_stops_the_server_and_removes_its_files(
    signum: int, line: str, sigint_at_start: object, tmp_path: Path
) -> None:
    with served(tmp_path, "--threads", "1", sigint=sigint_at_start) as (process, url):
        assert url.startswith("http://127.0.0.1:")  # localhost unless told otherwise
        [work] = list(tmp_path.iterdir())
        job = http_json("POST", f"{url}api/jobs?name=bikes.mp4", SAMPLE.read_bytes())
        deadline = time.monotonic() + 120
        while http_json("GET", f"{url}api/jobs/{job['id']}")["frames_done"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert any(p.name.startswith(".result.") for p in (work / job["id"]).iterdir())  # a partial result
        process.send_signal(signum)
        assert process.wait(timeout=60) == 128 + signum
        errors = process.stderr.read().strip().splitlines()
        assert len(errors) == 1 and errors[0].startswith(line), errors
    assert list(tmp_path.iterdir()) == []


def test_a_taken_port_is_one_sentence(capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--model", "single-frame"]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"vdeblur serve: error: Cannot listen on 127.0.0.1:{port}: ") and "\n" not in message
