"""The build: the corpus through the saved index; what changed goes into new segments."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import split
from ..config import load_config
from ..load import (Skipped, broken_link, check_file, check_link, check_name, check_regular,
                    check_root, corpus_paths, document_of, read_file, shown_id, skip_reason)
from ..records import Annotation, Document
from . import derive
from .derive import Progress, SegmentWriter
from .files import _locked, _tag_cache_dir, index_dir
from .layout import (IndexDamaged, Saved, _load_saved, _max_chars, cleanup, publish,
                     signatures, write_state)
from .merge import merge
from .scan import _id_of, _skip, file_changed
from .tables import PassageTable
from .view import View

log = logging.getLogger("askfiles.store")


# A few files hashed again only because their mtime was too close to their last
# check ('racy'), and found unchanged, do not make a new index version: the state
# (files.json: 18 MB at 100,000 files) is not rewritten for their new check time
# alone, and the next start hashes them once more (a build soon after an edit).
RECHECK_MAX_FILES = 64
RECHECK_MAX_BYTES = 16 << 20


def _same_files(files: dict[str, Any], old: dict[str, Any],
                rehashed: list[tuple[str, int]]) -> bool:
    """Whether ``files`` equals ``old`` but for the check time of a few ``rehashed`` files."""
    if files == old:
        return True
    if not rehashed or len(rehashed) > RECHECK_MAX_FILES or \
            sum(size for _, size in rehashed) > RECHECK_MAX_BYTES:
        return False
    return {**files, **{rel: old[rel] for rel, _ in rehashed}} == old


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
    # ... and as given, absolute but not resolved: a corpus path that is a symlink
    # switched to another folder (ln -sfn v2 current) is looked at where it leads now.
    folder: str | None = None
    saved: bool = False
    rebuilt: str | None = None                  # why the saved index was not used
    moved_from: str | None = None               # the corpus the saved index was built for
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
        if self.moved_from:
            lines.append(f"moved: the index was built for {self.moved_from}; files were "
                         "compared by content, and unchanged ones reused")
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
                         root=str(root.resolve()), folder=os.path.abspath(root))
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
        if old.moved_from is not None:
            report.moved_from = old.moved_from
            log.warning("saved index in %s was built for corpus %r, not %s (moved or "
                        "copied?); comparing its files by content", directory,
                        old.moved_from, str(root.resolve()))
        with contextlib.suppress(OSError):  # what a build killed before its manifest left
            cleanup(directory, old.manifest)
    max_bytes = int(float(cfg["max_file_mb"]) * 1024 * 1024)
    split_sig_same = old.manifest.get("split") == sig["split"]
    writer = SegmentWriter(old.segments, old.strings, old.vocab, cfg, progress, directory)

    # 1. Files: unchanged documents stay where they are, the rest go to new segments.
    view = old.view
    old_docs = {d.id: i for i, d in enumerate(view.documents)}
    unwalked: list[tuple[str, str]] = []
    paths = corpus_paths(root, unwalked)   # strings: a Path is made only for a file read
    files: dict[str, dict[str, Any]] = {}
    # The live documents in corpus order, as ints (not a tuple each): i >= 0 is row i
    # of the old live list, -1 - j the j-th new document, at new_live[j].
    order: list[int] = []
    new_live: list[tuple[int, int]] = []     # (segment, local document) of new documents
    pending: list[dict[str, Any]] = []
    pending_passages = 0
    skipped: list[Skipped] = []
    last_tick = time.perf_counter()
    id_of = _id_of(root)
    real_root = str(root.resolve())

    def keep(i: int) -> None:
        if split_sig_same:
            order.append(i)
        else:  # split differently now: into a new segment, text as saved
            d = view.documents[i]
            add({"id": d.id, "title": d.title, "text": d.text, "meta": d.meta})

    def add(doc: dict[str, Any]) -> None:
        nonlocal pending_passages
        if not new_live and cfg.get("cluster"):  # started while the walk goes on
            from .. import cluster

            cluster.warm_up(str(cfg["cluster"]), cfg.get("spacy_model", ""))
        order.append(-1 - len(new_live))
        new_live.append((len(writer.sources), len(pending)))
        doc["passages"] = [(p.start, p.end) for p in split.split_document(
            Document(doc["id"], doc["title"], doc["text"], doc["meta"]))]
        pending.append(doc)
        pending_passages += len(doc["passages"])
        if pending_passages >= derive.SEGMENT_PASSAGES:
            flush()

    def flush() -> None:
        nonlocal pending_passages
        if pending:
            writer.add(pending)
            pending.clear()
            pending_passages = 0

    old_files = old.files
    rehashed: list[tuple[str, int]] = []
    listed: set[str] | None = None         # the paths, made a set at the first link met
    for k, path in enumerate(paths):
        rel = id_of(path)
        now = time.time_ns()
        try:
            check_name(rel)
        except ValueError as exc:   # no id; fingerprinted under the escaped name, so
            shown = shown_id(rel)   # the watcher does not see a change on every poll
            _skip(skipped, shown, skip_reason(exc), seen=old.files)
            with contextlib.suppress(OSError):
                st = os.stat(path)
                files[shown] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                "checked_ns": now, "skip": skip_reason(exc)}
            continue
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):   # (one system call for a plain file, not two)
                try:
                    st = os.stat(path)
                except OSError as exc:     # dangling or a loop: fingerprinted as a link,
                    reason = broken_link(path, exc)   # so every reader lists it, and it
                    _skip(skipped, rel, reason, seen=old.files)   # is warned about once
                    files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                  "checked_ns": now, "skip": reason, "link": True}
                    continue
                check_link(Path(path), root)
                # A link to a document the walk lists too would answer everything twice
                # (the link's name cited first); a folder link is walked once likewise.
                if listed is None:
                    listed = set(paths)
                twin = os.path.realpath(path)
                if twin != path and twin in listed:
                    raise ValueError(f"symlink to {id_of(twin)}, indexed under that name")
            check_regular(st.st_mode)
            check_file(path, st.st_size, max_bytes)
        # Removed since the walk (an editor's temporary file; a file deleted during a
        # long build): not there any more, so neither skipped nor warned about.
        except FileNotFoundError:
            log.debug("%s: gone since the walk", rel)
            continue
        except (OSError, ValueError) as exc:
            _skip(skipped, rel, skip_reason(exc), seen=old.files)
            if not isinstance(exc, OSError):
                files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                              "checked_ns": now, "skip": skip_reason(exc)}
            continue
        entry = old_files.get(rel)
        entry = dict(entry) if isinstance(entry, dict) else None
        if entry is not None and not file_changed(path, entry, st):
            if entry.get("checked_ns") != old_files[rel].get("checked_ns"):
                rehashed.append((rel, st.st_size))   # racy, hashed again: unchanged
            if entry.get("skip") and entry.get("sha256"):  # its content cannot be read
                _skip(skipped, rel, entry["skip"], known=True)
                files[rel] = entry
                report.files_reused += 1
                continue
            if rel in old_docs:
                keep(old_docs[rel])
                files[rel] = entry
                report.files_reused += 1
                continue
        # Read (the file is new, changed, or its fingerprint could not vouch for it).
        try:
            data = read_file(Path(path), root, max_bytes, real_root)
        except FileNotFoundError:
            log.debug("%s: gone since the walk", rel)
            continue
        except (OSError, ValueError) as exc:
            _skip(skipped, rel, skip_reason(exc), seen=old.files)
            # chmod, chown or setfacl change the ctime, not the size or mtime: a file
            # made readable again is noticed by its ctime.
            files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                          "ctime_ns": st.st_ctime_ns, "checked_ns": now,
                          "skip": skip_reason(exc)}
            continue
        report.files_read += 1
        sha = hashlib.sha256(data).hexdigest()
        entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "checked_ns": now,
                 "sha256": sha}
        old_entry = old.files.get(rel) if isinstance(old.files.get(rel), dict) else None
        if old_entry and old_entry.get("sha256") == sha and rel in old_docs \
                and not old_entry.get("skip"):
            keep(old_docs[rel])               # touched but identical: reuse as is
            files[rel] = entry
            continue
        try:
            doc = document_of(Path(path), root, data, _max_chars(cfg))
        except (OSError, ValueError) as exc:
            _skip(skipped, rel, skip_reason(exc), seen=old.files)
            files[rel] = {**entry, "skip": skip_reason(exc)}
            continue
        del data
        files[rel] = entry
        add({"id": doc.id, "title": doc.title, "text": doc.text, "meta": doc.meta})
        if progress and time.perf_counter() - last_tick > 0.5:
            last_tick = time.perf_counter()
            progress({"phase": "read", "files": k + 1, "total_files": len(paths)})
    flush()
    for path, reason in unwalked:   # listed and fingerprinted as "folder/", so that every
        rel = shown_id(id_of(path)) + "/"   # reader lists it and it is warned about once
        _skip(skipped, rel, reason, seen=old.files)
        files[rel] = {"checked_ns": time.time_ns(), "skip": reason, "folder": True}
    report.files_removed = sum(1 for rel, e in old.files.items() if rel not in files
                               and not (isinstance(e, dict) and e.get("folder")))
    at = np.asarray(order, dtype=np.int64)
    live_arr = np.zeros((len(at), 2), dtype=np.int64)
    kept = at >= 0
    live_arr[kept] = view.live[at[kept]]
    live_arr[~kept] = np.asarray(new_live, dtype=np.int64).reshape(-1, 2)[-1 - at[~kept]]
    changed = bool(writer.new) or not old.manifest or not np.array_equal(live_arr, view.live)

    # 2. Segments no live document is in any more are dropped.
    used = np.unique(live_arr[:, 0]).tolist()
    segments = [writer.sources[k] for k in used]
    remap = np.full(len(writer.sources) + 1, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    live_arr[:, 0] = remap[live_arr[:, 0]]
    if changed or len(segments) != len(view.segments):   # (unchanged: the loaded view)
        view = View(segments, live_arr, writer.strings, writer.vocab)
    documents = view.documents
    report.passages_annotated = writer.annotated
    report.passages_reused = len(view.passages) - writer.annotated
    version = None if changed else old.manifest.get("index_version")
    if not isinstance(version, str) or not version:
        version = view.version()
    report.version = version

    # 3. Publish: the new segments' entries, the state files, the manifest last.
    if writer.error is not None:
        log.warning("could not save the index in %s (%s); it is kept in memory",
                    directory, writer.error)
    elif directory is not None and not documents and old.view.documents:
        # An emptied corpus (files moved away, a share not mounted) keeps the last
        # index: files that come back are then reused, not read and annotated again.
        log.warning("corpus %s has no documents now; the saved index of %d documents "
                    "is kept for when they come back", root, len(old.view.documents))
    elif directory is not None and (changed or not _same_files(files, old.files, rehashed)
                                    or old.manifest.get("index_version") != version):
        by_name = {e["name"]: e for e in old.manifest.get("segments", [])}
        by_name.update((e["name"], e) for e in writer.entries)
        entries = [by_name[s.name] for s in segments]
        try:
            same = {"files": files == old.files, "live": not changed and not writer.new,
                    "strings": len(writer.strings) == len(old.strings) and bool(old.manifest),
                    "vocab": len(writer.vocab) == len(old.vocab) and bool(old.manifest)}
            state = write_state(directory, old.manifest.get("files", {}), files,
                                view.live, writer.strings, writer.vocab, same)
            publish(directory, sig, root, entries, state,
                    {"documents": len(documents), "passages": len(view.passages)}, version)
            report.saved = True
            view = merge(directory, sig, root, view, entries, state, version) or view
        except OSError as exc:
            log.warning("could not save the index in %s (%s); it is kept in memory",
                        directory, exc)
    report.documents, report.passages = len(view.documents), len(view.passages)
    report.skipped = tuple(skipped)
    report.files = files
    report.seconds = time.perf_counter() - t0
    log.info("corpus %s: %s", root, report.summary().replace("\n", "; "))
    return Built(view.documents, view.passages, view.annotations, tuple(skipped), report,
                 view.index(cfg.get("sparse_threshold")))
