"""The saved index on disk: signatures, loading a generation, writing a new one.

See :mod:`askfiles.store` for the folder layout. A new generation is written
into a fresh ``gen-*`` folder and the manifest replaced last (write, fsync,
``os.replace``); old generations are removed afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import formats, nlp, split
from ..load import MAX_DOC_CHARS
from .files import _file_digest, _fsync_dir, _store
from .tables import RAGGED, _empty_arrays

FORMAT = "askfiles-index"
VERSION = 1
VERIFY_MAX_BYTES = 256 << 20     # data files hashed on load up to this total size
CHECK_ROWS = 1 << 20             # annotation rows whose string ids are checked when large
BM25_FILES = ("indptr", "indices", "weights", "idf", "doc_len")


class IndexDamaged(Exception):
    """The saved index cannot be used (damaged or incompatible)."""


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
          bm25: Any = None, terms: np.ndarray | None = None,
          version: str | None = None) -> dict[str, Any]:
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

    put("files", lambda p: _store()._write_json(p, files), "files.json")
    if documents is None:
        keep("documents", "texts", "text_offsets")
    else:
        encoded = [d["text"].encode("utf-8", "surrogatepass") for d in documents]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        put("texts", lambda p: _store()._write_bytes(p, b"".join(encoded)), "texts.txt")
        del encoded
        put("text_offsets", lambda p: _store()._write_npy(p, offsets), "text_offsets.npy")
        put("documents", lambda p: _store()._write_json(p, [{"id": d["id"], "title": d["title"],
                                                     "meta": d["meta"]} for d in documents]),
            "documents.json")
    if bm25 is None and (passages is None or len(passages)):
        keep("terms", *("bm25/" + f for f in BM25_FILES + ("vocab", "meta")))
    elif bm25 is not None:   # (no passages: no BM25 index, not the old one)
        (gdir / "bm25").mkdir()
        put("terms", lambda p: _store()._write_npy(p, terms), "terms.npy")
        for name, arr in bm25.arrays().items():
            put("bm25/" + name, lambda p, a=arr: _store()._write_npy(p, a), f"bm25/{name}.npy")
        put("bm25/vocab", lambda p: _store()._write_json(p, bm25.vocab), "bm25/vocab.json")
        put("bm25/meta", lambda p: _store()._write_json(p, bm25.meta()), "bm25/meta.json")
        _fsync_dir(gdir / "bm25")
    if arrays is None:
        for name in ["strings", "passages", "hashes"] + [k for r in RAGGED
                                                          for k in (r, r + "_ptr")]:
            entries[name] = old_entries[name]
    else:
        put("strings", lambda p: _store()._write_json(p, strings), "strings.json")
        put("passages", lambda p: _store()._write_npy(p, passages), "passages.npy")
        put("hashes", lambda p: _store()._write_npy(p, hashes), "hashes.npy")
        for name, arr in arrays.items():
            put(name, lambda p, a=arr: _store()._write_npy(p, a), name + ".npy")
    _fsync_dir(gdir)
    manifest = {**sig, "corpus": str(root.resolve()),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "counts": {"documents": len(documents if documents is not None
                                            else old.documents),
                           "passages": int(len(passages if passages is not None
                                               else old.passages))},
                "files": entries}
    if version:
        manifest["index_version"] = version
    tmp = directory / f"manifest.json.tmp-{os.getpid()}"
    _store()._write_json(tmp, manifest)
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
