"""Asking within some documents: ids or glob patterns over ids -> the passages to search.

A pattern is a document id (``news/a.txt``) or a glob over ids: ``*`` and
``?`` match within one path segment, ``**`` across segments (``news/**``),
``[abc]`` one of the characters; a pattern ending in ``/`` takes everything
under that folder. The passages of the chosen documents are handed to the
index search as a sorted array, so the filter runs inside the index.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:
    from .engine import Engine

MAX_PATTERNS = 100
MAX_PATTERN_CHARS = 1000
_GLOB = re.compile(r"[*?\[]")


API_HINT = "GET /api/documents lists the ids"


class NoMatch(ValueError):
    """A pattern that names no document; ``hint`` says where the ids are listed."""

    def __init__(self, pattern: str, hint: str = API_HINT):
        super().__init__(f"No document matches {pattern!r}; {hint}.")
        self.pattern = pattern


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` has glob characters (else it is an id or a folder)."""
    return bool(_GLOB.search(pattern))


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    """The compiled regular expression of a glob over document ids."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                neg = body[:1] in ("!", "^")
                body = body[1:] if neg else body
                out.append("[" + ("^" if neg else "") + body.replace("\\", "\\\\") + "]")
                i = j + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def matching(pattern: str, ids: Iterable[str], known: dict | None = None) -> list[str]:
    """The ids matched by one pattern (an exact id, a folder ending in ``/``, or a glob)."""
    if known is not None and pattern in known:
        return [pattern]
    if pattern.endswith("/"):
        return [i for i in ids if i.startswith(pattern)]
    if not is_glob(pattern):
        return [i for i in ids if i == pattern]
    try:
        rx = _regex(pattern)
    except re.error:
        return []
    return [i for i in ids if rx.match(i)]


def check_patterns(value: object) -> list[str]:
    """``documents`` as a list of patterns, else ``TypeError``/``ValueError`` saying why."""
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise TypeError('"documents" must be a list of document ids or glob patterns, '
                        'e.g. ["news/*.txt"].')
    if not value:
        raise ValueError('"documents" is empty; leave it out to search every document.')
    if len(value) > MAX_PATTERNS:
        raise ValueError(f'"documents" has {len(value)} patterns; the limit is {MAX_PATTERNS}.')
    for p in value:
        if not p or len(p) > MAX_PATTERN_CHARS:
            raise ValueError(f'Every pattern in "documents" must have 1 to '
                             f"{MAX_PATTERN_CHARS} characters.")
    return value


class Selector:
    """Resolves patterns to document ids and passage numbers for one engine, cached."""

    def __init__(self, engine: "Engine", cache_size: int = 256):
        self.engine = engine
        self.ids = sorted(engine.documents)
        self._position = {d: n for n, d in enumerate(self.ids)}
        per_doc = engine._doc_passages()
        spans = [per_doc.get(d, (0, 0)) for d in self.ids]
        self._first = np.array([f for f, _ in spans], dtype=np.int64)
        self._count = np.array([c for _, c in spans], dtype=np.int64)
        self._cache: OrderedDict[tuple[str, ...], tuple[tuple[str, ...], np.ndarray]] = \
            OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def resolve(self, patterns: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
        """The matched document ids and their passages (sorted); :class:`NoMatch` if a
        pattern matches nothing."""
        key = tuple(patterns)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        docs = self.engine.documents
        chosen: dict[str, None] = {}
        for p in key:
            found = matching(p, self.ids, docs)
            if not found:
                raise NoMatch(p)
            chosen.update(dict.fromkeys(found))
        out = (tuple(sorted(chosen)), self.passages_of(chosen))
        with self._lock:
            self._cache[key] = out
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return out


    def passages_of(self, doc_ids) -> np.ndarray:
        """The sorted passage numbers of these documents (each a contiguous run)."""
        rows = np.fromiter((self._position[d] for d in doc_ids), dtype=np.int64)
        first, count = self._first[rows], self._count[rows]
        total = int(count.sum())
        if not total:
            return np.zeros(0, dtype=np.int64)
        # Each document's run: its first passage + 0..count-1, all runs in one go.
        shift = np.repeat(first - (np.cumsum(count) - count), count)
        return np.sort(np.arange(total, dtype=np.int64) + shift)


_selectors: "weakref.WeakKeyDictionary[Engine, Selector]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def selector(engine: "Engine") -> Selector:
    """The :class:`Selector` of an engine (one per engine, made on first use)."""
    with _lock:
        s = _selectors.get(engine)
        if s is None:
            s = _selectors[engine] = Selector(engine)
        return s


def allowed_passages(engine: "Engine", patterns: Sequence[str] | None) -> np.ndarray | None:
    """The passages of the documents ``patterns`` name (None: every passage)."""
    if patterns is None:
        return None
    return selector(engine).resolve(patterns)[1]


def folders(ids: Iterable[str]) -> list[str]:
    """Every folder holding documents, as ``folder/`` patterns, sorted."""
    out: set[str] = set()
    for i in ids:
        parts = i.split("/")[:-1]
        for n in range(1, len(parts) + 1):
            out.add("/".join(parts[:n]) + "/")
    return sorted(out)
