"""``askfiles index --watch``: the single builder that keeps a saved index current.

It takes the index folder's builder lease (:class:`askfiles.published.Lease`;
waiting while another builder holds it), brings the index up to the corpus,
then looks at the corpus every ``poll_seconds`` and publishes a new index
whenever a file was added, changed or removed (only those are read and
annotated). Readers -- ``askfiles serve --read-only`` replicas, and the
workers of ``askfiles serve`` -- load each new version from the manifest.

Killed at any moment (SIGKILL included), it leaves the last published index
in place (the manifest is replaced last, atomically) and the lease free.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any, Callable

from .config import load_config
from .load import check_root

log = logging.getLogger(__name__)


def run_builder(config: dict[str, Any] | None = None, say: Callable[[str], None] = print,
                stop: threading.Event | None = None,
                progress: Callable[[], Any] | None = None) -> int:
    """Keep the index of ``config["corpus"]`` current until ``stop`` is set (or SIGTERM,
    SIGINT); the exit status."""
    from .published import Lease
    from .store import corpus_changed, index_dir, open_corpus

    cfg = load_config(config)
    root = check_root(cfg["corpus"])
    directory = index_dir(root, cfg)
    if directory is None:
        raise RuntimeError("askfiles index --watch publishes a saved index for readers; "
                           "ASKFILES_INDEX_DIR is off")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    lease = Lease(directory)
    if not _take(lease, directory, stop, say):
        return 0
    interval = float(cfg.get("poll_seconds") or 0) or 2.0
    try:
        built = _build(root, cfg, open_corpus, progress)
        say(built.report.summary())
        say(f"watching {root} every {interval:g} s; readers follow {directory}/manifest.json")
        files = built.report.files
        del built
        last_error = ""
        gone = False
        while not stop.wait(interval):
            try:
                if not root.is_dir():   # moved, removed, not mounted: readers keep the index
                    if not gone:
                        say(f"corpus folder {root} is gone (moved, removed or not mounted?); "
                            "readers keep the last index; waiting for it to come back")
                    gone = True
                    continue
                if gone:
                    say(f"corpus folder {root} is back")
                    gone = False
                if not lease.current():  # its lock file went with the folder: take it again
                    lease.release()
                    if not _take(lease, directory, stop, say):
                        return 0
                if not corpus_changed(root, files):
                    continue
                built = _build(root, cfg, open_corpus, progress)
                files = built.report.files
                say(time.strftime("%H:%M:%S ") + built.report.summary().replace("\n", "; "))
                del built
                last_error = ""
            except Exception as exc:  # keep the published index; try again next look
                msg = f"{type(exc).__name__}: {exc}"
                if msg != last_error:
                    log.exception("could not update the index of %s; readers keep the "
                                  "previous one", root)
                last_error = msg
    finally:
        lease.release()
    return 0


def _take(lease, directory, stop: threading.Event, say) -> bool:
    """Take the lease, waiting while another builder holds it; False when stopped."""
    if lease.acquire(block=False):
        return True
    say(f"another builder (pid {lease.holder() or '?'}) keeps {directory} current; "
        "waiting until it stops")
    while not stop.is_set() and not lease.acquire(block=False):
        stop.wait(1.0)
    return not stop.is_set()


def _build(root, cfg, open_corpus, progress):
    line = progress() if progress is not None else None
    try:
        return open_corpus(root, cfg, line)
    finally:
        if line is not None:
            line.close()
