"""What new passages need: their spaCy annotations as columns, and their BM25 terms."""

from __future__ import annotations

import json
import os
import time
from array import array
from typing import Any, Callable, Iterable

import numpy as np

from .. import nlp
from ..index import terms
from ..records import Annotation
from .layout import Saved
from .tables import RAGGED, PassageTable, _empty_arrays, _gather_flat, columns_of

ANNOTATE_CHUNK = 20_000          # annotations turned into columns at a time
PARALLEL_MIN = 1000              # new passages from which annotation uses 2 processes
Progress = Callable[[dict[str, Any]], None]


def _n_process(cfg: dict[str, Any], new_passages: int) -> int:
    setting = int(cfg.get("annotate_processes") or 0)
    if setting > 0:
        return setting
    return min(2, os.cpu_count() or 1) if new_passages >= PARALLEL_MIN else 1


TOKENIZED = 0  # passages tokenized for BM25 by this process (tests count them)


def _bm25_of(passages: PassageTable, source: np.ndarray, old: Saved):
    """The sparse BM25 index of ``passages`` and their term ids (into its vocabulary).

    Passages kept from ``old`` (``source >= 0``) reuse their saved terms; the
    others are tokenized."""
    global TOKENIZED
    from ..sparse import SparseBM25

    vocab: list[str] = []
    old_vocab = None
    keep = source >= 0
    if old.bm25_dir is not None and old.terms is not None and keep.any():
        try:
            old_vocab = json.loads((old.bm25_dir / "vocab.json").read_text("utf-8"))
        except (OSError, ValueError):
            old_vocab = None
    lens = np.zeros(len(passages), dtype=np.int64)
    if old_vocab is not None:
        vocab = list(old_vocab)
        kept_rows = np.flatnonzero(keep)
        ptr, data = _gather_flat(old.terms_ptr, old.terms, source[kept_rows])
        lens[kept_rows] = np.diff(ptr)
        keep_data = (kept_rows, ptr, data)
    else:
        keep_data = None
    ids = {t: i for i, t in enumerate(vocab)}
    new_rows = np.flatnonzero(~keep) if old_vocab is not None else np.arange(len(passages))
    flat = array("i")
    for i in new_rows.tolist():
        toks = terms(passages.text(i))
        lens[i] = len(toks)
        flat.extend([ids.setdefault(t, len(ids)) for t in toks])
    TOKENIZED += len(new_rows)
    vocab = list(ids)
    del ids
    new_data = np.frombuffer(flat, dtype=np.int32) if len(flat) else np.zeros(0, np.int32)
    # All term ids in passage order.
    ptr = np.zeros(len(passages) + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    out = np.empty(int(ptr[-1]), dtype=np.int32)
    if keep_data is not None:
        kept_rows, kptr, kdata = keep_data
        klens = np.diff(kptr)
        dst = np.repeat(ptr[kept_rows], klens) + (
            np.arange(len(kdata), dtype=np.int64) - np.repeat(kptr[:-1], klens))
        out[dst] = kdata
        del dst, kdata
    if len(new_rows):
        nlens = lens[new_rows]
        nptr = np.zeros(len(new_rows) + 1, dtype=np.int64)
        np.cumsum(nlens, out=nptr[1:])
        dst = np.repeat(ptr[new_rows], nlens) + (
            np.arange(len(new_data), dtype=np.int64) - np.repeat(nptr[:-1], nlens))
        out[dst] = new_data
        del dst
    del new_data, flat
    # Terms no passage holds any more leave the vocabulary (their idf would not be 0).
    df = np.bincount(out, minlength=len(vocab)) if len(out) else np.zeros(len(vocab), int)
    if not (df > 0).all():
        used = np.flatnonzero(df > 0)
        remap = np.full(len(vocab), -1, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        out = remap[out]
        vocab = [vocab[i] for i in used.tolist()]
    return SparseBM25.from_ids(vocab, out, lens), out


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
    where = {"cluster": address} if address else {}
    for ann in nlp.annotate(texts, cfg.get("spacy_model", ""), n_process=n_process, **where):
        batch.append(ann)
        done += 1
        if len(batch) >= ANNOTATE_CHUNK:
            chunks.append(columns_of(batch, intern))
            batch = []
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
