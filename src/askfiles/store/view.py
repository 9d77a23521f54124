"""What the engine reads: the live documents of all segments as one corpus.

The live list (``live.npy``: segment, local document, in corpus order) decides
which documents are there and their order, so passage numbers are those a
fresh build of the same corpus would give (documents in corpus order, their
passages in order), and so are ties in the ranking.
"""

from __future__ import annotations

import hashlib
from typing import Iterator, Sequence

import numpy as np

from ..records import Annotation
from .files import paused_gc
from .segments import Segment
from .tables import PassageTable


class SegmentedAnnotations(Sequence[Annotation]):
    """The annotations of the live passages, each read from its segment's table."""

    def __init__(self, segments: list[Segment], seg_of: np.ndarray, local_of: np.ndarray,
                 strings: list[str]):
        self.segments = segments
        self.tables = [s.table(strings) for s in segments]
        self.seg_of, self.local_of = seg_of, local_of
        self.strings = strings

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """Every segment's annotation arrays, keyed ``<segment number>:<name>``."""
        return {f"{k}:{name}": a for k, t in enumerate(self.tables)
                for name, a in t.arrays.items()}

    def __len__(self) -> int:
        return len(self.seg_of)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.tables[int(self.seg_of[i])][int(self.local_of[i])]

    def __iter__(self) -> Iterator[Annotation]:
        for s, r in zip(self.seg_of.tolist(), self.local_of.tolist()):
            yield self.tables[s][r]


class View:
    """Segments and the live list, as documents, passages, annotations and BM25."""

    def __init__(self, segments: list[Segment], live: np.ndarray, strings: list[str],
                 vocab: list[str]):
        with paused_gc():
            self._make(segments, live, strings, vocab)

    def _make(self, segments: list[Segment], live: np.ndarray, strings: list[str],
              vocab: list[str]) -> None:
        self.segments, self.strings, self.vocab = segments, strings, vocab
        live = np.asarray(live, dtype=np.int64).reshape(-1, 2)
        self.live = live
        self.documents = tuple(segments[s].document(d) for s, d in live.tolist())
        first = np.zeros(len(live), dtype=np.int64)
        count = np.zeros(len(live), dtype=np.int64)
        for k, seg in enumerate(segments):
            m = live[:, 0] == k
            first[m] = seg.doc_ptr[live[m, 1]]
            count[m] = seg.doc_ptr[live[m, 1] + 1] - first[m]
        total = int(count.sum())
        base = np.zeros(len(live) + 1, dtype=np.int64)
        np.cumsum(count, out=base[1:])
        self.seg_of = np.repeat(live[:, 0], count).astype(np.int32)
        self.local_of = np.repeat(first - base[:-1], count) + np.arange(total, dtype=np.int64)
        doc = np.repeat(np.arange(len(live), dtype=np.int64), count)
        start = np.zeros(total, dtype=np.int64)
        end = np.zeros(total, dtype=np.int64)
        # Per segment: its local row -> global passage number (-1: deleted).
        self.globs: list[np.ndarray] = []
        for k, seg in enumerate(segments):
            m = np.flatnonzero(self.seg_of == k)
            rows = self.local_of[m]
            p = np.asarray(seg.passages)
            start[m], end[m] = p[rows, 1], p[rows, 2]
            g = np.full(len(seg), -1, dtype=np.int64)
            g[rows] = m
            self.globs.append(g)
        rank = np.arange(total, dtype=np.int64) - np.repeat(base[:-1], count)  # n in its document
        self.passages = PassageTable(self.documents, doc, start, end, rank)
        self.annotations = SegmentedAnnotations(segments, self.seg_of, self.local_of, strings)

    def version(self) -> str:
        """``records.corpus_version`` of the live documents, from their saved text hashes."""
        pairs = []
        for s, d in self.live.tolist():
            doc = self.segments[s].docs[d]
            sha = doc.get("sha1")
            if not isinstance(sha, str):  # (not saved: read the text)
                sha = hashlib.sha1(self.segments[s].text(d).encode("utf-8", "surrogatepass")
                                   ).hexdigest()
            pairs.append((doc["id"], sha))
        h = hashlib.sha1()
        for doc_id, sha in sorted(pairs):
            h.update(doc_id.encode("utf-8", "surrogatepass") + b"\0")
            h.update(bytes.fromhex(sha))
        return h.hexdigest()[:8]

    def live_rows(self, k: int) -> int:
        """Live passages of segment ``k``."""
        return int(np.count_nonzero(self.globs[k] >= 0))

    def index(self, threshold: int | None):
        """The BM25 index a fresh build of these passages would have (same scores)."""
        from ..index import PassageIndex
        from .search import SegmentedBM25

        n = len(self.seg_of)
        if not n:
            return None
        if threshold is not None and n > threshold:
            with paused_gc():
                return PassageIndex.from_sparse(SegmentedBM25(self.segments, self.globs, n,
                                                              self.vocab))
        vocab = self.vocab
        lists = []
        for s, r in zip(self.seg_of.tolist(), self.local_of.tolist()):
            seg = self.segments[s]
            a, b = seg.terms_ptr[r], seg.terms_ptr[r + 1]
            lists.append([vocab[t] for t in seg.terms[a:b].tolist()])
        return PassageIndex(lists, threshold)


def empty_view() -> View:
    """A view of no segments."""
    return View([], np.zeros((0, 2), dtype=np.int64), [], [])

