"""File helpers of the index folder: where it is, durable writes, checksums, the lock.

``_write_bytes`` and ``_write_npy`` are called through the :mod:`askfiles.store`
package (``_store()._write_npy(...)``), so that a test replacing them there
(to kill a build at its Nth write) sees every write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..load import CACHEDIR_SIGNATURE, CACHEDIR_TAG

log = logging.getLogger("askfiles.store")


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a saved index is loaded.

    A load makes some 300,000 long-lived containers at a million passages
    (documents, their records, the live list); as they pile up the collector
    goes over all of them again and again (8 full passes, 0.5 s of a 1.6 s
    load). Reference counting still frees what dies meanwhile; the collector
    is turned back on after (only by the call that turned it off)."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _store():
    """The ``askfiles.store`` package, whose write functions are the ones called."""
    return sys.modules[__package__]


def index_dir(folder: Path | str, cfg: dict[str, Any]) -> Path | None:
    """Where the saved index lives; None when saving is turned off.

    The corpus folder itself cannot be it (the index would hide every document):
    then ``.askfiles/`` inside it is used, with a warning."""
    setting = str(cfg.get("index_dir") or "")
    if setting.lower() in ("off", "none", "-"):
        return None
    if setting and os.path.realpath(setting) == os.path.realpath(folder):
        log.warning("ASKFILES_INDEX_DIR is the corpus folder itself; using %s instead",
                    Path(folder) / ".askfiles")
        setting = ""
    return Path(setting) if setting else Path(folder) / ".askfiles"


def _tag_cache_dir(directory: Path) -> None:
    """Mark the index folder as a cache, so a corpus walk never reads it as documents
    (an index folder inside the corpus under a name without a dot indexed itself)."""
    tag = directory / CACHEDIR_TAG
    if not tag.exists():
        _store()._write_bytes(tag, CACHEDIR_SIGNATURE + b"\n# askfiles saved index: not documents "
                     b"(https://bford.info/cachedir/)\n")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_json(path: Path, obj: Any) -> None:
    _store()._write_bytes(path, json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
                 .encode("utf-8", "surrogatepass"))


def _write_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on the index folder (no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(directory / "lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
