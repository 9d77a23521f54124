"""Corpus folder -> Documents; unsupported or unreadable files are logged and skipped.

Format extraction lives in :mod:`askfiles.formats`; this module walks the
folder, applies the size limit, and turns a file into a :class:`Document`.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath

from . import formats
from .formats import SUPPORTED, TEXT_SUFFIXES, title_of  # noqa: F401  (re-exported)
from .records import SURROGATE, Document, without_surrogates

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


# A folder holding this file is a cache (the saved index writes one), never documents.
# https://bford.info/cachedir/ : backup tools skip such folders too.
CACHEDIR_TAG = "CACHEDIR.TAG"
CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"


def is_cache_dir(path: Path | str) -> bool:
    """Whether ``path`` holds a CACHEDIR.TAG with the standard signature."""
    try:
        with open(os.path.join(path, CACHEDIR_TAG), "rb") as f:
            return f.read(len(CACHEDIR_SIGNATURE)) == CACHEDIR_SIGNATURE
    except OSError:
        return False


# Never documents, so never walked: they would be answered as documents or skipped
# noisily. Editors' backups (``notes.txt~``; ``README~`` would be read as text) and
# autosaves (emacs ``#notes.txt#``), office lock files (``~$report.docx``), the
# files Windows and macOS put in folders, folders of dependencies or bytecode
# (``node_modules`` holds thousands of READMEs and LICENSEs), and the folders a
# drive or a NAS keeps of its own (a Windows recycle bin holds deleted files' text).
_JUNK_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"})
_JUNK_FOLDERS = frozenset({"node_modules", "__pycache__", "$recycle.bin",
                           "system volume information", "@eadir"})


def left_out(name: str, folder: bool = False) -> bool:
    """Whether a file (or ``folder``) of this name is never a document: hidden (a dot
    name), an editor's backup or autosave, an office lock file, a system file."""
    if name.startswith("."):
        return True
    if folder:
        return name.lower() in _JUNK_FOLDERS
    return (name.endswith("~") or name.startswith("~$") or name.lower() in _JUNK_FILES
            or (len(name) > 2 and name[0] == "#" and name[-1] == "#"))


def corpus_files(root: Path) -> list[Path]:
    """All files under ``root``, sorted; dot-files and dot-folders (such as the saved
    index ``.askfiles/``), editors' backups and other names :func:`left_out` says are
    never documents, and cache folders (a CACHEDIR.TAG, as the saved index has
    wherever it lives) are left out; symlinks leaving ``root`` are not followed."""
    return [Path(p) for p in corpus_paths(root)]


# Why a folder's files are not documents, when the user may have meant them to be.
OUTSIDE_FOLDER = ("symlink to a folder outside the corpus folder (not followed; move or "
                  "copy the folder into the corpus to index it)")


def corpus_paths(root: Path, unwalked: list[tuple[str, str]] | None = None) -> list[str]:
    """:func:`corpus_files` as strings (a ``Path`` each costs about 10 us: 1 s at 100k files).

    Folders not walked that a user may have meant to be read (a link out of the
    corpus, a folder without read permission) are added to ``unwalked`` with why."""
    root = root.resolve()
    found: list[str] = []
    seen_dirs: set[str] = set()

    def unreadable(exc: OSError) -> None:
        # (A folder removed since its parent was listed is simply not there.)
        if unwalked is not None and exc.filename and not isinstance(exc, FileNotFoundError) \
                and os.fspath(exc.filename) != str(root):
            unwalked.append((os.fspath(exc.filename),
                             f"folder not readable ({exc.strerror or exc}; not indexed)"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=True):
        try:
            real = os.path.realpath(dirpath)
        except OSError:
            # The folder changed while it was read (Python 3.11's realpath can raise
            # when a link vanishes between its lstat and readlink): skip it this scan.
            dirnames[:] = []
            continue
        # A symlink loop or a link out of the corpus would walk forever or leak files.
        if real in seen_dirs or not _inside(real, root) or \
                (real != str(root) and CACHEDIR_TAG in filenames and is_cache_dir(dirpath)):
            if unwalked is not None and not _inside(real, root):
                unwalked.append((dirpath, OUTSIDE_FOLDER))
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not left_out(d, folder=True))
        top = real == str(root)
        for name in sorted(filenames):
            # The settings file askfiles.toml beside the documents is not one of them.
            if not left_out(name) and not (top and name == "askfiles.toml"):
                found.append(os.path.join(dirpath, name))
    return found


def _inside(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root) + os.sep)


def check_link(path: Path, root: Path) -> None:
    """Raise ``ValueError`` for a symlink whose target lies outside the corpus folder.

    Only for the reason shown: :func:`read_file` checks what it actually opened."""
    if path.is_symlink() and not _inside(os.path.realpath(path), root.resolve()):
        raise ValueError("symlink to a file outside the corpus folder (not followed)")


def broken_link(path: Path | str, exc: OSError) -> str:
    """Why a symlink whose target cannot be opened is skipped, in words."""
    if exc.errno == errno.ELOOP:
        return "symlink loop (the link leads back to itself; not read)"
    if exc.errno == errno.ENOENT:
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"dangling symlink (its target {target!r} does not exist)"
    return skip_reason(exc)


def check_name(ident: str) -> None:
    """Raise ``ValueError`` for a file name that is not valid UTF-8 (it cannot be an id)."""
    try:
        ident.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("file name is not valid UTF-8 (rename the file to index it)") from None


def shown_id(ident: str) -> str:
    """A document id as it can be printed and sent: bytes that are not UTF-8 as ``\\xNN``."""
    return os.fsencode(ident).decode("utf-8", "backslashreplace") \
        if SURROGATE.search(ident) else ident


def check_regular(mode: int) -> None:
    """Raise ``ValueError`` for anything but a regular file (a FIFO would block the reader)."""
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a folder" if stat.S_ISDIR(mode) else "not a file")
        raise ValueError(f"not a regular file ({kind}; not read)")


# Non-blocking: opening a FIFO for reading must not wait for a writer.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0))


def read_file(path: Path, root: Path, max_bytes: int | None = None,
              real_root: str | None = None) -> bytes:
    """The bytes of a regular file inside the corpus folder.

    The file is opened once and the opened descriptor is checked (its real path
    must lie inside ``root``, it must be a regular file, within ``max_bytes``):
    no check-then-open race. A folder swapped for a symlink to elsewhere between
    the walk and the read is refused; a FIFO never blocks (opened non-blocking,
    then refused). ``real_root`` is ``root`` resolved, when the caller has it.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        check_regular(st.st_mode)
        real = _fd_path(fd)
        if real is not None and not _inside(real, Path(real_root or root.resolve())):
            raise ValueError("outside the corpus folder (reached through a symlink; "
                             "not read)")
        check_file(path, st.st_size, max_bytes)
        chunks, total = [], 0
        limit = max_bytes + 1 if max_bytes is not None else None
        while True:
            block = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
            if limit is not None and total >= limit:
                break
        data = b"".join(chunks)
    finally:
        os.close(fd)
    check_file(path, len(data), max_bytes)  # it may have grown since the fstat
    return data


def _fd_path(fd: int) -> str | None:
    """The real path of an open file (None where the system cannot tell)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
    try:  # macOS
        import fcntl

        if hasattr(fcntl, "F_GETPATH"):
            buf = fcntl.fcntl(fd, fcntl.F_GETPATH, b"\0" * 1024)
            return os.fsdecode(buf.rstrip(b"\0"))
    except OSError:
        pass
    return None


def doc_id(path: Path, root: Path) -> str:
    """The document id: the path relative to the corpus folder, with ``/``."""
    return path.relative_to(root.resolve()).as_posix()


def suffix_of(path: Path | str) -> str:
    """``Path(path).suffix`` (without making a ``Path``)."""
    if isinstance(path, PurePath):
        return path.suffix
    name = path.rpartition(os.sep)[2]
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def check_file(path: Path | str, size: int, max_bytes: int | None) -> None:
    """Raise ``ValueError`` for a file skipped without reading it (type, size)."""
    suffix = suffix_of(path)
    if not formats.supported(suffix):
        suffix = suffix.lower()
        raise ValueError(f"unsupported file type {suffix or '(none)'!r} "
                         f"(supported: {', '.join(SUPPORTED)}, or text files without an "
                         "extension)")
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"too large ({size} bytes; limit {max_bytes}, "
                         "raise ASKFILES_MAX_FILE_MB to index it)")


def read_document(path: Path, root: Path, max_bytes: int | None = None
                  ) -> tuple[Document, str]:
    """One supported file as a Document, and the SHA-256 of its bytes.

    Raises ``ValueError`` or ``OSError`` with a readable reason when it cannot.
    """
    check_name(doc_id(path, root))
    check_link(path, root)
    check_file(path, path.stat().st_size, max_bytes)
    data = read_file(path, root, max_bytes)
    return document_of(path, root, data), hashlib.sha256(data).hexdigest()


# Text a document may hold (ASKFILES_MAX_DOC_CHARS overrides); the rest is cut, logged.
MAX_DOC_CHARS = 2_000_000


def document_of(path: Path, root: Path, data: bytes,
                max_chars: int = MAX_DOC_CHARS) -> Document:
    """The Document for a file's bytes (the format chosen by its suffix)."""
    ident = doc_id(path, root)
    check_name(ident)
    suffix = path.suffix.lower()
    ex = formats.extract(suffix, data, max_chars)
    if not ex.text.strip():
        raise ValueError("empty (no text to index)")
    if len(ex.text) > max_chars > 0:
        log.warning("%s: text cut at %d characters (ASKFILES_MAX_DOC_CHARS)",
                    ident, max_chars)
        ex = formats.capped(ex, max_chars)
    # Lone surrogates (a PDF's broken font map) cannot be sent as UTF-8; one
    # character for one keeps every offset.
    text, title = without_surrogates(ex.text), without_surrogates(ex.title)
    meta = {"format": suffix.lstrip(".") or "text", "bytes": len(data), **ex.meta}
    return Document(id=ident, title=title or ident, text=text, meta=meta)


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
        rel = shown_id(doc_id(path, root))
        try:
            docs.append(load_document(path, root, max_bytes))
        except (OSError, ValueError) as exc:
            log.warning("skipped %s: %s", rel, skip_reason(exc))
            skipped.append(Skipped(rel, skip_reason(exc)))
    return docs, skipped


CORPUS_HINT = "pass --corpus DIR or set ASKFILES_CORPUS"


def check_root(root: Path | str, hint: str = CORPUS_HINT) -> Path:
    """The corpus folder as a Path; else ``FileNotFoundError`` saying why it is not one,
    then ``hint`` (how to name another: the command line's, or the Python API's)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {str(root)!r} {_not_a_folder(root)}; {hint}")
    return root


def _not_a_folder(root: Path) -> str:
    """Why ``root`` is no folder: missing (looked for where, when relative), a file, ..."""
    try:
        mode = root.stat().st_mode
    except FileNotFoundError:
        # A relative path is read from the current folder, often not the one meant.
        where = "" if root.is_absolute() else f" (looked for in {os.getcwd()})"
        return ("is a symlink to nothing" if root.is_symlink() else "does not exist") + where
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return f"is a file, not a folder (the folder holding it is {str(root.parent)!r})"
    return "is not a folder"
