"""The index as published by its builder: read-only loading and the builder lease.

One process keeps an index current (``askfiles index --watch``, or one worker
of ``askfiles serve``): it holds the *builder lease*, an exclusive ``flock`` on
``builder.lock`` in the index folder, for as long as it lives. Every other
process is a reader: it loads the saved index exactly as the last manifest
describes it (:func:`load_published`), never scanning the corpus, reading a
file, annotating or writing anything, and loads it again when the manifest
changes (:func:`manifest_stamp`).

A manifest is replaced atomically and names only files of complete
generations, so a reader sees the previous version or the next one, never a
half-written one; a reader that loses a race with the builder removing an old
generation gets :class:`~askfiles.store.IndexDamaged` and tries again on its
next look.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from .config import load_config
from .load import Skipped

LEASE = "builder.lock"


class NoIndex(RuntimeError):
    """No saved index has been published yet (or saving is off)."""


def published_dir(folder: Path | str, config: dict[str, Any] | None = None) -> Path:
    """The index folder a reader loads from (``ASKFILES_INDEX_DIR``, else ``<corpus>/.askfiles``)."""
    from .store import index_dir

    cfg = load_config(config)
    directory = index_dir(Path(folder), cfg)
    if directory is None:
        raise NoIndex("a read-only server needs a saved index; ASKFILES_INDEX_DIR is off")
    return directory


def manifest_stamp(directory: Path) -> tuple[int, int, int] | None:
    """Identity of the current manifest (inode, size, mtime): changes with every publication."""
    try:
        st = (directory / "manifest.json").stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def load_published(folder: Path | str, config: dict[str, Any] | None = None):
    """The index the manifest in the index folder describes, as a ``store.Built``.

    Reads the manifest and the data files it names and nothing else: no corpus
    walk, no lock, no write, no spaCy. Raises :class:`NoIndex` when none is
    published yet and ``store.IndexDamaged`` when it cannot be used (a race
    with the builder, or an index made by another askfiles or spaCy pipeline).
    """
    import time

    from . import store

    t0 = time.perf_counter()
    cfg = load_config(config)
    directory = published_dir(folder, cfg)
    root = Path(folder)
    try:
        saved = store._load_saved(directory, store.signatures(cfg), root, replica=True)
    except FileNotFoundError:
        raise NoIndex(f"no index published in {directory} yet "
                      "(start `askfiles index --watch` for this corpus)") from None
    view = saved.view
    documents, passages, table = view.documents, view.passages, view.annotations
    index = view.index(cfg.get("sparse_threshold"))
    files = saved.files
    skipped = tuple(Skipped(rel, e["skip"]) for rel, e in  # (sorted after the filter)
                    sorted((rel, e) for rel, e in files.items()
                           if isinstance(e, dict) and e.get("skip")))
    report = store.BuildReport(
        documents=len(documents), passages=len(passages), files_reused=len(files),
        passages_reused=len(passages), skipped=skipped, index_dir=str(directory),
        root=str(root.resolve()), folder=os.path.abspath(root), files=files,
        version=(saved.manifest.get("index_version")
                 if isinstance(saved.manifest.get("index_version"), str) else None),
        seconds=time.perf_counter() - t0)
    return store.Built(documents, passages, table, skipped, report, index)


def published_engine(folder: Path | str, config: dict[str, Any] | None = None):
    """An :class:`~askfiles.engine.Engine` over the published index (see :func:`load_published`)."""
    from .engine import Corpus, Engine

    cfg = load_config(config)
    built = load_published(folder, cfg)
    return Engine(Corpus(built.documents, built.passages, built.annotations, built.skipped,
                         built.report, built.index), cfg)


def wait_for_engine(folder: Path | str, config: dict[str, Any] | None = None,
                    timeout: float | None = None, say=None):
    """:func:`published_engine`, waiting (polling) until a usable index is published."""
    import time

    from .store import IndexDamaged

    deadline = None if timeout is None else time.monotonic() + timeout
    told = ""
    while True:
        try:
            return published_engine(folder, config)
        except (NoIndex, IndexDamaged) as exc:
            if deadline is not None and time.monotonic() > deadline:
                raise
            if say is not None and str(exc) != told:
                say(f"waiting for the builder: {exc}")
            told = str(exc)
            time.sleep(0.5)


class Lease:
    """The builder lease on one index folder: held by at most one process at a time.

    ``flock`` on an open file: released by the kernel when the holder dies, so a
    killed builder never leaves it taken. The holder's pid is written in it
    (for messages only). Not inherited by processes started with ``close_fds``
    (the default of ``subprocess``).
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def current(self) -> bool:
        """Whether the lock file held is still the one at its path.

        A corpus folder moved away (or removed, or replaced by a copy) under a
        running builder takes the lock file with it: the lease then excludes no
        one, and another process taking the lock file now there builds too."""
        if self.fd is None or self.fd < 0:
            return self.fd is not None
        try:
            held, there = os.fstat(self.fd), os.stat(self.directory / LEASE)
        except OSError:
            return False
        return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)

    def acquire(self, block: bool = False) -> bool:
        """Take the lease; False when another process holds it (``block``: wait for it)."""
        if self.fd is not None:
            return True
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: every process may build
            self.fd = -1
            return True
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / LEASE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except OSError:
            os.close(fd)
            return False
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return True

    def holder(self) -> str:
        """The pid written by the process holding the lease (or by the last one)."""
        try:
            return (self.directory / LEASE).read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self.fd is not None and self.fd >= 0:
            os.close(self.fd)
        self.fd = None
