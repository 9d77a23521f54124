"""Live updates: keep the served engine current with the corpus folder.

A :class:`Watcher` thread looks every ``poll_seconds``. It has one of two roles:

* **builder** -- it looks at the corpus (file names, sizes and modification
  times; a file modified within two seconds of a look is also hashed, as the
  clock may not have moved). When something was added, changed or removed it
  builds a new :class:`~askfiles.engine.Engine` through the saved index (only
  the changed files are read and annotated), which publishes a new manifest,
  and calls ``holder.swap``.
* **follower** -- it looks only at the index folder's manifest. When the
  builder has published a new one it loads that index as saved
  (:func:`askfiles.published.published_engine`: no corpus walk, no spaCy
  annotation, no write) and swaps it in.

``mode="build"`` always builds (a single process: the library, tests, ``flask
run``); ``mode="follow"`` never does (``askfiles serve --read-only``);
``mode="auto"`` (the workers of ``askfiles serve``) builds only while this
process holds the index folder's builder lease (:class:`askfiles.published.Lease`),
so one worker builds and the others follow; a follower takes the lease over when
its holder dies, and an ``askfiles index --watch`` holding it makes every worker
a follower. A request reads ``holder.engine`` once, so requests in flight finish
on the old engine.

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

from .config import CONFIG_FILE, load_config
from .holder import EngineHolder
from .observe import describe_change
from .store import corpus_changed

log = logging.getLogger(__name__)
LOOK_SHARE = 4.0   # the wait after a look is at least this many times its cost


class Watcher:
    """Polls one corpus folder and swaps rebuilt engines into ``holder``."""

    def __init__(self, holder: EngineHolder, folder: Path | str,
                 config: dict[str, Any] | None = None,
                 build: Callable[[Path | str, dict[str, Any]], Any] | None = None,
                 mode: str = "build"):
        if mode not in ("build", "follow", "auto"):
            raise ValueError(f"mode must be build, follow or auto, not {mode!r}")
        self.mode = mode
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
        self._gone = False        # the corpus folder was missing at the last look
        self._settings_file = Path(self.config.get("config") or self.folder / CONFIG_FILE)
        self._settings = _stamp(self._settings_file)
        self.pid = os.getpid()
        self.polls = 0
        self.rebuilds = 0
        self.swaps = 0
        self.follows = 0          # published indexes loaded (follower role)
        self._lease = None
        self._directory: Path | None = None
        self._stamp = None        # the manifest the live engine came from (follower role)
        if mode != "build":
            from .published import NoIndex, manifest_stamp, published_dir

            try:
                self._directory = published_dir(self.folder, self.config)
                self._stamp = manifest_stamp(self._directory)
            except NoIndex:
                if mode == "follow":
                    raise
                self.mode = "build"   # no saved index to share: every process builds

    @property
    def role(self) -> str:
        """``"builder"`` or ``"follower"``, as of the last look."""
        if self.mode == "build" or (self._lease is not None and self._lease.held):
            return "builder"
        return "follower"

    def _builds(self) -> bool:
        """Whether this look builds: always in build mode, never in follow mode, and
        in auto mode while this process holds (or now takes) the builder lease."""
        if self.mode != "auto":
            return self.mode == "build"
        if self._lease is None:
            from .published import Lease

            self._lease = Lease(self._directory)
        if self._lease.held:
            if self._lease.current():
                return True
            log.warning("the builder lease in %s is not the one this process held (the "
                        "folder was moved, removed or replaced); this process (pid %d) "
                        "takes it again or follows", self._directory, os.getpid())
            self._lease.release()
        try:
            taken = self._lease.acquire(block=False)
        except OSError as exc:   # an index folder we cannot write: we cannot build either
            log.debug("builder lease unavailable in %s: %s", self._directory, exc)
            return False
        if taken:
            log.info("this process (pid %d) now builds the index of %s", os.getpid(),
                     self.folder)
        return taken

    def _baseline(self) -> dict[str, dict[str, Any]] | None:
        """The fingerprints the live engine was built from (None: unknown, rebuild once)."""
        return self._baseline_of(self.holder.engine)

    @staticmethod
    def _baseline_of(engine) -> dict[str, dict[str, Any]] | None:
        report = getattr(getattr(engine, "corpus", None), "report", None)
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
        """Stop polling (a rebuild under way finishes first); give the lease back."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._lease is not None and not self.running:
            with self.lock:
                self._lease.release()

    def _run(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            t0 = time.monotonic()
            swapped = self.check()
            # A look at a big corpus costs CPU (0.46 s at 100k files): keep looking to
            # at most about a fifth of a core, however short the interval is set.
            # A look that rebuilt is not a look's cost.
            wait = self.interval if swapped else max(
                self.interval, LOOK_SHARE * (time.monotonic() - t0))

    # -- one poll -----------------------------------------------------------

    def check(self) -> bool:
        """Look once; rebuild (or load what the builder published) and swap when
        the corpus (or the manifest) changed. True when swapped."""
        with self.lock:  # a write through the API may rebuild at the same time
            if self.mode != "follow" and not self._corpus_there():
                # Nothing to build from; taking the lease would make the folder again.
                return self._follow() if self.mode == "auto" else False
            if self._builds():
                self._settings_changed()
                return self._check()
            return self._follow()

    def _settings_changed(self) -> None:
        """Say once that the settings file changed: settings are read at start only, and
        an edit that silently did nothing looks like a setting that does nothing."""
        stamp = _stamp(self._settings_file)
        if stamp != self._settings:
            self._settings = stamp
            log.warning("%s changed; settings are read when the server starts: restart it "
                        "to apply them", self._settings_file)

    def _corpus_there(self) -> bool:
        """Whether the corpus folder is there; said once when it goes and when it is back.

        While it is gone (moved, removed, a share not mounted) the last index is
        served and nothing is built or written."""
        there = os.path.isdir(self.folder)
        if not there and not self._gone:
            engine = self.holder.engine
            log.warning("corpus folder %s is gone (moved, removed or not mounted?); still "
                        "answering from the last index (%d documents) until it is back",
                        self.folder, len(getattr(engine, "documents", ()) or ()))
        elif there and self._gone:
            log.info("corpus folder %s is back; looking at it again", self.folder)
        self._gone = not there
        return there

    def settle(self, timeout: float = 120.0) -> bool:
        """Bring the live engine up to the corpus as it is now (after a write through
        the API). A builder rebuilds at once; a follower waits until the builder
        has published an index of the corpus as it is now, and loads it. True
        when the engine is current."""
        from .store import corpus_changed

        deadline = time.monotonic() + timeout
        while True:
            self.check()
            if self.role == "builder":
                return True
            files = self._baseline()
            if files is not None and not corpus_changed(self.folder, files):
                return True
            if time.monotonic() > deadline:
                log.warning("the builder has not published %s as it is now within %.0f s",
                            self.folder, timeout)
                return False
            time.sleep(0.1)

    def _follow(self) -> bool:
        """Load the index the builder published, if it is new, and swap it in."""
        from .published import NoIndex, manifest_stamp, published_engine

        self.polls += 1
        stamp = manifest_stamp(self._directory)
        if stamp is None or stamp == self._stamp:
            return False
        try:
            t0 = time.perf_counter()
            engine = published_engine(self.folder, self.config)
            self.follows += 1
            self._stamp = stamp   # read before loading: a newer one is loaded next look
            self._files = self._baseline_of(engine)
            old = self.holder.engine
            if (engine.version == getattr(old, "version", None)
                    and engine.corpus.skipped == getattr(old.corpus, "skipped", ())):
                return False
            self.holder.swap(engine)
            self.swaps += 1
            self._last_error = ""
            log.info("corpus %s reloaded from the published index in %.2f s: %s",
                     self.folder, time.perf_counter() - t0, describe_change(old, engine))
            return True
        except NoIndex:
            return False
        except Exception as exc:  # a race with the builder: try again next look
            msg = f"{type(exc).__name__}: {exc}"
            if msg != self._last_error:
                log.warning("could not load the index published in %s (%s); still "
                            "serving the previous one", self._directory, msg)
            self._last_error = msg
            return False

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


def _stamp(path: Path) -> tuple[int, int] | None:
    """Size and modification time of a file (None: there is none)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _build_engine(folder: Path | str, config: dict[str, Any]):
    from .engine import Engine

    return Engine.from_folder(folder, config)


def start_watcher(holder: EngineHolder, folder: Path | str,
                  config: dict[str, Any] | None = None, mode: str = "build") -> Watcher:
    """A started :class:`Watcher` (idle when ``poll_seconds`` is 0)."""
    return Watcher(holder, folder, config, mode=mode).start()


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
        folder = (getattr(report, "folder", None) or getattr(report, "root", None)
                  or settings["corpus"])
        mode = ("follow" if settings.get("read_only")
                else app.extensions.get("askfiles.watch_mode", "build"))
        w = start_watcher(holder, folder, settings, mode)
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
