"""``askfiles serve``: the production server (gunicorn), one index shared by all workers."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import sys
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)

THREADS = 4          # threads per worker: a slow client never blocks /healthz
TIMEOUT = 60         # seconds a worker may spend on one request before it is replaced


class _Server(BaseApplication):
    """Gunicorn serving an app that was built before the workers fork."""

    def __init__(self, app, options: dict[str, Any]):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorn lacks some (control_socket_*)
                self.cfg.set(key, value)

    def load(self):
        return self.application


def bind_address(host: str, port: int) -> str:
    """``host:port`` for gunicorn, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def options(host: str, port: int, workers: int | None) -> dict[str, Any]:
    """The gunicorn settings askfiles runs with (``workers`` None: one per CPU)."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}: pass 1 or more, or None for one per CPU")
    return {
        "bind": bind_address(host, port),
        "workers": workers or os.cpu_count() or 1,
        "worker_class": "gthread",
        "threads": THREADS,
        "preload_app": True,
        "timeout": TIMEOUT,
        "graceful_timeout": 10,
        "keepalive": 5,
        # Request line and headers past these limits are refused by gunicorn before
        # the app sees them (414, 431), in the JSON error shape (json_write_error).
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "errorlog": "-",
        "loglevel": "info",
        "accesslog": None,   # askfiles logs each request itself, with its request id
        "proc_name": "askfiles",
        # No shared control socket in ~/.gunicorn: several servers may run side by side.
        "control_socket_disable": True,
    }


# Errors gunicorn answers itself (a request it cannot parse or that passes its
# limits): the code and message sent in the contract's JSON shape.
GUNICORN_ERRORS = {
    400: ("bad_request", "The request could not be parsed as HTTP."),
    403: ("forbidden", "The request is forbidden."),
    414: ("uri_too_long", "The request line (method, path and query) is too long; "
                          "the limit is 8190 bytes. Send a long question with POST."),
    417: ("expectation_failed", "The Expect header cannot be met."),
    431: ("headers_too_large", "Too many request headers, or one is too long."),
    500: ("internal_error", "The server hit an unexpected error; it has been logged."),
    501: ("not_implemented", "This transfer coding is not supported."),
}


def json_write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Stands in for ``gunicorn.util.write_error``: the JSON error shape, not an HTML page.

    The client's bytes are never echoed back (gunicorn's ``mesg`` quotes them).
    """
    import json

    from gunicorn import util

    code, message = GUNICORN_ERRORS.get(status_int, (f"http_{status_int}", reason))
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


def _json_gunicorn_errors() -> None:
    """Make gunicorn's own error responses JSON (workers fork from this process)."""
    from gunicorn import util

    if hasattr(util, "write_error") and hasattr(util, "write_nonblock"):
        util.write_error = json_write_error


def _start_watcher(app):
    """A gunicorn ``post_fork`` hook: each worker watches the corpus and warms its index
    from the start."""

    def post_fork(server, worker) -> None:
        from .warmup import ensure_warm
        from .watch import ensure_watcher

        ensure_watcher(app)
        ensure_warm(app.extensions["askfiles"])

    return post_fork


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (in use, no such address), or None."""
    if not 1 <= port <= 65535:
        # getaddrinfo() would take 99999 as 34463 and check that port instead.
        return f"port {port} is not a port number; pass --port with one from 1 to 65535"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is already in use (another server?); "
                        "stop it or pass --port with a free port")
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _metrics_dir() -> tuple[str, bool]:
    """The folder the workers share for Prometheus metrics (made here unless set)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):   # values of an earlier run are not this run's
            if name.endswith(".db"):
                os.unlink(os.path.join(folder, name))
        return folder, False
    folder = tempfile.mkdtemp(prefix="askfiles-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder, True


def _worker_exited(server, worker) -> None:
    """A gunicorn ``child_exit`` hook: drop a dead worker's live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _ready(message: str):
    """A gunicorn ``when_ready`` hook: say where it serves once it listens."""

    def when_ready(server) -> None:
        print(message, file=sys.stderr, flush=True)

    return when_ready


def _builder_elsewhere(config: dict[str, Any]) -> bool:
    """Whether another process holds this index folder's builder lease now."""
    from .published import Lease, NoIndex, published_dir

    try:
        directory = published_dir(config["corpus"], config)
    except (NoIndex, KeyError):
        return False
    if not (directory / "manifest.json").exists():
        return False
    lease = Lease(directory)
    try:
        if lease.acquire(block=False):
            lease.release()    # free again before the workers fork: one of them takes it
            return False
    except OSError:
        return False
    return True


def serve(config: dict[str, Any], host: str = "127.0.0.1", port: int = 8000,
          workers: int | None = None, read_only: bool = False) -> int:
    """Build the index once, then serve it with gunicorn until stopped; the exit status.

    The app (and so the engine, spaCy included) is built here in the master
    process, before the workers fork, so every worker shares one copy of it.
    A missing corpus or spaCy pipeline fails here, with a plain message; so does
    a port in use, before anything is built.

    Afterwards one process keeps the index current: the worker holding the
    index folder's builder lease (or an ``askfiles index --watch``); the other
    workers load what it publishes. ``read_only``: a replica; nothing is built
    or annotated in any of its processes; it starts from the published index
    (waiting for one) and follows the manifest.
    """
    problem = port_problem(host, port)
    if problem:
        print(f"askfiles: {problem}", file=sys.stderr, flush=True)
        return 2
    opts = options(host, port, workers)   # a bad worker count fails before the build
    # Before any metric exists: every process then writes its metrics to files there.
    folder, made = _metrics_dir()
    master = os.getpid()   # workers fork inside run() and leave through this frame too
    logging.getLogger("askfiles").setLevel(logging.INFO)   # access log, reloads, writes
    try:
        from . import create_app

        if read_only:
            config = {**config, "read_only": True}
        elif _builder_elsewhere(config):
            # An `askfiles index --watch` keeps this index current: start from what it
            # published rather than build at the same time (the workers follow it).
            print("askfiles: another process builds this index; serving what it publishes",
                  file=sys.stderr, flush=True)
            config = {**config, "start_from_published": True}
        app = create_app(config)
        app.extensions["askfiles.watch_mode"] = "follow" if read_only else "auto"
        engine = app.extensions["askfiles"].engine
        opts["post_fork"] = _start_watcher(app)
        opts["child_exit"] = _worker_exited
        n = opts["workers"]
        for s in engine.corpus.skipped:
            print(f"askfiles: skipped {s.path}: {s.reason}", file=sys.stderr)
        opts["when_ready"] = _ready(
            f"askfiles: {len(engine.documents)} documents, {len(engine.passages)} passages "
            f"(index {engine.version}); serving on http://{opts['bind']}/ with "
            f"{n} worker{'' if n == 1 else 's'}"
            + ("; read-only: following the index the builder publishes" if read_only else ""))
        _json_gunicorn_errors()
        try:
            _Server(app, opts).run()
        except SystemExit as exc:
            if exc.code is None:
                return 0
            return exc.code if isinstance(exc.code, int) else 1
        return 0
    finally:
        if made and os.getpid() == master:
            shutil.rmtree(folder, ignore_errors=True)
