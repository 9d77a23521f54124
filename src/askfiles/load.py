"""Corpus folder -> Documents; unsupported or unreadable files are logged and skipped.

Format extraction lives in :mod:`askfiles.formats`; this module walks the
folder, applies the size limit, and turns a file into a :class:`Document`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from . import formats
from .formats import SUPPORTED, TEXT_SUFFIXES, title_of  # noqa: F401  (re-exported)
from .records import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


def corpus_files(root: Path) -> list[Path]:
    """All regular files under ``root``, sorted; dot-files and dot-folders (such as
    the saved index ``.askfiles/``) are left out; symlinks leaving ``root`` are not followed."""
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
        top = real == str(root)
        for name in sorted(filenames):
            # The settings file askfiles.toml beside the documents is not one of them.
            if not name.startswith(".") and not (top and name == "askfiles.toml"):
                found.append(Path(dirpath) / name)
    return found


def _inside(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root) + os.sep)


def check_link(path: Path, root: Path) -> None:
    """Raise ``ValueError`` for a symlink whose target lies outside the corpus folder."""
    if path.is_symlink() and not _inside(os.path.realpath(path), root.resolve()):
        raise ValueError("symlink to a file outside the corpus folder (not followed)")


def doc_id(path: Path, root: Path) -> str:
    """The document id: the path relative to the corpus folder, with ``/``."""
    return path.relative_to(root.resolve()).as_posix()


def check_file(path: Path, size: int, max_bytes: int | None) -> None:
    """Raise ``ValueError`` for a file skipped without reading it (type, size)."""
    if not formats.supported(path.suffix):
        suffix = path.suffix.lower()
        raise ValueError(f"unsupported file type {suffix or '(none)'!r} "
                         f"(supported: {', '.join(SUPPORTED)})")
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"too large ({size} bytes; limit {max_bytes}, "
                         "raise ASKFILES_MAX_FILE_MB to index it)")


def read_document(path: Path, root: Path, max_bytes: int | None = None
                  ) -> tuple[Document, str]:
    """One supported file as a Document, and the SHA-256 of its bytes.

    Raises ``ValueError`` or ``OSError`` with a readable reason when it cannot.
    """
    check_link(path, root)
    check_file(path, path.stat().st_size, max_bytes)
    data = path.read_bytes()
    check_file(path, len(data), max_bytes)  # it may have grown since the stat
    return document_of(path, root, data), hashlib.sha256(data).hexdigest()


def document_of(path: Path, root: Path, data: bytes) -> Document:
    """The Document for a file's bytes (the format chosen by its suffix)."""
    ident = doc_id(path, root)
    suffix = path.suffix.lower()
    ex = formats.extract(suffix, data)
    if not ex.text.strip():
        raise ValueError("empty (no text to index)")
    meta = {"format": suffix.lstrip(".") or "text", "bytes": len(data), **ex.meta}
    return Document(id=ident, title=ex.title or ident, text=ex.text, meta=meta)


def load_document(path: Path, root: Path, max_bytes: int | None = None) -> Document:
    """Read one supported file; raises ``ValueError`` or ``OSError`` when it cannot."""
    return read_document(path, root, max_bytes)[0]


def skip_reason(exc: BaseException) -> str:
    """A one-line reason for a file that could not be read."""
    if isinstance(exc, OSError):
        return f"unreadable ({exc.strerror or exc})"
    return str(exc)


def load_corpus(root: Path | str, max_bytes: int | None = None
                ) -> tuple[list[Document], list[Skipped]]:
    """Every readable document under ``root`` and the files that were skipped.

    Reads every file; :mod:`askfiles.store` does the same but reuses a saved index.
    """
    root = check_root(root)
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in corpus_files(root):
        rel = doc_id(path, root)
        try:
            docs.append(load_document(path, root, max_bytes))
        except (OSError, ValueError) as exc:
            log.warning("skipped %s: %s", rel, skip_reason(exc))
            skipped.append(Skipped(rel, skip_reason(exc)))
    return docs, skipped


def check_root(root: Path | str) -> Path:
    """The corpus folder as a Path; a clear error when it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"corpus folder {str(root)!r} does not exist or is not a folder; "
            "pass --corpus DIR or set ASKFILES_CORPUS")
    return root
