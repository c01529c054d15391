"""The page's web server: the socket it listens on, which Host headers it answers, and a run that SIGTERM and
SIGHUP stop as cleanly as Ctrl-C."""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
from types import FrameType

import uvicorn

from vdeblur.errors import UserError
from vdeblur.interrupts import interrupt_on_signals


def run_server(app: object, listener: socket.socket) -> int | None:
    """Serve ``app`` on ``listener`` until Ctrl-C, SIGTERM or SIGHUP; returns the number of the signal that
    stopped it (its jobs cancelled and its files removed either way), None if none did."""
    # Uploads of a few hundred MB take a while on a slow link; a stop waits at most this long for them.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    # SIGINT is ours too, not left to the handler the process started with: a shell starts `vdeblur serve &`
    # with SIGINT ignored, uvicorn still stops on it, and then re-sends it to that ignoring handler, so the
    # server ended with status 0 and no message.
    with _stop_gracefully_on((signal.SIGINT, signal.SIGTERM, signal.SIGHUP), server) as stopped_by:
        server.run(sockets=[listener])
    return stopped_by[0] if stopped_by else None


def allowed_hosts_for(host: str) -> tuple[str, ...]:
    """On a loopback address, the names of this machine only (see `ServeSettings.allowed_hosts`); any otherwise."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return tuple(dict.fromkeys(("127.0.0.1", "localhost", "::1", "[::1]", host))) if loopback else ("*",)


def listen(host: str, port_number: int) -> socket.socket:
    """A socket listening on ``host:port_number``, or a UserError naming why it cannot."""
    try:
        family = socket.getaddrinfo(host, port_number, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UserError(f"Cannot listen on {host}: {getattr(exc, 'strerror', None) or exc}.") from exc
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port_number))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise UserError(f"Cannot listen on {host}:{port_number}: {exc.strerror or exc}; choose another --port "
                        f"or --host.") from exc
    return listener


@contextlib.contextmanager
def _stop_gracefully_on(signals: tuple[signal.Signals, ...], server: object):
    """Make ``signals`` stop ``server`` the way Ctrl-C does (cancel jobs, remove files); yields those received.

    uvicorn handles SIGINT and SIGTERM itself while it runs, then re-sends the signal it got to the handler that was
    there before: this one, which only records it. SIGHUP uvicorn leaves alone, and would kill the process with
    the work folder still on disk. Before and after uvicorn's own handlers, this one stops the server too.
    """
    received: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        server.handle_exit(signum, frame)  # type: ignore[attr-defined]

    with interrupt_on_signals(signals, handler=stop):
        yield received
