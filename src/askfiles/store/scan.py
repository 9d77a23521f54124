"""Scanning the corpus folder against the saved fingerprints (size, mtime, sha256)."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

from ..load import Skipped, check_regular, corpus_paths, doc_id, shown_id

log = logging.getLogger("askfiles.store")

RACY_NS = 2_000_000_000          # mtimes this close to a check are re-hashed


def _id_of(root: Path) -> Callable[[Path], str]:
    """``load.doc_id`` with the root resolved once (not once per file: 9 s at 100k files)."""
    base = str(root.resolve()) + os.sep

    def id_of(path: Path | str) -> str:
        s = str(path)
        if s.startswith(base):
            return s[len(base):].replace(os.sep, "/")
        return doc_id(Path(s), root)

    return id_of


def _racy(entry: dict[str, Any]) -> bool:
    return entry.get("mtime_ns", 0) >= entry.get("checked_ns", 0) - RACY_NS


def file_changed(path: Path | str, entry: dict[str, Any] | None, st: os.stat_result) -> bool:
    """Whether a file may differ from its fingerprint (hashes it if the mtime is racy).

    Updates ``entry["checked_ns"]`` when a racy file turns out unchanged.
    """
    if entry is None or entry.get("link") or entry.get("size") != st.st_size or \
            entry.get("mtime_ns") != st.st_mtime_ns:   # ("link": it was broken, now opens)
        return True
    if entry.get("ctime_ns", st.st_ctime_ns) != st.st_ctime_ns:   # could not be read:
        return True                                  # its permissions may have changed
    if _racy(entry) and entry.get("sha256"):
        now = time.time_ns()
        try:
            if _sha256_of(path) != entry["sha256"]:
                return True
        except (OSError, ValueError):
            return True
        entry["checked_ns"] = now
    return False


def _sha256_of(path: Path | str) -> str:
    """SHA-256 of a regular file's bytes (a FIFO put in its place is refused, not waited on)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb") as f:
        check_regular(os.fstat(fd).st_mode)
        h = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def corpus_changed(folder: Path | str, files: dict[str, dict[str, Any]]) -> bool:
    """Whether any file under ``folder`` was added, removed or changed since ``files``."""
    root = Path(folder)
    seen = 0
    id_of = _id_of(root)
    # Paths as strings: a Path object per file made a watcher's look at 100k files
    # take 1.05 s of CPU (half a core at the 2 s poll).
    unwalked: list[tuple[str, str]] = []
    for path in corpus_paths(root, unwalked):
        rel = shown_id(id_of(path))
        try:
            st = os.stat(path)
        except OSError:
            entry = files.get(rel)
            if entry is None:   # a new broken link is a change; a file gone since the
                if os.path.islink(path):   # walk, or one we may not look at, is not
                    return True
                continue
            if not _same_broken_link(path, entry):
                return True
            seen += 1
            continue
        seen += 1
        if file_changed(path, files.get(rel), st):
            return True
    for path, reason in unwalked:     # a folder not walked, fingerprinted as "folder/"
        entry = files.get(shown_id(id_of(path)) + "/")
        if not isinstance(entry, dict) or entry.get("skip") != reason:
            return True
        seen += 1
    return seen != len(files)


def _same_broken_link(path: str, entry: dict[str, Any]) -> bool:
    """Whether a path that cannot be opened is the broken symlink fingerprinted as
    ``entry`` (False: it was a file, or is gone since the walk)."""
    if not entry.get("link"):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns


def _skip(skipped: list[Skipped], rel: str, reason: str, known: bool = False,
          seen: dict[str, Any] | None = None) -> None:
    # Warned once per file: a skip the saved index already records (by this or
    # another server process) is logged at INFO.
    entry = (seen or {}).get(rel)
    known = known or (isinstance(entry, dict) and entry.get("skip") == reason)
    log.log(logging.INFO if known else logging.WARNING, "skipped %s: %s", rel, reason)
    skipped.append(Skipped(rel, reason))
