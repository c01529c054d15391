"""``vdeblur serve``: run the page on this machine until Ctrl-C (or SIGTERM / SIGHUP)."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from vdeblur.commands.argtypes import port, positive_int
from vdeblur.checkpoint import DEFAULT_MODEL, resolve_weights_path, shipped_weights_names
from vdeblur.device import DEVICE_CHOICES
from vdeblur.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens the page "
                             "to the network, with no login)")
    parser.add_argument("--port", type=port, default=8000, help="TCP port (default 8000; 0: any free port)")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"the model the page picks first: a shipped model name, run directory or .safetensors "
                             f"file (default: {DEFAULT_MODEL}); the page also offers every shipped model")
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)} or cuda:N")
    parser.add_argument("--max-upload-mb", type=positive_int, default=200,
                        help="largest upload accepted, in megabytes (default 200)")
    parser.add_argument("--max-frames", type=positive_int, default=900,
                        help="longest video accepted, in frames (default 900: 30 s at 30 frames/s)")
    parser.add_argument("--keep-minutes", type=positive_int, default=60,
                        help="how long a result stays downloadable (default 60)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="threads for the model and for each of the video decoder and encoder (default: about "
                             "one per core)")


def run(args: argparse.Namespace) -> int:
    """Serve the page until stopped; returns 0, or 128 + the signal's number when SIGTERM or SIGHUP stopped it
    (Ctrl-C's SIGINT raises KeyboardInterrupt, once the files are removed)."""
    try:
        from vdeblur.serve.app import ServeSettings, create_app
        from vdeblur.serve.server import allowed_hosts_for, listen, run_server
    except ImportError as exc:
        raise UserError(f"vdeblur serve needs the 'serve' extra ({exc.name} is missing): pip install "
                        f"'vdeblur[serve]'.") from exc
    from vdeblur.infer.sources import CODEC_THREADS
    from vdeblur.serve.runner import DeblurRunner

    resolve_weights_path(args.model)  # an unknown model fails now, not on the first upload
    models = tuple(dict.fromkeys([str(args.model), *shipped_weights_names()]))
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    listener = listen(args.host, args.port)
    work = Path(tempfile.mkdtemp(prefix="vdeblur-serve-"))
    try:
        settings = ServeSettings(work, models, args.max_upload_mb * 1_000_000, args.max_frames,
                                 args.keep_minutes * 60.0, allowed_hosts=allowed_hosts_for(args.host))
        runner = DeblurRunner(args.device, args.max_frames, CODEC_THREADS if args.threads is None else args.threads)
        host, bound_port = listener.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"vdeblur serve: open http://{shown}:{bound_port}/ (Ctrl-C stops the server)", flush=True)
        stopped_by = run_server(create_app(settings, runner), listener)
    finally:
        listener.close()
        shutil.rmtree(work, ignore_errors=True)
    if stopped_by == signal.SIGINT:
        raise KeyboardInterrupt  # reported as any command's Ctrl-C: "interrupted.", status 130
    if stopped_by is not None:
        name = signal.Signals(stopped_by).name
        print(f"vdeblur serve: stopped by {name}; its jobs were cancelled and its files removed.", file=sys.stderr)
        return 128 + stopped_by
    return 0
