"""The saved index: documents, passages and spaCy annotations kept between runs.

Layout of the index folder (default ``<corpus>/.askfiles/``; ``ASKFILES_INDEX_DIR``)::

    manifest.json           written last, atomically: versions + the data files
    gen-<id>/documents.json   id, title, meta of every document
    gen-<id>/texts.txt        the documents' texts, UTF-8, one after another
    gen-<id>/text_offsets.npy byte offset of each document's text in texts.txt
    gen-<id>/files.json       fingerprint of every corpus file (size, mtime, sha256)
    gen-<id>/strings.json     the string table (lemmas, POS, deps, entity labels)
    gen-<id>/*.npy            passages, text hashes, columnar annotations (NumPy,
                              ``allow_pickle=False``; memory-mapped on load)
    gen-<id>/terms.npy        every passage's BM25 terms as ids into bm25/vocab.json
    gen-<id>/bm25/            the BM25 index (:class:`askfiles.sparse.SparseBM25`)
    lock                      serialises builders (several server workers)

Only safe formats are used (JSON and plain NumPy arrays, never pickle). A new
generation is written into a fresh ``gen-*`` folder and the manifest is
replaced last (write, fsync, ``os.replace``), so a crash mid-write leaves the
previous index in use. A damaged or incompatible index is logged as a
warning and rebuilt; it never stops start-up.

Reuse works at two levels. A file whose size and modification time match its
fingerprint is not read again (a file modified within :data:`RACY_NS` of the
fingerprint is hashed once more, as the clock may not have moved). Passages
are keyed by a hash of their text, so only passages whose text is new are
annotated by spaCy, whatever changed around them.

Start-up from an unchanged index tokenizes and annotates nothing: the passages
are a NumPy table (:class:`PassageTable`), the annotations memory-mapped
arrays (:class:`AnnotationTable`), and the BM25 index is loaded as saved
(above ``sparse_threshold`` passages; below it rank-bm25 is rebuilt from the
saved term lists). When documents change, only new passages are tokenized and
the BM25 index is rebuilt from the saved terms of the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import time
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from . import formats, nlp, split
from .index import PassageIndex, terms
from .config import load_config
from .load import (CACHEDIR_SIGNATURE, CACHEDIR_TAG, MAX_DOC_CHARS, Skipped, check_file,
                   check_link, check_name, check_regular, check_root, corpus_files, doc_id,
                   document_of, read_file, shown_id, skip_reason)
from .records import Annotation, Document, Passage

log = logging.getLogger(__name__)

FORMAT = "askfiles-index"
VERSION = 1
RACY_NS = 2_000_000_000          # mtimes this close to a check are re-hashed
PARALLEL_MIN = 1000              # new passages from which annotation uses 2 processes
VERIFY_MAX_BYTES = 256 << 20     # data files hashed on load up to this total size
CHECK_ROWS = 1 << 20             # annotation rows whose string ids are checked when large
ANNOTATE_CHUNK = 20_000          # annotations turned into columns at a time
BM25_FILES = ("indptr", "indices", "weights", "idf", "doc_len")
# Ragged annotation columns: name -> ints per row.
#   tokens: start, end, head, lemma, pos, dep (strings as ids into strings.json)
#   sents: first, end token; ents: first, end token, label id; chunks: first, end token
RAGGED = {"tokens": 6, "sents": 2, "ents": 3, "chunks": 2}

Progress = Callable[[dict[str, Any]], None]


class IndexDamaged(Exception):
    """The saved index cannot be used (damaged or incompatible)."""


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


# -- passages as a table ----------------------------------------------------

class PassageTable(Sequence[Passage]):
    """Passages as NumPy columns (document number, n, start, end); a
    :class:`Passage` is made on access, its text sliced from the document's."""

    def __init__(self, documents: Sequence[Document], doc: np.ndarray, start: np.ndarray,
                 end: np.ndarray, n: np.ndarray | None = None):
        self.documents = documents
        self.doc = np.ascontiguousarray(doc, dtype=np.int64)
        self.start = np.ascontiguousarray(start, dtype=np.int64)
        self.end = np.ascontiguousarray(end, dtype=np.int64)
        if n is None:  # rank within the document (rows are in document order)
            first = np.searchsorted(self.doc, self.doc, side="left")
            n = np.arange(len(self.doc), dtype=np.int64) - first
        self.n = np.ascontiguousarray(n, dtype=np.int64)

    @classmethod
    def of_rows(cls, documents: Sequence[Document], rows: np.ndarray) -> "PassageTable":
        """From rows of (document number, start, end), as ``passages.npy`` holds them."""
        rows = np.asarray(rows).reshape(-1, 3)
        return cls(documents, rows[:, 0], rows[:, 1], rows[:, 2])

    def __len__(self) -> int:
        return len(self.doc)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self.doc)
        if not 0 <= i < len(self.doc):
            raise IndexError(i)
        d = self.documents[int(self.doc[i])]
        a, b = int(self.start[i]), int(self.end[i])
        return Passage(d.id, int(self.n[i]), a, b, d.text[a:b])

    def __iter__(self) -> Iterator[Passage]:
        docs = self.documents
        for d, n, a, b in zip(self.doc.tolist(), self.n.tolist(), self.start.tolist(),
                              self.end.tolist()):
            doc = docs[d]
            yield Passage(doc.id, n, a, b, doc.text[a:b])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def text(self, i: int) -> str:
        """Passage ``i``'s text."""
        return self.documents[int(self.doc[i])].text[int(self.start[i]):int(self.end[i])]

    def rows(self) -> np.ndarray:
        """(document number, start, end) per passage, as saved."""
        return np.stack([self.doc, self.start, self.end], axis=1) if len(self) else \
            np.zeros((0, 3), dtype=np.int64)


# -- lazy annotations -------------------------------------------------------

class AnnotationTable(Sequence[Annotation]):
    """Annotations stored column-wise; an :class:`Annotation` is made on access.

    Holds one int32 array per ragged column (plus row pointers) and a string
    table, so a million passages cost a few arrays rather than a million
    objects. Recently used rows are cached.
    """

    def __init__(self, arrays: dict[str, np.ndarray], strings: Sequence[str]):
        self.arrays = arrays
        self.strings = list(strings)
        self._n = len(arrays["tokens_ptr"]) - 1
        self._get = lru_cache(maxsize=4096)(self._make)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._get(int(i))

    def __iter__(self) -> Iterator[Annotation]:
        for i in range(self._n):
            yield self._make(i)

    def _rows(self, name: str, i: int) -> list[list[int]]:
        ptr = self.arrays[name + "_ptr"]
        return self.arrays[name][ptr[i]:ptr[i + 1]].tolist()

    def _make(self, i: int) -> Annotation:
        s = self.strings
        ptr = self.arrays["tokens_ptr"]
        tok = self.arrays["tokens"][ptr[i]:ptr[i + 1]]
        starts, ends, heads, lem, pos, dep = (tok.T.tolist() if len(tok)
                                              else ([],) * 6)
        return Annotation(
            starts=tuple(starts), ends=tuple(ends),
            lemmas=tuple(s[x] for x in lem), pos=tuple(s[x] for x in pos),
            deps=tuple(s[x] for x in dep), heads=tuple(heads),
            sents=tuple((a, b) for a, b in self._rows("sents", i)),
            ents=tuple((a, b, s[lab]) for a, b, lab in self._rows("ents", i)),
            chunks=tuple((a, b) for a, b in self._rows("chunks", i)),
        )


def _empty_arrays() -> dict[str, np.ndarray]:
    out = {}
    for name, width in RAGGED.items():
        out[name + "_ptr"] = np.zeros(1, dtype=np.int64)
        out[name] = np.zeros((0, width), dtype=np.int32)
    return out


def columns_of(anns: Sequence[Annotation], intern: Callable[[str], int]
               ) -> dict[str, np.ndarray]:
    """Annotation records as ragged int32 columns (strings through ``intern``)."""
    rows: dict[str, list[tuple[int, ...]]] = {k: [] for k in RAGGED}
    lens: dict[str, list[int]] = {k: [] for k in RAGGED}
    for a in anns:
        rows["tokens"].extend(zip(a.starts, a.ends, a.heads, map(intern, a.lemmas),
                                  map(intern, a.pos), map(intern, a.deps)))
        rows["sents"].extend(a.sents)
        rows["ents"].extend((s, e, intern(lab)) for s, e, lab in a.ents)
        rows["chunks"].extend(a.chunks)
        lens["tokens"].append(len(a.starts))
        lens["sents"].append(len(a.sents))
        lens["ents"].append(len(a.ents))
        lens["chunks"].append(len(a.chunks))
    out = {}
    for name, width in RAGGED.items():
        ptr = np.zeros(len(anns) + 1, dtype=np.int64)
        np.cumsum(np.asarray(lens[name], dtype=np.int64), out=ptr[1:])
        out[name + "_ptr"] = ptr
        out[name] = np.asarray(rows[name], dtype=np.int32).reshape(-1, width)
    return out


def _concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name in RAGGED:
        pa, pb = a[name + "_ptr"], b[name + "_ptr"]
        out[name + "_ptr"] = np.concatenate([pa, pb[1:] + pa[-1]])
        out[name] = np.concatenate([a[name], b[name]])
    return out


def _gather(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The ragged rows ``rows`` of ``arrays``, in that order."""
    out = {}
    for name in RAGGED:
        ptr, data = arrays[name + "_ptr"], arrays[name]
        starts = ptr[rows]
        lens = ptr[rows + 1] - starts
        new_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lens, out=new_ptr[1:])
        idx = (np.arange(new_ptr[-1], dtype=np.int64)
               - np.repeat(new_ptr[:-1], lens) + np.repeat(starts, lens))
        out[name + "_ptr"] = new_ptr
        out[name] = np.ascontiguousarray(data[idx])
    return out


def _gather_flat(ptr: np.ndarray, data: np.ndarray, rows: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The ragged rows ``rows`` of a one-column ragged array: (new ptr, data)."""
    starts = np.asarray(ptr)[rows]
    lens = np.asarray(ptr)[rows + 1] - starts
    new_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lens, out=new_ptr[1:])
    idx = (np.arange(new_ptr[-1], dtype=np.int64)
           - np.repeat(new_ptr[:-1], lens) + np.repeat(starts, lens))
    return new_ptr, np.ascontiguousarray(np.asarray(data)[idx])


def _compact_strings(arrays: dict[str, np.ndarray], strings: list[str]
                     ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Drop strings no row uses any more (after documents were removed)."""
    used = np.unique(np.concatenate([arrays["tokens"][:, 3:6].ravel(),
                                     arrays["ents"][:, 2]]))
    if len(used) == len(strings):
        return arrays, strings
    remap = np.full(len(strings), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    arrays = dict(arrays)
    tok = arrays["tokens"].copy()
    tok[:, 3:6] = remap[tok[:, 3:6]]
    ents = arrays["ents"].copy()
    ents[:, 2] = remap[ents[:, 2]]
    arrays["tokens"], arrays["ents"] = tok, ents
    return arrays, [strings[i] for i in used.tolist()]


def text_hash(text: str) -> bytes:
    """16-byte key of a passage text (annotations are reused by it)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


# -- signatures: what makes a saved index incompatible ----------------------

def _source_hash(*objs: Any) -> str:
    h = hashlib.sha1()
    for obj in objs:
        try:
            h.update(inspect.getsource(obj).encode())
        except (OSError, TypeError):
            h.update(repr(obj).encode())
    return h.hexdigest()[:12]


def model_version(name: str) -> str:
    """The installed pipeline's version, from its meta.json (no spaCy load)."""
    try:
        spec = importlib.util.find_spec(name)
        for loc in (spec.submodule_search_locations or []) if spec else []:
            meta = Path(loc) / "meta.json"
            if meta.exists():
                return str(json.loads(meta.read_text()).get("version", ""))
    except (ImportError, ValueError, OSError):
        pass
    return ""


def signatures(cfg: dict[str, Any]) -> dict[str, Any]:
    """Everything a saved index must match to be reused."""
    name = nlp.model_name(cfg.get("spacy_model", ""))
    return {
        "format": FORMAT,
        "version": VERSION,
        "spacy_model": name,
        "spacy_model_version": model_version(name),
        # annotation_of and the excluded pipes decide what an Annotation holds.
        "annotation": _source_hash(nlp.annotation_of, tuple(nlp.EXCLUDE),
                                   nlp.PIPELINE_VERSION),
        "extract": [formats.EXTRACT_VERSION, _max_chars(cfg)],
        "split": _source_hash(split),
    }


def _max_chars(cfg: dict[str, Any]) -> int:
    return int(cfg.get("max_doc_chars") or MAX_DOC_CHARS)


# -- file helpers -----------------------------------------------------------

def index_dir(folder: Path | str, cfg: dict[str, Any]) -> Path | None:
    """Where the saved index lives; None when saving is turned off.

    The corpus folder itself cannot be it (the index would hide every document):
    then ``.askfiles/`` inside it is used, with a warning."""
    setting = str(cfg.get("index_dir") or "")
    if setting.lower() in ("off", "none", "-"):
        return None
    if setting and os.path.realpath(setting) == os.path.realpath(folder):
        log.warning("ASKFILES_INDEX_DIR is the corpus folder itself; using %s instead",
                    Path(folder) / ".askfiles")
        setting = ""
    return Path(setting) if setting else Path(folder) / ".askfiles"


def _tag_cache_dir(directory: Path) -> None:
    """Mark the index folder as a cache, so a corpus walk never reads it as documents
    (an index folder inside the corpus under a name without a dot indexed itself)."""
    tag = directory / CACHEDIR_TAG
    if not tag.exists():
        _write_bytes(tag, CACHEDIR_SIGNATURE + b"\n# askfiles saved index: not documents "
                     b"(https://bford.info/cachedir/)\n")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_json(path: Path, obj: Any) -> None:
    _write_bytes(path, json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
                 .encode("utf-8", "surrogatepass"))


def _write_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on the index folder (no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(directory / "lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# -- the saved index on disk ------------------------------------------------

@dataclass
class Saved:
    """A saved index as loaded (or an empty one)."""

    manifest: dict[str, Any]
    documents: list[dict[str, Any]]           # id, title, text, meta
    files: dict[str, dict[str, Any]]          # id -> size, mtime_ns, sha256[, skip]
    passages: np.ndarray                      # [P, 3] doc number, start, end
    hashes: np.ndarray                        # [P, 16] uint8 text hashes
    arrays: dict[str, np.ndarray]
    strings: list[str]
    bm25_dir: Path | None = None              # the saved SparseBM25 (None: not saved)
    terms: np.ndarray | None = None           # [T] int32 term ids into the bm25 vocab
    terms_ptr: np.ndarray | None = None       # [P + 1] row pointers of ``terms``

    @classmethod
    def empty(cls) -> "Saved":
        return cls({}, [], {}, np.zeros((0, 3), np.int64), np.zeros((0, 16), np.uint8),
                   _empty_arrays(), [])


def _load_saved(directory: Path, sig: dict[str, Any], root: Path,
                replica: bool = False) -> Saved:
    """The saved index in ``directory``; raises IndexDamaged saying why it is unusable.

    ``replica``: loaded by a reader that serves it as published (see
    :mod:`askfiles.published`): the corpus folder and the extraction settings it
    was built with are the builder's business, not checked here."""
    mpath = directory / "manifest.json"
    if not mpath.exists():
        raise FileNotFoundError(mpath)
    try:
        manifest = json.loads(mpath.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexDamaged(f"manifest.json is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexDamaged("manifest.json is not an askfiles index manifest")
    for key in ("version", "spacy_model", "spacy_model_version", "annotation"):
        if manifest.get(key) != sig[key]:
            raise IndexDamaged(f"built with {key}={manifest.get(key)!r}, "
                              f"now {sig[key]!r}")
    if not replica and manifest.get("corpus") != str(root.resolve()):
        raise IndexDamaged(f"built for corpus {manifest.get('corpus')!r}")
    entries = manifest.get("files")
    if not isinstance(entries, dict):
        raise IndexDamaged("manifest.json lists no data files")
    verify = sum(int(e.get("bytes", 0)) for e in entries.values()) <= VERIFY_MAX_BYTES

    def path_of(name: str) -> Path:
        e = entries.get(name)
        if not isinstance(e, dict) or "path" not in e:
            raise IndexDamaged(f"manifest.json lacks {name}")
        p = directory / e["path"]
        parts = Path(e["path"]).parts
        if not (2 <= len(parts) <= 3 and parts[0].startswith("gen-")) or \
                directory.resolve() not in p.resolve().parents:
            raise IndexDamaged(f"{name} points outside the index folder")
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

    def json_of(name: str) -> Any:
        try:
            return json.loads(path_of(name).read_bytes().decode("utf-8", "surrogatepass"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise IndexDamaged(f"{name} is not valid JSON ({exc})") from None

    def npy(name: str, dtype, ndim: int, width: int | None = None) -> np.ndarray:
        try:
            arr = np.load(path_of(name), mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise IndexDamaged(f"{name} is not a readable NumPy array ({exc})") from None
        if arr.dtype != dtype or arr.ndim != ndim or (width and arr.shape[1] != width):
            raise IndexDamaged(f"{name} has shape {arr.shape} {arr.dtype}")
        return arr

    documents = json_of("documents")
    files = json_of("files")
    strings = json_of("strings")
    if not (isinstance(documents, list) and isinstance(files, dict)
            and isinstance(strings, list)):
        raise IndexDamaged("documents, files or strings have the wrong shape")
    if "texts" in entries:  # the texts apart, one UTF-8 file (older indexes: in the JSON)
        offsets = npy("text_offsets", np.int64, 1)
        try:
            raw = path_of("texts").read_bytes()
        except OSError as exc:
            raise IndexDamaged(f"texts cannot be read ({exc})") from None
        off = np.asarray(offsets).tolist()
        if len(off) != len(documents) + 1 or (off and (off[0] != 0 or off[-1] != len(raw))) \
                or any(a > b for a, b in zip(off[:-1], off[1:])):
            raise IndexDamaged("text offsets do not match texts.txt")
        try:
            for d, a, b in zip(documents, off[:-1], off[1:]):
                # each document decoded on its own: an ASCII text stays 1 byte a character
                d["text"] = raw[a:b].decode("utf-8", "surrogatepass")
        except (TypeError, UnicodeDecodeError) as exc:
            raise IndexDamaged(f"texts.txt is damaged ({exc})") from None
        del raw
    passages = npy("passages", np.int64, 2, 3)
    hashes = npy("hashes", np.uint8, 2, 16)
    arrays = {}
    n = len(passages)
    for name, width in RAGGED.items():
        ptr = npy(name + "_ptr", np.int64, 1)
        data = npy(name, np.int32, 2, width)
        if len(ptr) != n + 1 or ptr[0] != 0 or ptr[-1] != len(data) or \
                (n and np.any(np.diff(ptr) < 0)):
            raise IndexDamaged(f"{name} row pointers are inconsistent")
        arrays[name + "_ptr"], arrays[name] = ptr, data
    if len(hashes) != n:
        raise IndexDamaged("passage hashes and passages differ in number")
    # String ids in range. A large index is checked on its first and last rows only
    # (reading it all would page in gigabytes at start-up); its sizes were checked.
    tok, ents = arrays["tokens"], arrays["ents"]
    parts = ([tok[:CHECK_ROWS, 3:6].ravel(), tok[-CHECK_ROWS:, 3:6].ravel(),
              ents[:CHECK_ROWS, 2], ents[-CHECK_ROWS:, 2]]
             if len(tok) > 2 * CHECK_ROWS else [tok[:, 3:6].ravel(), ents[:, 2]])
    ids = np.concatenate(parts)
    if len(ids) and (ids.min() < 0 or ids.max() >= len(strings)):
        raise IndexDamaged("string ids out of range")
    bm25_dir = terms = terms_ptr = None
    if "bm25/meta" in entries:
        meta = json_of("bm25/meta")
        for name in ("bm25/vocab",) + tuple("bm25/" + f for f in BM25_FILES):
            path_of(name)
        terms = npy("terms", np.int32, 1)
        doc_len = npy("bm25/doc_len", np.int64, 1)
        if not isinstance(meta, dict) or len(doc_len) != n or meta.get("passages") != n:
            raise IndexDamaged("the BM25 index and the passages differ in number")
        terms_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(doc_len, out=terms_ptr[1:])
        if terms_ptr[-1] != len(terms):
            raise IndexDamaged("saved terms do not match the BM25 index")
        bm25_dir = path_of("bm25/meta").parent
    try:
        lengths = np.array([len(d["text"]) for d in documents], dtype=np.int64)
        for d in documents:
            str(d["id"]), str(d["title"]), dict(d["meta"])
    except (KeyError, TypeError, ValueError):
        raise IndexDamaged("documents.json records are malformed") from None
    if n and (passages[:, 0].min() < 0 or passages[:, 0].max() >= len(documents)
              or np.any(passages[:, 1] > passages[:, 2]) or np.any(passages[:, 1] < 0)
              or np.any(passages[:, 2] > lengths[passages[:, 0]])):
        raise IndexDamaged("passage offsets fall outside their documents")
    if not replica and manifest.get("extract") != sig["extract"]:
        # Text extraction changed: keep annotations (keyed by passage text), re-read files.
        documents, files = [], {}
        passages = passages[:0]
        bm25_dir = terms = terms_ptr = None
    return Saved(manifest, documents, files, np.array(passages), hashes, arrays, strings,
                 bm25_dir, terms, terms_ptr)


def _save(directory: Path, sig: dict[str, Any], root: Path, old: Saved,
          documents: list[dict[str, Any]] | None, files: dict[str, dict[str, Any]],
          passages: np.ndarray | None, hashes: np.ndarray | None,
          arrays: dict[str, np.ndarray] | None, strings: list[str] | None,
          bm25: Any = None, terms: np.ndarray | None = None) -> dict[str, Any]:
    """Write a new generation; parts passed as None are kept from ``old``.

    Returns the manifest's data file entries (paths relative to ``directory``)."""
    gen = f"gen-{time.time_ns():x}-{os.getpid()}"
    gdir = directory / gen
    gdir.mkdir(parents=True)
    entries: dict[str, dict[str, Any]] = {}
    old_entries = old.manifest.get("files", {}) if old.manifest else {}

    def put(name: str, write: Callable[[Path], None], filename: str) -> None:
        p = gdir / filename
        write(p)
        entries[name] = {"path": f"{gen}/{filename}", "bytes": p.stat().st_size,
                         "sha256": _file_digest(p)}

    def keep(*names: str) -> None:
        for name in names:
            if name in old_entries:
                entries[name] = old_entries[name]

    put("files", lambda p: _write_json(p, files), "files.json")
    if documents is None:
        keep("documents", "texts", "text_offsets")
    else:
        encoded = [d["text"].encode("utf-8", "surrogatepass") for d in documents]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        put("texts", lambda p: _write_bytes(p, b"".join(encoded)), "texts.txt")
        del encoded
        put("text_offsets", lambda p: _write_npy(p, offsets), "text_offsets.npy")
        put("documents", lambda p: _write_json(p, [{"id": d["id"], "title": d["title"],
                                                     "meta": d["meta"]} for d in documents]),
            "documents.json")
    if bm25 is None and (passages is None or len(passages)):
        keep("terms", *("bm25/" + f for f in BM25_FILES + ("vocab", "meta")))
    elif bm25 is not None:   # (no passages: no BM25 index, not the old one)
        (gdir / "bm25").mkdir()
        put("terms", lambda p: _write_npy(p, terms), "terms.npy")
        for name, arr in bm25.arrays().items():
            put("bm25/" + name, lambda p, a=arr: _write_npy(p, a), f"bm25/{name}.npy")
        put("bm25/vocab", lambda p: _write_json(p, bm25.vocab), "bm25/vocab.json")
        put("bm25/meta", lambda p: _write_json(p, bm25.meta()), "bm25/meta.json")
        _fsync_dir(gdir / "bm25")
    if arrays is None:
        for name in ["strings", "passages", "hashes"] + [k for r in RAGGED
                                                          for k in (r, r + "_ptr")]:
            entries[name] = old_entries[name]
    else:
        put("strings", lambda p: _write_json(p, strings), "strings.json")
        put("passages", lambda p: _write_npy(p, passages), "passages.npy")
        put("hashes", lambda p: _write_npy(p, hashes), "hashes.npy")
        for name, arr in arrays.items():
            put(name, lambda p, a=arr: _write_npy(p, a), name + ".npy")
    _fsync_dir(gdir)
    manifest = {**sig, "corpus": str(root.resolve()),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "counts": {"documents": len(documents if documents is not None
                                            else old.documents),
                           "passages": int(len(passages if passages is not None
                                               else old.passages))},
                "files": entries}
    tmp = directory / f"manifest.json.tmp-{os.getpid()}"
    _write_json(tmp, manifest)
    os.replace(tmp, directory / "manifest.json")
    _fsync_dir(directory)
    # Old generations are no longer referenced; open memory maps of them stay valid.
    keep = {e["path"].split("/", 1)[0] for e in entries.values()}
    for child in directory.iterdir():
        if (child.name.startswith("gen-") and child.name not in keep) or \
                child.name.startswith("manifest.json.tmp-"):
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else \
                child.unlink(missing_ok=True)
    return entries


# -- scanning the corpus ----------------------------------------------------

def _id_of(root: Path) -> Callable[[Path], str]:
    """``load.doc_id`` with the root resolved once (not once per file: 9 s at 100k files)."""
    base = str(root.resolve()) + os.sep

    def id_of(path: Path) -> str:
        s = str(path)
        if s.startswith(base):
            return s[len(base):].replace(os.sep, "/")
        return doc_id(path, root)

    return id_of


def _racy(entry: dict[str, Any]) -> bool:
    return entry.get("mtime_ns", 0) >= entry.get("checked_ns", 0) - RACY_NS


def file_changed(path: Path, entry: dict[str, Any] | None, st: os.stat_result) -> bool:
    """Whether a file may differ from its fingerprint (hashes it if the mtime is racy).

    Updates ``entry["checked_ns"]`` when a racy file turns out unchanged.
    """
    if entry is None or entry.get("size") != st.st_size or \
            entry.get("mtime_ns") != st.st_mtime_ns:
        return True
    if _racy(entry) and entry.get("sha256"):
        now = time.time_ns()
        try:
            if _sha256_of(path) != entry["sha256"]:
                return True
        except (OSError, ValueError):
            return True
        entry["checked_ns"] = now
    return False


def _sha256_of(path: Path) -> str:
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
    for path in corpus_files(root):
        rel = shown_id(id_of(path))
        try:
            st = path.stat()
        except OSError:
            if rel in files:
                return True
            continue
        seen += 1
        if file_changed(path, files.get(rel), st):
            return True
    return seen != len(files)


# -- the build --------------------------------------------------------------

def _n_process(cfg: dict[str, Any], new_passages: int) -> int:
    setting = int(cfg.get("annotate_processes") or 0)
    if setting > 0:
        return setting
    return min(2, os.cpu_count() or 1) if new_passages >= PARALLEL_MIN else 1


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
            from .sparse import SparseBM25

            index = PassageIndex.from_saved(SparseBM25.load(old.bm25_dir, mmap=True),
                                            old.terms, threshold)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("saved BM25 index is unusable (%s); rebuilding it", exc)
    if index is None and len(passages):
        bm25, terms_arr = _bm25_of(passages, source, old)
        index = PassageIndex.from_saved(bm25, terms_arr, threshold)

    # 5. Save: data files when documents or passages changed, fingerprints when they did.
    files_changed = files != old.files
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
                            bm25, terms_arr)
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


TOKENIZED = 0  # passages tokenized for BM25 by this process (tests count them)


def _bm25_of(passages: PassageTable, source: np.ndarray, old: Saved):
    """The sparse BM25 index of ``passages`` and their term ids (into its vocabulary).

    Passages kept from ``old`` (``source >= 0``) reuse their saved terms; the
    others are tokenized."""
    global TOKENIZED
    from .sparse import SparseBM25

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


def _skip(skipped: list[Skipped], rel: str, reason: str, known: bool = False,
          seen: dict[str, Any] | None = None) -> None:
    # Warned once per file: a skip the saved index already records (by this or
    # another server process) is logged at INFO.
    entry = (seen or {}).get(rel)
    known = known or (isinstance(entry, dict) and entry.get("skip") == reason)
    log.log(logging.INFO if known else logging.WARNING, "skipped %s: %s", rel, reason)
    skipped.append(Skipped(rel, reason))


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
        from . import cluster

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
    for ann in nlp.annotate(texts, cfg.get("spacy_model", ""), n_process=n_process,
                            cluster=address):
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
