"""The build: the corpus through the saved index, reusing what is unchanged."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import split
from ..config import load_config
from ..index import PassageIndex
from ..load import (Skipped, check_file, check_link, check_name, check_regular, check_root,
                    corpus_files, document_of, read_file, shown_id, skip_reason)
from ..records import Annotation, Document, corpus_version
from .derive import Progress, _annotate_columns, _bm25_of
from .files import _locked, _tag_cache_dir, index_dir
from .layout import IndexDamaged, Saved, _load_saved, _max_chars, _save, signatures
from .scan import _id_of, _skip, file_changed
from .tables import AnnotationTable, PassageTable, _compact_strings, _concat, _empty_arrays, \
    _gather, text_hash

log = logging.getLogger("askfiles.store")


# -- what a build reports ---------------------------------------------------

@dataclass
class BuildReport:
    """What :func:`open_corpus` did: reuse, annotation, skips, timings."""

    documents: int = 0
    passages: int = 0
    files_read: int = 0
    files_reused: int = 0
    files_removed: int = 0
    passages_annotated: int = 0
    passages_reused: int = 0
    skipped: tuple[Skipped, ...] = ()
    seconds: float = 0.0
    index_dir: str | None = None
    root: str | None = None                     # the corpus folder, resolved
    saved: bool = False
    rebuilt: str | None = None                  # why the saved index was not used
    version: str | None = None                  # index_version (records.corpus_version)
    files: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        """Two or three lines for ``askfiles index``."""
        lines = [
            f"{self.documents} documents, {self.passages} passages "
            f"({self.passages_annotated} annotated now, {self.passages_reused} reused); "
            f"files: {self.files_read} read, {self.files_reused} unchanged, "
            f"{self.files_removed} removed, {len(self.skipped)} skipped; "
            f"{self.seconds:.2f} s",
        ]
        if self.index_dir:
            lines.append(f"index: {self.index_dir}"
                         + ("" if self.saved else " (up to date, not rewritten)"))
        else:
            lines.append("index: not saved (ASKFILES_INDEX_DIR=off or not writable)")
        if self.rebuilt:
            lines.append(f"rebuilt: {self.rebuilt}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Built:
    """A corpus ready for the engine, and the report of how it was made."""

    documents: tuple[Document, ...]
    passages: "PassageTable"
    annotations: Sequence[Annotation]
    skipped: tuple[Skipped, ...]
    report: BuildReport
    index: Any = None            # PassageIndex from the saved BM25 (None: no passages)


def open_corpus(folder: Path | str, config: dict[str, Any] | None = None,
                progress: Progress | None = None) -> Built:
    """The corpus under ``folder`` through the saved index: reuse what is unchanged,
    read and annotate the rest, save the result. Never fails because of the index."""
    cfg = load_config(config)
    root = check_root(folder)
    directory = index_dir(root, cfg)
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if not os.access(directory, os.W_OK):
                raise PermissionError(f"{directory} is not writable")
            _tag_cache_dir(directory)
        except OSError as exc:
            log.warning("cannot use index folder %s (%s); the index is kept in "
                        "memory only", directory, exc)
            directory = None
    if directory is None:
        return _build(root, cfg, None, progress)
    with _locked(directory):
        return _build(root, cfg, directory, progress)


def _build(root: Path, cfg: dict[str, Any], directory: Path | None,
           progress: Progress | None) -> Built:
    t0 = time.perf_counter()
    sig = signatures(cfg)
    report = BuildReport(index_dir=str(directory) if directory else None,
                         root=str(root.resolve()))
    old = Saved.empty()
    if directory is not None:
        try:
            old = _load_saved(directory, sig, root)
        except FileNotFoundError:
            report.rebuilt = "no saved index yet"
        except IndexDamaged as exc:
            report.rebuilt = str(exc)
            log.warning("saved index in %s is unusable (%s); rebuilding it", directory, exc)
        except Exception as exc:  # never a crash because of the index
            report.rebuilt = f"{type(exc).__name__}: {exc}"
            log.warning("saved index in %s is unusable (%s); rebuilding it", directory, exc)
    max_bytes = int(float(cfg["max_file_mb"]) * 1024 * 1024)
    split_sig_same = old.manifest.get("split") == sig["split"]

    # 1. Files: reuse unchanged documents, read the rest.
    old_docs = {d["id"]: (i, d) for i, d in enumerate(old.documents)}
    paths = corpus_files(root)
    files: dict[str, dict[str, Any]] = {}
    docs: list[dict[str, Any]] = []          # id, title, text, meta
    doc_rows: list[int | None] = []          # the old document number when reused
    skipped: list[Skipped] = []
    last_tick = time.perf_counter()
    id_of = _id_of(root)
    real_root = str(root.resolve())
    for k, path in enumerate(paths):
        rel = id_of(path)
        now = time.time_ns()
        try:
            check_name(rel)
        except ValueError as exc:   # no id; fingerprinted under the escaped name, so
            shown = shown_id(rel)   # the watcher does not see a change on every poll
            _skip(skipped, shown, skip_reason(exc), seen=old.files)
            with contextlib.suppress(OSError):
                st = path.stat()
                files[shown] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                "checked_ns": now, "skip": skip_reason(exc)}
            continue
        try:
            st = path.stat()
            check_link(path, root)
            check_regular(st.st_mode)
            check_file(path, st.st_size, max_bytes)
        except (OSError, ValueError) as exc:
            _skip(skipped, rel, skip_reason(exc), seen=old.files)
            if not isinstance(exc, OSError):
                files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                              "checked_ns": now, "skip": skip_reason(exc)}
            continue
        entry = dict(old.files[rel]) if isinstance(old.files.get(rel), dict) else None
        if entry is not None and not file_changed(path, entry, st):
            if entry.get("skip") and entry.get("sha256"):  # its content cannot be read
                _skip(skipped, rel, entry["skip"], known=True)
                files[rel] = entry
                report.files_reused += 1
                continue
            if rel in old_docs:
                i, d = old_docs[rel]
                docs.append(d)
                doc_rows.append(i if split_sig_same else None)
                files[rel] = entry
                report.files_reused += 1
                continue
        # Read (the file is new, changed, or its fingerprint could not vouch for it).
        try:
            data = read_file(path, root, max_bytes, real_root)
        except (OSError, ValueError) as exc:
            _skip(skipped, rel, skip_reason(exc), seen=old.files)
            files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                          "checked_ns": now, "skip": skip_reason(exc)}
            continue
        report.files_read += 1
        sha = hashlib.sha256(data).hexdigest()
        entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "checked_ns": now,
                 "sha256": sha}
        old_entry = old.files.get(rel) if isinstance(old.files.get(rel), dict) else None
        if old_entry and old_entry.get("sha256") == sha and rel in old_docs \
                and not old_entry.get("skip"):
            i, d = old_docs[rel]              # touched but identical: reuse as is
            docs.append(d)
            doc_rows.append(i if split_sig_same else None)
            files[rel] = entry
            continue
        try:
            doc = document_of(path, root, data, _max_chars(cfg))
        except (OSError, ValueError) as exc:
            _skip(skipped, rel, skip_reason(exc), seen=old.files)
            files[rel] = {**entry, "skip": skip_reason(exc)}
            continue
        files[rel] = entry
        docs.append({"id": doc.id, "title": doc.title, "text": doc.text, "meta": doc.meta})
        doc_rows.append(None)
        if progress and time.perf_counter() - last_tick > 0.5:
            last_tick = time.perf_counter()
            progress({"phase": "read", "files": k + 1, "total_files": len(paths)})
    report.files_removed = sum(1 for rel in old.files if rel not in files)
    documents = tuple(Document(d["id"], d["title"], d["text"], d["meta"]) for d in docs)

    # 2. Passages: stored offsets for reused documents, split the others.
    #    Columns: document number, start, end, old row (-1: new), order within the document.
    parts: list[np.ndarray] = []
    new_doc_of_old = np.full(len(old.documents), -1, dtype=np.int64)
    for n, i in enumerate(doc_rows):
        if i is not None:
            new_doc_of_old[i] = n
    if len(old.passages) and (new_doc_of_old >= 0).any():
        keep_rows = np.flatnonzero(new_doc_of_old[old.passages[:, 0]] >= 0)
        kept = old.passages[keep_rows]
        parts.append(np.stack([new_doc_of_old[kept[:, 0]], kept[:, 1], kept[:, 2],
                               keep_rows, keep_rows], axis=1))
    split_rows = []
    for n, (doc, rows) in enumerate(zip(documents, doc_rows)):
        if rows is None:
            split_rows.extend((n, p.start, p.end, -1, p.n) for p in split.split_document(doc))
    if split_rows:
        parts.append(np.asarray(split_rows, dtype=np.int64).reshape(-1, 5))
    cols = np.concatenate(parts) if parts else np.zeros((0, 5), dtype=np.int64)
    if len(cols) and not (np.diff(cols[:, 0]) >= 0).all():
        cols = cols[np.lexsort((cols[:, 4], cols[:, 0]))]
    passages = PassageTable(documents, cols[:, 0], cols[:, 1], cols[:, 2])
    prow = passages.rows()
    source = cols[:, 3].copy()                 # old passage row, or -1 for a new passage
    del cols, split_rows, parts

    # 3. Annotations: reuse by passage text, annotate what is new.
    src = source.copy()
    new_idx = np.flatnonzero(src < 0)
    hashes = np.zeros((len(passages), 16), dtype=np.uint8)
    if len(src) and len(new_idx) < len(src):
        hashes[src >= 0] = np.asarray(old.hashes)[src[src >= 0]]
    to_annotate: list[int] = []
    if len(new_idx):
        old_by_hash = {h: r for r, h in enumerate(
            np.ascontiguousarray(old.hashes).view("S16").ravel().tolist())} \
            if len(old.hashes) else {}
        first_new: dict[bytes, int] = {}
        for i in new_idx.tolist():
            h = text_hash(passages.text(i))
            hashes[i] = np.frombuffer(h, dtype=np.uint8)
            r = old_by_hash.get(h)
            if r is not None:
                src[i] = r
            elif h in first_new:       # same text twice among the new ones
                src[i] = -2 - first_new[h]
            else:
                first_new[h] = len(to_annotate)
                to_annotate.append(i)
        del old_by_hash, first_new
    report.passages_annotated = len(to_annotate)
    report.passages_reused = len(passages) - len(to_annotate)

    changed = bool(report.files_read or report.files_removed or len(new_idx)
                   or old.manifest.get("split") != sig["split"]
                   or old.manifest.get("extract") != sig["extract"] or not old.manifest
                   or len(documents) != len(old.documents))
    if changed:
        strings = list(old.strings)
        lookup: dict[str, int] = {}

        def intern(s: str) -> int:
            if not lookup and strings:
                lookup.update((x, i) for i, x in enumerate(strings))
            i = lookup.get(s)
            if i is None:
                i = lookup[s] = len(strings)
                strings.append(s)
            return i

        new_cols = _annotate_columns((passages.text(i) for i in to_annotate),
                                     len(to_annotate), cfg, progress, intern)
        n_old = len(old.arrays["tokens_ptr"]) - 1
        rows = src.copy()
        rows[to_annotate] = n_old + np.arange(len(to_annotate), dtype=np.int64)
        dup = rows <= -2                  # a repeat of a text annotated just now
        rows[dup] = n_old + (-2 - rows[dup])
        n_pool = n_old + len(to_annotate)
        if n_old == 0 and len(rows) == n_pool and np.array_equal(
                rows, np.arange(n_pool, dtype=np.int64)):
            arrays = new_cols             # a first build: the new rows are the table
        else:
            # Rows of the pool (old rows, then the new annotations) in passage order.
            pool = _concat({k: np.asarray(v) for k, v in old.arrays.items()}, new_cols)
            del new_cols
            arrays = _gather(pool, rows.astype(np.int64)) if len(rows) else _empty_arrays()
            del pool
        used = np.zeros(n_pool, dtype=bool)
        used[rows] = True
        if not used.all():                # some old rows are gone: drop their strings
            arrays, strings = _compact_strings(arrays, strings) if len(rows) else (arrays, [])
        passages_arr = prow
    else:
        arrays = {k: v for k, v in old.arrays.items()}
        strings = old.strings
        passages_arr = None

    # 4. BM25: loaded as saved when nothing changed; otherwise rebuilt from the saved
    #    terms of the kept passages and the terms of the new ones.
    threshold = cfg.get("sparse_threshold")
    bm25 = terms_arr = None
    index = None
    if not changed and old.bm25_dir is not None:
        try:
            from ..sparse import SparseBM25

            index = PassageIndex.from_saved(SparseBM25.load(old.bm25_dir, mmap=True),
                                            old.terms, threshold)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("saved BM25 index is unusable (%s); rebuilding it", exc)
    if index is None and len(passages):
        bm25, terms_arr = _bm25_of(passages, source, old)
        index = PassageIndex.from_saved(bm25, terms_arr, threshold)

    # The index version: kept from the manifest when nothing changed, so a
    # start-up from an unchanged index hashes no text.
    version = None if changed else old.manifest.get("index_version")
    if not isinstance(version, str) or not version:
        version = corpus_version(documents)
    report.version = version

    # 5. Save: data files when documents or passages changed, fingerprints when they did.
    files_changed = files != old.files or old.manifest.get("index_version") != version
    rewrite_docs = changed or "texts" not in old.manifest.get("files", {"texts": 1})
    if directory is not None and not documents and old.documents:
        # An emptied corpus (files moved away, a share not mounted) keeps the last
        # index: files that come back are then reused, not read and annotated again.
        log.warning("corpus %s has no documents now; the saved index of %d documents "
                    "is kept for when they come back", root, len(old.documents))
    elif directory is not None and (changed or files_changed or bm25 is not None
                                    or rewrite_docs):
        try:
            entries = _save(directory, sig, root, old,
                            docs if rewrite_docs else None, files,
                            passages_arr, hashes if changed else None,
                            arrays if changed else None, strings if changed else None,
                            bm25, terms_arr, version)
            report.saved = True
            if changed:  # serve the annotations from the saved files, memory-mapped
                arrays = {name: np.load(directory / entries[name]["path"], mmap_mode="r",
                                        allow_pickle=False) for name in arrays}
        except OSError as exc:
            log.warning("could not save the index in %s (%s); it is kept in memory",
                        directory, exc)
    table = AnnotationTable(arrays, strings)
    report.documents, report.passages = len(documents), len(passages)
    report.skipped = tuple(skipped)
    report.files = files
    report.seconds = time.perf_counter() - t0
    log.info("corpus %s: %s", root, report.summary().replace("\n", "; "))
    return Built(documents, passages, table, tuple(skipped), report, index)
