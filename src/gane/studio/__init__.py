"""gane studio: a page in the browser over the Python API, for sampling, encoding, editing, painting,
restoring and translating with the runs under a folder (``gane studio [RUNS_DIR]``).

The page and its server need the ``studio`` extra (``pip install 'gane[studio]'``: FastAPI and
uvicorn); :class:`Studio` itself needs nothing more than gane.
"""
from __future__ import annotations

import socket

from ..errors import GaneError
from .core import DEFAULT_MAX_UPLOAD_MB, Studio, find_runs, read_image

__all__ = ["Studio", "find_runs", "read_image", "serve", "create_app", "Background", "DEFAULT_MAX_UPLOAD_MB"]

EXTRA_MESSAGE = ("gane studio needs the studio extra (FastAPI and uvicorn), which is not installed here: "
                 "pip install 'gane[studio]' (or, in a clone, pip install -e '.[studio]'; make demo installs it).")


def create_app(studio: Studio, loopback: bool = True, host: str | None = None):
    """The studio's ASGI app (see :func:`gane.studio.app.create_app`); a clear error without the extra."""
    try:
        from .app import create_app as make
    except ImportError:
        raise GaneError(EXTRA_MESSAGE) from None
    return make(studio, loopback, host)


class Background:
    """The studio served on a thread of this process, on 127.0.0.1 and a free port (tests, benchmarks,
    notebooks): ``url`` while it runs, ``stop()`` to end it."""

    def __init__(self, studio: Studio, loopback: bool = True, timeout: float = 30.0):
        import threading
        import time

        try:
            import uvicorn
        except ImportError:
            raise GaneError(EXTRA_MESSAGE) from None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(studio, loopback), host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # signals belong to the host program
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="gane-studio-server")
        self.thread.start()
        end = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < end:
            time.sleep(0.02)
        if not self.server.started:
            raise GaneError(f"The studio's server did not start on {self.url} within {timeout:g} s.")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def serve(runs_dir="runs", host: str = "127.0.0.1", port: int = 7860, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
          device: str = "cpu", say=print) -> None:
    """Serve the studio on http://HOST:PORT until interrupted. Binds this machine only unless ``host``
    says otherwise, and then warns: the studio has no login, and anyone who reaches it can run the
    models and read the runs' images."""
    try:
        import uvicorn

        from . import app as _  # noqa: F401  (FastAPI, checked now rather than after the runs are read)
    except ImportError:
        raise GaneError(EXTRA_MESSAGE) from None
    studio = Studio(runs_dir, device, max_upload_mb)
    if not studio.run_ids():
        raise GaneError(f"There are no runs under {studio.root} (a run is a folder with checkpoints/step-N). Train one first "
                        "(make demo, or gane train bigan --data mnist-5k), or pass the folder that holds your runs: gane studio PATH.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:  # a taken port is said now, not as uvicorn's traceback
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise GaneError(f"Cannot listen on {host}:{port} ({e.strerror or e}). Another program (or another studio) may be "
                            "using the port: pass another with --port, or check --host.") from None
    loopback = is_loopback(host)
    if not loopback:
        say(f"gane: warning: the studio listens on {host}, so other machines that can reach this one can use it. It has no "
            "login: anyone who reaches it can run the models and see the runs' images. Use the default --host 127.0.0.1 "
            "unless you mean that.")
    shown = f"[{host}]" if ":" in host else host
    say(f"gane: studio on http://{shown}:{port} with {len(studio.run_ids())} run(s) from {studio.root} "
        f"(uploads up to {max_upload_mb:g} MB); Ctrl+C stops it.")
    # the Host check compares names without their port, which an IPv6 address in brackets does not survive:
    # on ::1 the studio is still reachable from this machine only, but without that check
    uvicorn.run(create_app(studio, loopback and ":" not in host, host), host=host, port=port, log_level="warning", access_log=False)
