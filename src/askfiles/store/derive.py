"""New segments: their passages' spaCy annotations as columns, BM25 terms and postings."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .. import nlp, split
from ..index import terms
from ..records import Annotation, Document
from .segments import Rows, Segment, load_segment, write_segment
from .tables import RAGGED, _empty_arrays, columns_of, text_hash

ANNOTATE_CHUNK = 5_000           # annotations turned into columns at a time
SEGMENT_PASSAGES = 100_000       # new passages per segment: a build's memory is bounded by it
PARALLEL_MIN = 1000              # new passages from which annotation uses 2 processes
Progress = Callable[[dict[str, Any]], None]


def _n_process(cfg: dict[str, Any], new_passages: int) -> int:
    setting = int(cfg.get("annotate_processes") or 0)
    if setting > 0:
        return setting
    return min(2, os.cpu_count() or 1) if new_passages >= PARALLEL_MIN else 1


TOKENIZED = 0  # passages tokenized for BM25 by this process (tests count them)


class SegmentWriter:
    """Makes an update's new segments, reusing annotations and terms by passage text."""

    def __init__(self, old: list[Segment], strings: list[str], vocab: list[str],
                 cfg: dict[str, Any], progress: Progress | None, directory: Path | None):
        self.sources = list(old)          # old segments, then the new ones
        self.n_old = len(old)
        self.strings, self.vocab = list(strings), list(vocab)
        self._lookup: dict[str, int] | None = None
        self._ids: dict[str, int] | None = None
        self._hashes: dict[bytes, tuple[int, int]] | None = None
        self.cfg, self.progress, self.directory = cfg, progress, directory
        self.entries: list[dict[str, Any]] = []   # manifest entries of the written ones
        self.annotated = 0
        self.error: OSError | None = None          # why the rest is kept in memory

    @property
    def new(self) -> list[Segment]:
        return self.sources[self.n_old:]

    def intern(self, s: str) -> int:
        if self._lookup is None:
            self._lookup = {x: i for i, x in enumerate(self.strings)}
        i = self._lookup.get(s)
        if i is None:
            i = self._lookup[s] = len(self.strings)
            self.strings.append(s)
        return i

    def _term_ids(self, text: str) -> list[int]:
        if self._ids is None:
            self._ids = {t: i for i, t in enumerate(self.vocab)}
        ids, vocab = self._ids, self.vocab
        out = []
        for t in terms(text):
            i = ids.get(t)
            if i is None:
                i = ids[t] = len(vocab)
                vocab.append(t)
            out.append(i)
        return out

    def _known(self) -> dict[bytes, tuple[int, int]]:
        if self._hashes is None:  # built on first need: a warm start never pays for it
            self._hashes = {}
            for k, seg in enumerate(self.sources):
                hs = np.ascontiguousarray(seg.hashes).view("S16").ravel().tolist()
                for r, h in enumerate(hs):
                    self._hashes.setdefault(h, (k, r))
        return self._hashes

    def add(self, docs: list[dict[str, Any]]) -> Segment:
        """A new segment of ``docs`` (id, title, text, meta[, passages]), written and mapped."""
        global TOKENIZED
        rows: list[tuple[int, int, int]] = []
        for j, d in enumerate(docs):
            if "passages" not in d:
                d["passages"] = [(p.start, p.end) for p in split.split_document(
                    Document(d["id"], d["title"], d["text"], d["meta"]))]
            rows.extend((j, a, b) for a, b in d["passages"])
        texts = [docs[j]["text"][a:b] for j, a, b in rows]
        hashes = [text_hash(t) for t in texts]
        known = self._known()
        # Where each row's annotations come from: (segment, row), or -1: annotate it.
        first: dict[bytes, int] = {}
        src_seg = np.full(len(rows), -1, dtype=np.int64)
        src_row = np.zeros(len(rows), dtype=np.int64)
        todo: list[int] = []
        for i, h in enumerate(hashes):
            hit = known.get(h)
            if hit is not None:
                src_seg[i], src_row[i] = hit
            elif h in first:
                src_seg[i], src_row[i] = -2, first[h]
            else:
                first[h] = i
                todo.append(i)
        self.annotated += len(todo)
        ids: list[list[int]] = []

        def feed() -> Iterable[str]:
            # BM25 terms of each text as annotation takes it: with a cluster the
            # workers start on the first batches meanwhile (same order, same vocabulary).
            for i in todo:
                ids.append(self._term_ids(texts[i]))
                yield texts[i]

        cols = _annotate_columns(feed(), len(todo), self.cfg, self.progress, self.intern)
        # (Every path reads every text; should one not, the rest are tokenized here.)
        ids.extend(self._term_ids(texts[i]) for i in todo[len(ids):])
        TOKENIZED += len(todo)
        got = Rows(len(rows))
        got.add(cols,
                np.asarray([len(x) for x in ids], dtype=np.int64),
                np.asarray([t for x in ids for t in x], dtype=np.int32), np.asarray(todo, dtype=np.int64))
        del ids
        got.copy(self.sources, src_seg, src_row)
        dup = np.flatnonzero(src_seg == -2)
        got.pos[dup] = got.pos[src_row[dup]]
        arrays = got.arrays(np.asarray(rows, dtype=np.int64).reshape(-1, 3),
                            np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 16))
        # Each text's SHA-1 kept: index_version is then worked out without reading texts.
        meta = [{"id": d["id"], "title": d["title"], "meta": d["meta"],
                 "sha1": hashlib.sha1(d["text"].encode("utf-8", "surrogatepass")).hexdigest()}
                for d in docs]
        seg = self._keep(meta, [d["text"] for d in docs], arrays)
        k = len(self.sources)
        self.sources.append(seg)
        for i, h in enumerate(hashes):
            known.setdefault(h, (k, i))
        return seg

    def _keep(self, meta: list[dict[str, Any]], texts: list[str],
              arrays: dict[str, np.ndarray]) -> Segment:
        """Write the segment and map it back; kept in memory when the folder fails."""
        if self.directory is not None:
            try:
                entry = write_segment(self.directory, meta, texts, arrays)
                self.entries.append(entry)
                return load_segment(self.directory, entry, verify=False)
            except OSError as exc:
                self.error, self.directory = exc, None
        blob = "".join(texts).encode("utf-8", "surrogatepass")
        off = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(t.encode("utf-8", "surrogatepass")) for t in texts], out=off[1:])
        return Segment(f"memory-{len(self.sources)}", meta, blob,
                       {**arrays, "text_offsets": off})


def _cluster_columns(texts: Iterable[str], cfg: dict[str, Any], address: str,
                     intern: Callable[[str], int]):
    """``(passages, columns)`` a batch at a time from the Dask cluster, counted as annotated."""
    from .. import cluster

    nlp.check_allowed()
    for n, cols in cluster.annotate_columns(texts, cfg.get("spacy_model", ""), address, intern):
        nlp.note_annotated(n)
        yield n, cols


def _annotate_columns(texts: Iterable[str], total: int, cfg: dict[str, Any],
                      progress: Progress | None, intern: Callable[[str], int]
                      ) -> dict[str, np.ndarray]:
    """spaCy annotations of the new passages as columns, with progress reports.

    Turned into columns :data:`ANNOTATE_CHUNK` at a time, so a million
    passages never exist as a million Python records at once."""
    if not total:
        return _empty_arrays()
    address = str(cfg.get("cluster") or "")
    if address:
        from .. import cluster

        n_process = cluster.workers(address)
    else:
        n_process = _n_process(cfg, total)
    chunks: list[dict[str, np.ndarray]] = []
    batch: list[Annotation] = []
    done = 0
    t0 = last = time.perf_counter()
    if progress:
        progress({"phase": "annotate", "passages": 0, "total_passages": total,
                  "rate": 0.0, "processes": n_process})
    if address:
        stream = _cluster_columns(texts, cfg, address, intern)
    else:
        stream = ((1, ann) for ann in nlp.annotate(texts, cfg.get("spacy_model", ""),
                                                  n_process=n_process))
    for n, got in stream:
        if isinstance(got, Annotation):
            batch.append(got)
            if len(batch) >= ANNOTATE_CHUNK:
                chunks.append(columns_of(batch, intern))
                batch = []
        else:
            chunks.append(got)
        done += n
        now = time.perf_counter()
        if progress and (now - last > 0.5 or done == total):
            last = now
            progress({"phase": "annotate", "passages": done, "total_passages": total,
                      "rate": done / max(now - t0, 1e-9), "processes": n_process})
    if batch or not chunks:
        chunks.append(columns_of(batch, intern))
    out = chunks[0]
    if len(chunks) > 1:
        out = {}
        for name in RAGGED:
            ptrs, base = [chunks[0][name + "_ptr"]], chunks[0][name + "_ptr"][-1]
            for c in chunks[1:]:
                ptrs.append(c[name + "_ptr"][1:] + base)
                base += c[name + "_ptr"][-1]
            out[name + "_ptr"] = np.concatenate(ptrs)
            out[name] = np.concatenate([c.pop(name) for c in chunks])
    return out
