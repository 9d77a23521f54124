"""The saved index on disk: signatures, the manifest, the state files, publishing.

See :mod:`askfiles.store` for the folder layout. New files go into fresh
``gen-*`` folders and the manifest is replaced last (write, fsync,
``os.replace``); folders it no longer names are removed afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import formats, nlp, split
from ..load import MAX_DOC_CHARS
from .files import _file_digest, _fsync_dir, _store, paused_gc
from .segments import IndexDamaged, Segment, check_entry, load_segment
from .view import View, empty_view

FORMAT = "askfiles-index"
VERSION = 2                      # 2: segments, a live list, global strings and vocabulary
VERIFY_MAX_BYTES = 256 << 20     # data files hashed on load up to this total size
CHECK_ROWS = 1 << 16             # rows of a large segment whose ids are checked (each end)
STATE = ("files", "live", "strings", "vocab")


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

# Segments already loaded, by (index folder, name): a reader that loads a new
# version maps only the segments it does not have yet (they never change).
_LOADED: dict[tuple[str, str], tuple[Segment, list]] = {}


def _stamps(directory: Path, entry: dict[str, Any]) -> list:
    """Size and mtime of a segment's files: a cached segment is reused only while they hold."""
    out = []
    for e in (entry.get("files") or {}).values():
        try:
            st = (directory / e["path"]).stat()
            out.append((e["path"], st.st_size, st.st_mtime_ns))
        except (OSError, KeyError, TypeError):
            out.append(None)
    return out


def _cached(directory: Path, key: str, entry: Any) -> Segment | None:
    hit = _LOADED.get((key, entry.get("name"))) if isinstance(entry, dict) else None
    return hit[0] if hit is not None and hit[1] == _stamps(directory, entry) else None


@dataclass
class Saved:
    """A saved index as loaded (or an empty one)."""

    manifest: dict[str, Any]
    segments: list[Segment]                   # every segment the manifest lists
    view: View                                # their live documents, as the engine reads them
    files: dict[str, dict[str, Any]]   # id -> size, mtime_ns, sha256[, skip, ctime_ns, link]
    strings: list[str] = field(default_factory=list)
    vocab: list[str] = field(default_factory=list)
    moved_from: str | None = None             # the corpus it was built for, when not this one

    @classmethod
    def empty(cls) -> "Saved":
        return cls({}, [], empty_view(), {})

    @property
    def documents(self) -> list[dict[str, Any]]:
        """id, title and meta of the live documents, in corpus order."""
        return [{"id": d.id, "title": d.title, "meta": d.meta} for d in self.view.documents]


def _load_saved(directory: Path, sig: dict[str, Any], root: Path,
                replica: bool = False) -> Saved:
    """The saved index in ``directory``; raises IndexDamaged saying why it is unusable.

    ``replica``: loaded by a reader that serves it as published (see
    :mod:`askfiles.published`): the corpus folder and the extraction settings it
    was built with are the builder's business, not checked here."""
    with paused_gc():
        return _load(directory, sig, root, replica)


def _load(directory: Path, sig: dict[str, Any], root: Path, replica: bool) -> Saved:
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
    moved_from = None
    if not replica and manifest.get("corpus") != str(root.resolve()):
        moved_from = str(manifest.get("corpus"))
    entries, segs = manifest.get("files"), manifest.get("segments")
    if not isinstance(entries, dict) or not isinstance(segs, list):
        raise IndexDamaged("manifest.json lists no data files")
    key = str(directory.resolve())
    new = [s for s in segs if _cached(directory, key, s) is None]
    size = sum(int(e.get("bytes", 0)) for e in entries.values() if isinstance(e, dict)) + \
        sum(int(e.get("bytes", 0)) for s in new if isinstance(s, dict)
            for e in (s.get("files") or {}).values() if isinstance(e, dict))
    verify = size <= VERIFY_MAX_BYTES

    def json_of(name: str) -> Any:
        try:
            return json.loads(check_entry(directory, entries.get(name), name, verify)
                              .read_bytes().decode("utf-8", "surrogatepass"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise IndexDamaged(f"{name} is not valid JSON ({exc})") from None

    files, strings, vocab = json_of("files"), json_of("strings"), json_of("vocab")
    if not (isinstance(files, dict) and isinstance(strings, list) and isinstance(vocab, list)):
        raise IndexDamaged("files, strings or vocabulary have the wrong shape")
    try:
        live = np.load(check_entry(directory, entries.get("live"), "live", verify),
                       allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise IndexDamaged(f"live is not a readable NumPy array ({exc})") from None
    if live.dtype != np.int64 or live.ndim != 2 or live.shape[1] != 2:
        raise IndexDamaged(f"live has shape {live.shape} {live.dtype}")
    segments, loaded = [], {}
    for s in segs:
        seg = _cached(directory, key, s)
        if seg is None:
            seg = load_segment(directory, s, verify)
            _check_ids(seg, len(strings), len(vocab))  # (strings only grow: checked once)
        segments.append(seg)
        loaded[(key, seg.name)] = (seg, _stamps(directory, s))
    for k in [k for k in _LOADED if k[0] == key]:
        del _LOADED[k]
    _LOADED.update(loaded)
    if len(live) and (live[:, 0].min() < 0 or live[:, 0].max() >= len(segments) or
                      live[:, 1].min() < 0 or
                      any(live[live[:, 0] == k, 1].max(initial=-1) >= len(s.docs)
                          for k, s in enumerate(segments))):
        raise IndexDamaged("the live list names documents no segment holds")
    if moved_from is not None:
        # Built for another folder: the corpus was moved or copied (cp -r gives new
        # mtimes), or another corpus uses this index folder. Sizes and times vouch for
        # nothing then: without its mtime every file is read and compared by content
        # (sha256), and one still the same keeps its document and annotations.
        files = {rel: {k: v for k, v in e.items() if k != "mtime_ns"}
                 for rel, e in files.items() if isinstance(e, dict)}
    if not replica and manifest.get("extract") != sig["extract"]:
        # Text extraction changed: keep annotations (keyed by passage text), re-read files.
        live, files = live[:0], {}
    return Saved(manifest, segments, View(segments, live, strings, vocab), files,
                 strings, vocab, moved_from)


def _check_ids(seg: Segment, n_strings: int, n_vocab: int) -> None:
    # String and term ids in range. A large segment is checked on its first and last
    # rows only (reading it all would page in gigabytes at start-up).
    tok, ents, terms = seg.arrays["tokens"], seg.arrays["ents"], seg.terms
    big = len(tok) > 2 * CHECK_ROWS
    parts = ([tok[:CHECK_ROWS, 3:6].ravel(), tok[-CHECK_ROWS:, 3:6].ravel(),
              ents[:CHECK_ROWS, 2], ents[-CHECK_ROWS:, 2]] if big
             else [tok[:, 3:6].ravel(), ents[:, 2]])
    ids = np.concatenate(parts)
    if len(ids) and (ids.min() < 0 or ids.max() >= n_strings):
        raise IndexDamaged("string ids out of range")
    t = np.concatenate([terms[:CHECK_ROWS], terms[-CHECK_ROWS:]]) if big else terms
    if len(t) and (t.min() < 0 or t.max() >= n_vocab):
        raise IndexDamaged("term ids out of range")


def write_state(directory: Path, old: dict[str, Any], files: dict[str, Any],
                live: np.ndarray, strings: list[str], vocab: list[str],
                same: dict[str, bool]) -> dict[str, Any]:
    """The state files in a new folder; those ``same`` marks unchanged keep their old entry."""
    entries = {k: old[k] for k in STATE if same.get(k) and k in old}
    todo = [k for k in STATE if k not in entries]
    if not todo:
        return entries
    gen = f"gen-{time.time_ns():x}-{os.getpid()}-state"
    gdir = directory / gen
    gdir.mkdir(parents=True)
    data = {"files": files, "strings": strings, "vocab": vocab}
    for k in todo:
        p = gdir / (k + (".npy" if k == "live" else ".json"))
        if k == "live":
            _store()._write_npy(p, np.asarray(live, dtype=np.int64).reshape(-1, 2))
        else:
            _store()._write_json(p, data[k])
        entries[k] = {"path": f"{gen}/{p.name}", "bytes": p.stat().st_size,
                      "sha256": _file_digest(p)}
    _fsync_dir(gdir)
    return entries


def publish(directory: Path, sig: dict[str, Any], root: Path, segments: list[dict[str, Any]],
            state: dict[str, Any], counts: dict[str, int], version: str) -> dict[str, Any]:
    """Replace the manifest (write, fsync, ``os.replace``), then remove what it no longer names."""
    manifest = {**sig, "corpus": str(root.resolve()),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "counts": counts, "index_version": version, "files": state,
                "segments": segments}
    tmp = directory / f"manifest.json.tmp-{os.getpid()}"
    _store()._write_json(tmp, manifest)
    os.replace(tmp, directory / "manifest.json")
    _fsync_dir(directory)
    cleanup(directory, manifest)
    return manifest


def referenced(manifest: dict[str, Any]) -> set[str]:
    """The ``gen-*`` folders a manifest names."""
    out = {e["path"].split("/", 1)[0] for e in manifest.get("files", {}).values()
           if isinstance(e, dict) and "path" in e}
    for s in manifest.get("segments", []):
        if isinstance(s, dict):
            out.add(str(s.get("name")))
    return out


def cleanup(directory: Path, manifest: dict[str, Any]) -> None:
    """Remove folders and temporary files the manifest does not name (open maps stay valid)."""
    keep = referenced(manifest)
    for child in directory.iterdir():
        if (child.name.startswith("gen-") and child.name not in keep) or \
                child.name.startswith("manifest.json.tmp-"):
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else \
                child.unlink(missing_ok=True)
