"""Live updates: poll the corpus folder and swap in a new engine when it changes.

A :class:`Watcher` thread looks at the corpus every ``poll_seconds`` (file
names, sizes and modification times; a file modified within two seconds of a
look is also hashed, as the clock may not have moved). When something was
added, changed or removed it builds a new :class:`~askfiles.engine.Engine`
through the saved index (only the changed files are read and annotated) and
calls ``holder.swap``. A request reads ``holder.engine`` once, so requests in
flight finish on the old engine.

Threads do not survive ``fork``: under gunicorn each worker starts its own
watcher (:func:`ensure_watcher`, called after the fork and again, as a
fallback, on a worker's first request).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .config import load_config
from .holder import EngineHolder
from .observe import describe_change
from .store import corpus_changed

log = logging.getLogger(__name__)


class Watcher:
    """Polls one corpus folder and swaps rebuilt engines into ``holder``."""

    def __init__(self, holder: EngineHolder, folder: Path | str,
                 config: dict[str, Any] | None = None,
                 build: Callable[[Path | str, dict[str, Any]], Any] | None = None):
        self.holder = holder
        self.folder = Path(folder)
        self.config = load_config(config)
        self.interval = float(self.config["poll_seconds"])
        self._build = build or _build_engine
        self._stop = threading.Event()
        self.lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._files = self._baseline()
        self._last_error = ""
        self.pid = os.getpid()
        self.polls = 0
        self.rebuilds = 0
        self.swaps = 0

    def _baseline(self) -> dict[str, dict[str, Any]] | None:
        """The fingerprints the live engine was built from (None: unknown, rebuild once)."""
        report = getattr(getattr(self.holder.engine, "corpus", None), "report", None)
        files = getattr(report, "files", None)
        return {k: dict(v) for k, v in files.items()} if files is not None else None

    # -- thread -------------------------------------------------------------

    def start(self) -> "Watcher":
        if self.interval <= 0 or self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="askfiles-watcher",
                                        daemon=True)
        self._thread.start()
        log.info("watching %s every %.1f s", self.folder, self.interval)
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop polling (a rebuild under way finishes first)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    # -- one poll -----------------------------------------------------------

    def check(self) -> bool:
        """Look once; rebuild and swap when the corpus changed. True when swapped."""
        with self.lock:  # a write through the API may rebuild at the same time
            return self._check()

    def _check(self) -> bool:
        self.polls += 1
        try:
            if self._files is not None and not corpus_changed(self.folder, self._files):
                return False
            t0 = time.perf_counter()
            engine = self._build(self.folder, self.config)
            self.rebuilds += 1
            report = getattr(engine.corpus, "report", None)
            if report is not None:
                self._files = {k: dict(v) for k, v in report.files.items()}
            old = self.holder.engine
            if (engine.version == getattr(old, "version", None)
                    and engine.corpus.skipped == getattr(old.corpus, "skipped", ())):
                return False               # touched, not changed: keep the warm engine
            self.holder.swap(engine)
            self.swaps += 1
            self._last_error = ""
            log.info("corpus %s reloaded in %.2f s: %s", self.folder,
                     time.perf_counter() - t0, describe_change(old, engine))
            return True
        except Exception as exc:  # keep serving the old engine; try again next poll
            msg = f"{type(exc).__name__}: {exc}"
            if msg != self._last_error:
                log.exception("could not refresh the index of %s; still serving the "
                              "previous one", self.folder)
            self._last_error = msg
            return False


def _build_engine(folder: Path | str, config: dict[str, Any]):
    from .engine import Engine

    return Engine.from_folder(folder, config)


def start_watcher(holder: EngineHolder, folder: Path | str,
                  config: dict[str, Any] | None = None) -> Watcher:
    """A started :class:`Watcher` (idle when ``poll_seconds`` is 0)."""
    return Watcher(holder, folder, config).start()


_apps_lock = threading.Lock()


def ensure_watcher(app) -> Watcher | None:
    """The watcher of this Flask app in this process, started on first call.

    Idempotent and fork-aware: a watcher started before a fork belongs to the
    parent, so a worker process starts its own.
    """
    holder = app.extensions.get("askfiles")
    if holder is None:
        return None
    with _apps_lock:
        w = app.extensions.get("askfiles.watcher")
        if w is not None and w.pid == os.getpid():
            return w
        settings = app.config.get("ASKFILES") or load_config()
        if float(settings.get("poll_seconds") or 0) <= 0:
            return None
        report = getattr(getattr(holder.engine, "corpus", None), "report", None)
        folder = getattr(report, "root", None) or settings["corpus"]
        w = start_watcher(holder, folder, settings)
        app.extensions["askfiles.watcher"] = w
        return w


def install(app) -> None:
    """Start the app's watcher lazily: on the first request of each process.

    Nothing starts at import, so a gunicorn master that preloads the app does
    not poll; a server can call :func:`ensure_watcher` right after forking a
    worker (gunicorn's ``post_fork``) to start it before the first request.
    """

    @app.before_request
    def _watcher_in_this_process():
        w = app.extensions.get("askfiles.watcher")
        if w is None or w.pid != os.getpid():
            ensure_watcher(app)
