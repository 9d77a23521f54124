"""Passages and annotations as NumPy columns: the tables the engine reads, made on access."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Callable, Iterator, Sequence

import numpy as np

from ..records import Annotation, Document, Passage

# Ragged annotation columns: name -> ints per row.
#   tokens: start, end, head, lemma, pos, dep (strings as ids into strings.json)
#   sents: first, end token; ents: first, end token, label id; chunks: first, end token
RAGGED = {"tokens": 6, "sents": 2, "ents": 3, "chunks": 2}


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
        # The engine reads the same few passages many times per question.
        self._get = lru_cache(maxsize=4096)(self._make)

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
        return self._get(i)

    def _make(self, i: int) -> Passage:
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
