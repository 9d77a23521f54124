"""The write API: ``PUT`` and ``DELETE /api/documents/<id>``, only with ``ASKFILES_API_TOKEN``.

A PUT checks the file as the loader would (type, size, readable text), writes
it atomically into the corpus folder (a hidden temporary file, fsync, rename),
rebuilds this process's engine through the saved index and answers once the
document is answerable; a hidden marker file then tells the other server
processes, which rebuild before their next request (and at their next poll).
Every write is logged.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from . import formats, observe
from .api import holder, read_body, settings
from .errors import ApiError, error_response
from .load import left_out

log = logging.getLogger(__name__)

bp = Blueprint("writes", __name__)

MAX_ID_CHARS = 1024
MAX_SEGMENT_BYTES = 255

# Content types and the format (file suffix) they name; text/plain fits any text format.
CONTENT_TYPES = {
    "application/pdf": ".pdf",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/html": ".html",
    "text/x-rst": ".rst",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
TEXT_FORMATS = (".txt", ".md", ".rst", "")
# Types that say nothing about the format (curl --data-binary sends the form type).
NEUTRAL_TYPES = ("application/octet-stream", "application/x-www-form-urlencoded")
_write_lock = threading.Lock()


def _authorize():
    """None when the request may write, else the 403 / 401 error response."""
    token = str(settings().get("api_token") or "")
    if settings().get("read_only"):
        return error_response(
            403, "read_only",
            "This server is a read-only replica: it serves the index its builder "
            "publishes. Write the file into the builder's corpus folder instead.")
    if not token:
        return error_response(
            403, "writes_disabled",
            "Writes through the API are off. Start the server with ASKFILES_API_TOKEN "
            "set to a long random secret, then send Authorization: Bearer <token>.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    ok = hmac.compare_digest(given.strip().encode("utf-8", "replace"),
                             token.encode("utf-8", "replace"))
    if scheme.lower() != "bearer" or not ok:
        return error_response(401, "unauthorized",
                              "Send Authorization: Bearer <token> with the server's "
                              "ASKFILES_API_TOKEN to write documents.",
                              [("WWW-Authenticate", 'Bearer realm="askfiles"')])
    return None


def check_id(doc_id: str) -> list[str]:
    """The id's path segments; 422 for an id that could leave the corpus or be hidden."""
    def bad(why: str) -> ApiError:
        return ApiError(422, "invalid_id", f"This document id cannot be written: {why}.")

    if not doc_id or len(doc_id) > MAX_ID_CHARS:
        raise bad(f"it must have 1 to {MAX_ID_CHARS} characters")
    try:
        doc_id.encode("utf-8")
    except UnicodeEncodeError:
        raise bad("it is not valid Unicode") from None
    if any(ord(c) < 32 or c == "\x7f" for c in doc_id) or "\\" in doc_id:
        raise bad("it holds control characters or a backslash")
    parts = doc_id.split("/")
    for k, part in enumerate(parts):
        if part in ("", ".", ".."):
            raise bad("it must be a relative path without empty, '.' or '..' parts")
        if part.startswith("."):
            raise bad("names starting with '.' are hidden and never indexed")
        if left_out(part, folder=k < len(parts) - 1):
            raise bad(f"{part!r} is an editor's backup, a lock or system file or a "
                      "dependency folder, never indexed")
        if len(part.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise bad(f"a name is longer than {MAX_SEGMENT_BYTES} bytes")
    if ":" in parts[0] and os.name == "nt":  # pragma: no cover - drive letters
        raise bad("it names a drive")
    return parts


def corpus_root(engine: Any, config: dict[str, Any] | None = None) -> Path:
    """The corpus folder the engine was built from."""
    report = getattr(engine.corpus, "report", None)
    return Path(getattr(report, "root", None)
                or (config if config is not None else settings())["corpus"]).resolve()


def _target(root: Path, parts: list[str]) -> Path:
    """The file's path; 422 when a folder on the way is a link out of the corpus."""
    path = root.joinpath(*parts)
    probe = path.parent
    while not probe.exists() and probe != root:
        probe = probe.parent
    real = Path(os.path.realpath(probe))
    if real != root and root not in real.parents:
        raise ApiError(422, "invalid_id",
                       "This document id cannot be written: a folder on its path "
                       "leads out of the corpus.")
    if path.is_dir() and not path.is_symlink():
        raise ApiError(422, "invalid_id", "This document id names a folder.")
    if not real.is_dir():   # ("notes.txt/file": a file stands where a folder would go)
        shown = probe.relative_to(root).as_posix()
        raise ApiError(422, "invalid_id",
                       f"This document id cannot be written: {shown!r} is a file, not a "
                       "folder; choose an id whose folders are not documents.")
    return path


def _remove_empty_folders(root: Path, folder: Path) -> None:
    """Folders left empty by a deletion, up to (not including) the corpus folder."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()      # only if empty
        except OSError:
            return
        folder = folder.parent


def _format(doc_id: str) -> str:
    """The file format (its suffix) from the id and the Content-Type; 415 when unsupported."""
    suffix = PurePosixPath(doc_id).suffix.lower()
    if suffix and not formats.supported(suffix):
        raise ApiError(415, "unsupported_media_type",
                       f"Files of type {suffix!r} are not indexed "
                       f"(supported: {', '.join(formats.SUPPORTED)}, or no extension "
                       "for plain text).")
    mime = request.mimetype or ""
    if mime in NEUTRAL_TYPES:
        mime = ""
    named = CONTENT_TYPES.get(mime)
    if mime and mime != "text/plain" and named is None:
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type {mime} is not a supported document type.")
    if mime == "text/plain" and suffix not in TEXT_FORMATS:
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type text/plain does not fit a {suffix} file.")
    if named is not None and named != suffix:
        if suffix:
            raise ApiError(415, "unsupported_media_type",
                           f"Content-Type {mime} does not fit a {suffix} file; "
                           "the id's extension gives the format.")
        raise ApiError(415, "unsupported_media_type",
                       f"Give the id the extension {named} for a {mime} file "
                       "(an id without extension is plain text).")
    return suffix


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a hidden temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name[:100]}.{uuid.uuid4().hex}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


MARKER = ".askfiles-writes"   # touched after every write; hidden, so never a document


def _marker_state(root: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(root / MARKER)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino


def _announce(root: Path) -> None:
    """Tell the other server processes that the corpus was written (they catch up)."""
    tmp = root / f"{MARKER}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(uuid.uuid4().hex)
    os.replace(tmp, root / MARKER)


def catch_up(app) -> None:
    """Before a request: when another process wrote the corpus since this one last
    looked, rebuild now, so a document PUT through one worker is answerable through
    every worker as soon as the PUT returns (one stat per request, writes on only)."""
    h = app.extensions.get("askfiles")
    if h is None:
        return
    root = corpus_root(h.engine)
    state = _marker_state(root)
    if app.extensions.get("askfiles.writes_seen", state) == state:
        return
    with _write_lock:   # other threads wait here until the rebuild is in
        if app.extensions.get("askfiles.writes_seen") != state:  # not done meanwhile
            try:
                refresh(app, root)
            except Exception:  # keep serving the engine we have; the poll retries
                log.exception("could not catch up with a write to %s", root)
            app.extensions["askfiles.writes_seen"] = state


@bp.record_once
def _remember_marker(setup) -> None:
    """The write marker as of the engine the app starts with (before workers fork)."""
    app = setup.app
    h = app.extensions.get("askfiles")
    config = app.config.get("ASKFILES") or {}
    if h is not None and config.get("api_token"):
        app.extensions["askfiles.writes_seen"] = _marker_state(corpus_root(h.engine, config))


def refresh(app, root: Path):
    """Rebuild this process's engine now (through the watcher when there is one)."""
    from .watch import ensure_watcher

    h = app.extensions["askfiles"]
    watcher = ensure_watcher(app)
    if watcher is not None:
        watcher.settle()   # a follower waits for the builder to publish the change
        return h.engine
    from .engine import Engine

    old = h.engine
    engine = Engine.from_folder(root, {**app.config["ASKFILES"], "corpus": str(root)})
    h.swap(engine)
    log.info("corpus %s reloaded: %s", root, observe.describe_change(old, engine))
    return engine


@bp.before_app_request
def _catch_up():
    if settings().get("api_token") and not settings().get("read_only"):
        catch_up(current_app._get_current_object())


@bp.route("/api/documents/<path:doc_id>", methods=["PUT", "DELETE"])
def write(doc_id: str):
    denied = _authorize()
    if denied is not None:
        return denied
    app = current_app._get_current_object()
    engine = holder().engine
    parts = check_id(doc_id)
    root = corpus_root(engine)
    who = request.remote_addr or "-"
    if request.method == "DELETE":
        with _write_lock:
            path = _target(root, parts)
            # A document, or a file of a format PUT writes that the index skipped (so a
            # PUT answered "written but not indexed" can be undone); never another
            # file: askfiles.toml, pictures or data kept beside the documents.
            skipped = {s.path for s in getattr(engine.corpus, "skipped", ())}
            suffix = PurePosixPath(doc_id).suffix.lower()
            writable = not suffix or formats.supported(suffix)
            if doc_id not in engine.documents and not (
                    doc_id in skipped and writable and path.is_file()):
                raise ApiError(404, "not_found", "No document has this id.")
            path.unlink(missing_ok=True)
            _remove_empty_folders(root, path.parent)
            engine = refresh(app, root)
            _announce(root)
            app.extensions["askfiles.writes_seen"] = _marker_state(root)
        observe.metrics().writes.labels("DELETE").inc()
        log.info("DELETE %s by %s: removed; index %s", doc_id, who, engine.version)
        return "", 204
    suffix = _format(doc_id)
    request.max_content_length = int(float(settings()["max_file_mb"]) * 1024 * 1024)
    data = read_body()
    try:
        # Stops early on a huge HTML/PDF as the loader does (ASKFILES_MAX_DOC_CHARS).
        extracted = formats.extract(suffix, data, int(settings().get("max_doc_chars") or 0))
        if not extracted.text.strip():
            raise ValueError("empty (no text to index)")
    except ValueError as exc:
        raise ApiError(422, "unreadable_document",
                       f"The file cannot be indexed: {exc}.") from None
    with _write_lock:
        path = _target(root, parts)
        existed = path.exists()
        _write_atomically(path, data)
        engine = refresh(app, root)
        _announce(root)
        app.extensions["askfiles.writes_seen"] = _marker_state(root)
    if doc_id not in engine.documents:
        skipped = next((s.reason for s in engine.corpus.skipped if s.path == doc_id),
                       "not indexed")
        raise ApiError(422, "unreadable_document", f"The file was written but {skipped}.")
    observe.metrics().writes.labels("PUT").inc()
    log.info("PUT %s by %s: %s, %d bytes; index %s", doc_id, who,
             "replaced" if existed else "created", len(data), engine.version)
    return jsonify({"id": doc_id, "index_version": engine.version}), (200 if existed else 201)
