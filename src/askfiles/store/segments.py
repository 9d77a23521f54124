"""One segment of the saved index: a folder of documents, passages, annotations and postings.

A segment is written once and never changed (an update writes a new one and
deletes documents of old ones by leaving them out of the live list, see
:mod:`.view`). Its files, all in ``gen-<id>/``:

    documents.json          id, title, meta and text SHA-1 of the segment's documents
    texts.txt               their texts, UTF-8, one after another
    text_offsets.npy        byte offset of each text in texts.txt
    passages.npy            [P, 3] local document number, start, end
    hashes.npy              [P, 16] passage text hashes (annotations reused by them)
    tokens.npy ... (+_ptr)  columnar annotations (string ids into the global strings.json)
    terms.npy, doc_len.npy  each passage's BM25 terms (ids into the global vocab.json)
    post_*.npy              the postings: sorted term ids, their row pointers,
                            passage rows and term frequencies
"""

from __future__ import annotations

import json
import mmap
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..records import Document
from .files import _file_digest, _fsync_dir, _store
from .tables import RAGGED, AnnotationTable, _concat, _gather, _gather_flat

POSTINGS = ("post_terms", "post_ptr", "post_rows", "post_tf")
ARRAYS = {"text_offsets": (np.int64, 1), "passages": (np.int64, 2), "hashes": (np.uint8, 2),
          "terms": (np.int32, 1), "doc_len": (np.int64, 1), "post_terms": (np.int32, 1),
          "post_ptr": (np.int64, 1), "post_rows": (np.int32, 1), "post_tf": (np.int32, 1),
          **{k: (np.int64, 1) for k in (r + "_ptr" for r in RAGGED)},
          **{k: (np.int32, 2) for k in RAGGED}}


class IndexDamaged(Exception):
    """The saved index cannot be used (damaged or incompatible)."""


class StoredDocument(Document):
    """A :class:`Document` whose text stays in the segment's ``texts.txt`` until read."""

    def __init__(self, id: str, title: str, meta: dict[str, Any], segment: "Segment", i: int):
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "meta", meta)
        # Local document i of the segment (not a tuple: one object fewer each for the
        # garbage collector to go over, 100,000 at a million passages).
        object.__setattr__(self, "_segment", segment)
        object.__setattr__(self, "_i", i)

    @property
    def text(self) -> str:  # type: ignore[override]
        return self._segment.text(self._i)


def postings(terms: np.ndarray, doc_len: np.ndarray) -> dict[str, np.ndarray]:
    """The postings of passages given as term ids (passage ``i``: the next ``doc_len[i]``)."""
    n = len(doc_len)
    key = np.asarray(terms, dtype=np.int64) * max(n, 1)
    key += np.repeat(np.arange(n, dtype=np.int64), doc_len)
    key.sort()
    first = np.ones(len(key), dtype=bool)
    if len(key):
        np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    tf = np.diff(np.append(starts, len(key))).astype(np.int32)
    key = key[starts]
    term = key // max(n, 1)
    rows = (key - term * max(n, 1)).astype(np.int32)
    uniq, first_of = np.unique(term, return_index=True)
    ptr = np.append(first_of, len(term)).astype(np.int64)
    return {"post_terms": uniq.astype(np.int32), "post_ptr": ptr, "post_rows": rows,
            "post_tf": tf}


class Rows:
    """A new segment's rows gathered from several sources: annotation pools and term lists."""

    def __init__(self, n: int):
        self.pools: list[dict[str, np.ndarray]] = []
        self.lens: list[np.ndarray] = []
        self.terms: list[np.ndarray] = []
        self.pos = np.zeros(n, dtype=np.int64)  # row i of the segment is pooled row pos[i]
        self.base = 0

    def add(self, pool: dict[str, np.ndarray], lens: np.ndarray, terms: np.ndarray,
            at: np.ndarray) -> None:
        """Rows ``at`` of the new segment, in this order, from one pool and its term lists."""
        self.pools.append(pool)
        self.lens.append(lens)
        self.terms.append(terms)
        self.pos[at] = self.base + np.arange(len(at))
        self.base += len(at)

    def copy(self, segments: list[Segment], seg_of: np.ndarray, row_of: np.ndarray) -> None:
        """The rows that name a saved segment in ``seg_of`` (>= 0), copied from its row ``row_of``."""
        for k in np.unique(seg_of[seg_of >= 0]).tolist():
            m = np.flatnonzero(seg_of == k)
            seg = segments[k]
            self.add(seg.rows_of(row_of[m]), *seg.row_terms(row_of[m]), m)

    def arrays(self, passages: np.ndarray, hashes: np.ndarray) -> dict[str, np.ndarray]:
        """The segment's arrays: annotations and term lists in row order, then its postings."""
        pool = self.pools[0]
        for extra in self.pools[1:]:
            pool = _concat(pool, extra)
        self.pools = []
        pos = self.pos
        arrays = pool if np.array_equal(pos, np.arange(len(pos))) else _gather(pool, pos)
        lens = np.concatenate(self.lens)
        tptr = np.zeros(len(lens) + 1, dtype=np.int64)
        np.cumsum(lens, out=tptr[1:])
        tptr, terms = _gather_flat(tptr, np.concatenate(self.terms), pos)
        arrays.update(passages=passages, hashes=hashes, terms=terms.astype(np.int32),
                      doc_len=np.diff(tptr))
        arrays.update(postings(arrays["terms"], arrays["doc_len"]))
        return arrays


class Segment:
    """A segment's arrays (memory-mapped when loaded) and its documents."""

    def __init__(self, name: str, docs: list[dict[str, Any]], texts: Any,
                 arrays: dict[str, np.ndarray]):
        self.name, self.docs, self.texts, self.arrays = name, docs, texts, arrays
        self.folder: Path | None = None       # where it was loaded from
        self.passages = arrays["passages"]
        self.hashes = arrays["hashes"]
        self.doc_len = arrays["doc_len"]
        self.terms = arrays["terms"]
        # Python ints: a start makes a document per live text (a memmap index each is slow).
        self.text_offsets = np.asarray(arrays["text_offsets"]).tolist()
        # First passage row of each local document (rows are in document order).
        self.doc_ptr = np.searchsorted(np.asarray(self.passages[:, 0]),
                                       np.arange(len(docs) + 1)).astype(np.int64)
        self.terms_ptr = np.zeros(len(self.doc_len) + 1, dtype=np.int64)
        np.cumsum(self.doc_len, out=self.terms_ptr[1:])
        self._table: AnnotationTable | None = None

    def __len__(self) -> int:
        return len(self.passages)

    def table(self, strings: list[str]) -> AnnotationTable:
        """The segment's annotations (strings: the global table)."""
        if self._table is None or self._table.strings is not strings:
            self._table = AnnotationTable({k: self.arrays[k] for k in annotation_names()},
                                          strings)
            self._table.strings = strings  # shared, not copied per segment
        return self._table

    def document(self, i: int) -> StoredDocument:
        """Local document ``i``, its text read on access."""
        d = self.docs[i]
        return StoredDocument(d["id"], d["title"], d["meta"], self, i)

    def text(self, i: int) -> str:
        """Local document ``i``'s text."""
        return bytes(self.texts[self.text_offsets[i]:self.text_offsets[i + 1]]
                     ).decode("utf-8", "surrogatepass")

    def row_terms(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The term ids of local rows ``rows``: (lengths, ids in row order)."""
        from .tables import _gather_flat

        terms = self.fresh("terms")
        ptr, data = _gather_flat(self.terms_ptr, terms, rows)
        return np.diff(ptr), data

    def fresh(self, name: str) -> np.ndarray:
        """Array ``name`` in a mapping of its own (dropped after use, with the pages it read)."""
        if self.folder is None:
            return np.asarray(self.arrays[name])
        return np.load(self.folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)

    def rows_of(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The annotation rows ``rows``, read through mappings dropped after use (not resident)."""
        from .tables import _gather

        return _gather({n: self.fresh(n) for n in annotation_names()}, rows)


def annotation_names() -> list[str]:
    """The annotation arrays of a segment, as :class:`AnnotationTable` takes them."""
    return [k for r in RAGGED for k in (r + "_ptr", r)]


def write_segment(directory: Path, docs: list[dict[str, Any]], texts: list[str],
                  arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Write a new segment folder; returns its manifest entry (the folder is complete)."""
    name = f"gen-{time.time_ns():x}-{os.getpid()}"
    gdir = directory / name
    gdir.mkdir(parents=True)
    files: dict[str, dict[str, Any]] = {}

    def put(key: str, write: Callable[[Path], None], filename: str) -> None:
        p = gdir / filename
        write(p)
        files[key] = {"path": f"{name}/{filename}", "bytes": p.stat().st_size,
                      "sha256": _file_digest(p)}

    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    put("texts", lambda p: _store()._write_bytes(p, b"".join(encoded)), "texts.txt")
    del encoded
    arrays = {**arrays, "text_offsets": offsets}
    for key in ARRAYS:
        put(key, lambda p, a=arrays[key]: _store()._write_npy(p, a), key + ".npy")
    put("documents", lambda p: _store()._write_json(p, docs), "documents.json")
    _fsync_dir(gdir)
    return {"name": name, "documents": len(docs), "passages": int(len(arrays["passages"])),
            "files": files}


def load_segment(directory: Path, entry: dict[str, Any], verify: bool) -> Segment:
    """The segment a manifest entry names, memory-mapped; IndexDamaged saying why not."""
    if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict):
        raise IndexDamaged("a segment entry of manifest.json is malformed")
    files = entry["files"]

    def path_of(key: str) -> Path:
        p = check_entry(directory, files.get(key), key, verify)
        return p

    arrays = {}
    for key, (dtype, ndim) in ARRAYS.items():
        try:
            arr = np.load(path_of(key), mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise IndexDamaged(f"{key} is not a readable NumPy array ({exc})") from None
        if arr.dtype != dtype or arr.ndim != ndim:
            raise IndexDamaged(f"{key} has shape {arr.shape} {arr.dtype}")
        # A plain ndarray over the same mapping: slicing an np.memmap runs Python
        # code per slice (__getitem__, __array_finalize__), dozens per question.
        arrays[key] = arr.view(np.ndarray)
    try:
        docs = json.loads(path_of("documents").read_bytes().decode("utf-8", "surrogatepass"))
        for d in docs:
            str(d["id"]), str(d["title"]), dict(d["meta"])
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise IndexDamaged(f"documents.json is malformed ({exc})") from None
    tpath = path_of("texts")
    texts: Any = b""
    if tpath.stat().st_size:
        with open(tpath, "rb") as f:   # the map outlives the file (a merge may delete it)
            texts = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    check_arrays(arrays, len(docs), len(texts))
    seg = Segment(str(entry["name"]), docs, texts, arrays)
    seg.folder = tpath.parent
    return seg


def check_entry(directory: Path, e: Any, key: str, verify: bool) -> Path:
    """The path of a data file entry, checked (inside the folder, size, checksum)."""
    if not isinstance(e, dict) or "path" not in e:
        raise IndexDamaged(f"manifest.json lacks {key}")
    p = directory / e["path"]
    parts = Path(e["path"]).parts
    if not (len(parts) == 2 and parts[0].startswith("gen-")) or \
            directory.resolve() not in p.resolve().parents:
        raise IndexDamaged(f"{key} points outside the index folder")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise IndexDamaged(f"{e['path']} is missing ({exc.strerror})") from None
    if size != e.get("bytes"):
        raise IndexDamaged(f"{e['path']} has {size} bytes, expected {e.get('bytes')} "
                           "(truncated or overwritten)")
    if verify and _file_digest(p) != e.get("sha256"):
        raise IndexDamaged(f"{e['path']} does not match its checksum")
    return p


def check_arrays(a: dict[str, np.ndarray], n_docs: int, n_bytes: int) -> None:
    """Shapes and pointers agree (cheap checks: no pass over the big arrays)."""
    p = a["passages"]
    n = len(p)
    off = a["text_offsets"]
    if len(off) != n_docs + 1 or (n_docs and (off[0] != 0 or off[-1] != n_bytes)):
        raise IndexDamaged("text offsets do not match texts.txt")
    if p.shape[1:] != (3,) or a["hashes"].shape != (n, 16) or len(a["doc_len"]) != n:
        raise IndexDamaged("passages, hashes and terms differ in number")
    if n and (p[0, 0] != 0 or p[-1, 0] >= n_docs or p[:, 1].min() < 0):
        raise IndexDamaged("passage offsets fall outside their documents")
    for name, width in RAGGED.items():
        ptr, data = a[name + "_ptr"], a[name]
        if len(ptr) != n + 1 or ptr[0] != 0 or ptr[-1] != len(data) or \
                data.shape[1:] != (width,):
            raise IndexDamaged(f"{name} row pointers are inconsistent")
    if int(np.sum(a["doc_len"])) != len(a["terms"]):
        raise IndexDamaged("saved terms do not match the passages")
    pt, pp = a["post_terms"], a["post_ptr"]
    if len(pp) != len(pt) + 1 or (len(pp) and (pp[0] != 0 or pp[-1] != len(a["post_rows"]))) \
            or len(a["post_tf"]) != len(a["post_rows"]):
        raise IndexDamaged("postings are inconsistent")
