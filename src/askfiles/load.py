"""Corpus folder -> Documents; unsupported or unreadable files are logged and skipped."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .records import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


def corpus_files(root: Path) -> list[Path]:
    """All regular files under ``root``, sorted; symlinks leaving ``root`` are not followed."""
    root = root.resolve()
    found: list[Path] = []
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        # A symlink loop or a link out of the corpus would walk forever or leak files.
        if real in seen_dirs or not _inside(real, root):
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                found.append(Path(dirpath) / name)
    return found


def _inside(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root) + os.sep)


def doc_id(path: Path, root: Path) -> str:
    """The document id: the path relative to the corpus folder, with ``/``."""
    return path.relative_to(root.resolve()).as_posix()


def title_of(text: str, fallback: str) -> str:
    """First Markdown heading, else the first non-empty line, else ``fallback``."""
    for line in text.splitlines():
        m = re.match(r"\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m and m.group(1):
            return m.group(1)[:200]
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return fallback


def read_text_file(path: Path) -> str:
    """The file decoded as UTF-8, unchanged (so offsets index the file)."""
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ValueError("looks binary (NUL bytes)")
    return data.decode("utf-8")


def load_document(path: Path, root: Path, max_bytes: int | None = None) -> Document:
    """Read one supported file; raises ``ValueError`` or ``OSError`` when it cannot."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        raise ValueError(f"unsupported file type {suffix or '(none)'!r}")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"too large ({size} bytes; limit {max_bytes}, "
                         "raise ASKFILES_MAX_FILE_MB to index it)")
    ident = doc_id(path, root)
    text = read_text_file(path)
    return Document(id=ident, title=title_of(text, ident), text=text,
                    meta={"format": suffix.lstrip("."), "bytes": size})


def load_corpus(root: Path | str, max_bytes: int | None = None
                ) -> tuple[list[Document], list[Skipped]]:
    """Every readable document under ``root`` and the files that were skipped."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"corpus folder {str(root)!r} does not exist or is not a folder; "
            "pass --corpus DIR or set ASKFILES_CORPUS")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in corpus_files(root):
        rel = doc_id(path, root)
        try:
            docs.append(load_document(path, root, max_bytes))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
            if isinstance(exc, UnicodeDecodeError):
                reason = f"not valid UTF-8 ({reason} at byte {exc.start})"
            log.warning("skipped %s: %s", rel, reason)
            skipped.append(Skipped(rel, reason))
    return docs, skipped
