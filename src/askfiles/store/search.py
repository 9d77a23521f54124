"""BM25 over the postings of several segments, scored with the statistics of the live passages.

Each segment saves term frequencies, not weights: a weight depends on the
number of live passages, a term's document frequency among them and their
average length, which change with every update. A term's weights are worked
out the first time a question uses it, or ahead of questions by
:meth:`SegmentedBM25.warm` (kept, up to :data:`CACHE_POSTINGS` postings), with
the same float64 operations in the same order as
:meth:`askfiles.sparse.SparseBM25.from_ids`, so the scores are those of a fresh
build of the same corpus, bit for bit. Working them all out when a version is
loaded would take seconds at a million passages; one term's take microseconds
to a few milliseconds.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Iterator, Sequence

import numpy as np

from ..sparse import B, K1
from .segments import Segment
from .tables import _gather_flat

CACHE_POSTINGS = 40_000_000      # weighted postings kept (16 bytes each); beyond: per query
WARM_CHUNK = 64                  # terms weighed at once by :meth:`SegmentedBM25.warm`
FEW_POSTINGS = 65_536            # up to this many postings: :meth:`SegmentedBM25._weigh_few`


def _dead_df(seg: Segment, g: np.ndarray, rows: np.ndarray, ptr: np.ndarray,
             n_terms: int) -> np.ndarray:
    """Per term id, how many of the segment's deleted rows (``g < 0``) hold it.

    Few deleted rows (a changed or removed document): from their own term lists,
    not from a pass over all the segment's postings (0.15 s at a million passages)."""
    dead = np.flatnonzero(g < 0)
    if 8 * len(dead) >= len(g):  # many: count the live postings of each term
        out = np.zeros(n_terms, dtype=np.int64)
        live = np.add.reduceat((g[rows] >= 0).astype(np.int64), ptr[:-1])
        out[np.asarray(seg.arrays["post_terms"])] = np.diff(ptr) - live
        return out
    tptr, t = _gather_flat(seg.terms_ptr, seg.terms, dead)
    n = max(len(dead), 1)
    row = np.repeat(np.arange(len(dead), dtype=np.int64), np.diff(tptr))
    pairs = np.unique(t.astype(np.int64) * n + row)   # a row's term counts once
    return np.bincount(pairs // n, minlength=n_terms)


def _ascending(g: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A term's rows in ascending order (with their weights), for :func:`exact_sums`.

    Already so unless updates renumbered passages across segments."""
    if len(g) > 1 and bool((g[1:] < g[:-1]).any()):
        order = np.argsort(g, kind="stable")
        return g[order], w[order]
    return g, w


class SegmentedBM25:
    """Lucene-idf BM25 over segments; the interface of :class:`askfiles.sparse.SparseBM25`."""

    def __init__(self, segments: list[Segment], globs: list[np.ndarray], size: int,
                 vocab: Sequence[str], k1: float = K1, b: float = B):
        self.size, self.globs = size, globs
        self.term_ids = {t: i for i, t in enumerate(vocab)}
        self.k1, self.b = float(k1), float(b)
        self.df = np.zeros(len(vocab), dtype=np.int64)
        self.deleted = [bool((g < 0).any()) for g in globs]
        # A segment whose rows are numbered on from its first (no deletions, nothing
        # moved: most of them) maps a local row to a global one by one addition,
        # not by a look-up in its 100k-entry map for each of a common term's postings.
        self.offsets = [int(g[0]) if len(g) and not dead and bool((np.diff(g) == 1).all())
                        else None for g, dead in zip(globs, self.deleted)]
        # Global passage numbers and length norms of all segments' rows in one array
        # each (segment k's from base[k] on), for _weigh_few; self.norm: views of it.
        self.base = np.zeros(len(globs) + 1, dtype=np.int64)
        np.cumsum([len(g) for g in globs], out=self.base[1:])
        self.glob_all = (np.concatenate(globs).astype(np.int64, copy=False) if globs
                         else np.zeros(0, dtype=np.int64))
        total = 0
        self.posts = []
        for seg, g, deleted in zip(segments, globs, self.deleted):
            a = seg.arrays
            terms, ptr = np.asarray(a["post_terms"]), np.asarray(a["post_ptr"])
            rows, tf = np.asarray(a["post_rows"]), np.asarray(a["post_tf"])
            self.df[terms] += np.diff(ptr)
            if deleted and len(rows):  # live postings per term: the deleted rows' taken out
                self.df -= _dead_df(seg, g, rows, ptr, len(self.df))
            total += int(np.asarray(seg.doc_len)[g >= 0].sum())
            self.posts.append((terms, ptr, rows, tf))
        self.avgdl = total / size if size else 0.0  # Python int / int, as rank-bm25
        n = size
        # Lucene's idf, with math.log exactly as LuceneBM25 computes it.
        self.idf_values = np.array([math.log(1.0 + (n - d + 0.5) / (d + 0.5)) if d else 0.0
                                    for d in self.df.tolist()], dtype=np.float64)
        # k1 * (1 - b + b * dl / avgdl) per row, in from_ids's order of operations.
        norms = []
        for seg in segments:
            d = b * np.asarray(seg.doc_len)
            d /= self.avgdl
            d = (1 - b) + d
            d *= k1
            norms.append(d)
        self.norm_all = np.concatenate(norms) if norms else np.zeros(0)
        self.norm = [self.norm_all[x:y] for x, y in zip(self.base[:-1], self.base[1:])]
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._cached = 0
        self._count_lock = threading.Lock()   # the cache's size, kept under its bound
        self._local = threading.local()

    def __len__(self) -> int:
        return self.size

    def idf(self, term: str) -> float:
        """The term's idf, 0 for a term no live passage holds."""
        t = self.term_ids.get(term)
        return float(self.idf_values[t]) if t is not None else 0.0

    def _weigh(self, todo: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Live postings of the term ids ``todo``: (global rows, weights), all segments.

        Worked out per segment for all the terms at once (one look-up and one pass
        of arithmetic per segment, not per term and segment), each weight with the
        same float64 operations as :meth:`SparseBM25.from_ids` (so bit for bit).
        A few rare terms: :meth:`_weigh_few`."""
        ids = np.asarray(todo, dtype=np.int64)
        if int(self.df[ids].sum()) <= FEW_POSTINGS:
            return self._weigh_few(ids)
        idf = self.idf_values[ids]
        k1 = self.k1
        rows_of: list[list[np.ndarray]] = [[] for _ in todo]
        weights_of: list[list[np.ndarray]] = [[] for _ in todo]
        for k, hit, j in self._found(ids):
            _, ptr, rows, tf = self.posts[k]
            first, last = ptr[j], ptr[j + 1]
            if len(hit) == 1:
                a, z = int(first[0]), int(last[0])
                r, f = rows[a:z], tf[a:z]
            else:
                spans = list(zip(first.tolist(), last.tolist()))
                r = np.concatenate([rows[a:z] for a, z in spans])
                f = np.concatenate([tf[a:z] for a, z in spans])
            lens = last - first
            off = self.offsets[k]
            g = np.add(r, off, dtype=np.int64) if off is not None else self.globs[k].take(r)
            if self.deleted[k]:
                m = g >= 0
                r, g, f = r[m], g[m], f[m]
                live = np.zeros(len(m) + 1, dtype=np.int64)
                np.cumsum(m, out=live[1:])
                ends = np.cumsum(lens)
                lens = live[ends] - live[ends - lens]
            # rank-bm25: idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)))
            # (take: 40% faster than indexing with the int32 rows, the same values)
            denom = self.norm[k].take(r)
            denom += f
            w = f * (k1 + 1)
            w /= denom
            w *= np.repeat(idf[hit], lens)
            cuts = np.cumsum(lens).tolist()
            a = 0
            for h, z in zip(hit.tolist(), cuts):
                if z > a:
                    rows_of[h].append(g[a:z])
                    weights_of[h].append(w[a:z])
                a = z
        return [_ascending(np.concatenate(rs), np.concatenate(ws)) if rs else
                (np.zeros(0, dtype=np.int64), np.zeros(0))
                for rs, ws in zip(rows_of, weights_of)]

    def _found(self, ids: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Per segment holding some of the term ids: (segment, which ids, their places
        in the segment's term list)."""
        for k, (terms, _, _, _) in enumerate(self.posts):
            if not len(terms):
                continue
            want = ids.astype(terms.dtype)  # (int64 ids would copy the whole term list)
            j = np.searchsorted(terms, want)
            np.minimum(j, len(terms) - 1, out=j)
            hit = np.flatnonzero(terms[j] == want)
            if len(hit):
                yield k, hit, j[hit]

    def _weigh_few(self, ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`_weigh` for few postings: one pass of arithmetic over all segments' slices
        (a rare term's weighing: 0.2-0.3 ms at 12 segments, not 0.5 ms, same floats)."""
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
        spans = [(h, k, a, z)   # (term, segment, first, last)
                 for k, hit, j in self._found(ids)
                 for h, a, z in zip(hit.tolist(), self.posts[k][1][j].tolist(),
                                    self.posts[k][1][j + 1].tolist()) if z > a]
        if not spans:
            return [empty for _ in ids]
        spans.sort(key=lambda x: (x[0], x[1]))   # by term, then segment (as _weigh)
        posts, base = self.posts, self.base.tolist()
        at = np.concatenate([np.add(posts[k][2][a:z], base[k], dtype=np.int64)
                             for _, k, a, z in spans])
        f = np.concatenate([posts[k][3][a:z] for _, k, a, z in spans])
        g = self.glob_all.take(at)
        # rank-bm25: idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)))
        denom = self.norm_all.take(at)
        denom += f
        w = f * (self.k1 + 1)
        w /= denom
        lens = [0] * len(ids)
        for h, _, a, z in spans:
            lens[h] += z - a
        out, a, dead = [], 0, any(self.deleted)
        for t, n in zip(ids.tolist(), lens):
            if not n:
                out.append(empty)
                continue
            gt, wt = g[a:a + n], w[a:a + n]
            wt *= self.idf_values[t]   # (a float64 scalar: the same products)
            if len(ids) > 1:   # (a cached term must not keep the others' arrays alive)
                gt, wt = gt.copy(), wt.copy()
            if dead:
                m = gt >= 0
                gt, wt = gt[m], wt[m]
            out.append(_ascending(gt, wt))
            a += n
        return out

    def _weighted(self, query: Sequence[str]) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Per known query term (first-seen order): its count, global rows and weights."""
        known = []
        for term, c in Counter(query).items():
            t = self.term_ids.get(term)
            if t is not None and self.df[t]:
                known.append((t, c))
        cache = self._cache
        todo = [t for t, _ in known if t not in cache]
        got = {}
        if todo:
            for t, (g, w) in zip(todo, self._weigh(todo)):
                got[t] = (g, w)
                self._keep(t, g, w)
        out = []
        for t, c in known:
            g, w = cache.get(t) or got[t]
            out.append((c, g, w))
        return out

    def _keep(self, t: int, g: np.ndarray, w: np.ndarray) -> bool:
        """Cache one term's weighted postings while the cache has room for them."""
        with self._count_lock:
            if t in self._cache or self._cached + len(g) > CACHE_POSTINGS:
                return False
            self._cached += len(g)
            self._cache[t] = (g, w)
        return True

    def warm(self, stop: threading.Event | None = None) -> int:
        """Weigh the commonest terms ahead of questions, until the cache is full.

        A common term is the costliest to weigh on first use (most postings) and
        the likeliest to be asked about again (1M passages: 0.9-1.0 s, search p50
        3.2-3.5 -> 2.6-2.9 ms, BENCHMARKS.md session 12). Most common first, in
        chunks, so that ``stop`` (set when this version is replaced) ends it soon.
        Returns the postings weighed; the weights are those a first use works out.
        """
        done = 0
        room = CACHE_POSTINGS - self._cached
        order = np.argsort(-self.df, kind="stable")
        picked, size = [], 0
        for t, d in zip(order.tolist(), self.df[order].tolist()):
            if d == 0 or size + d > room:
                break
            picked.append(t)
            size += d
        for a in range(0, len(picked), WARM_CHUNK):
            if stop is not None and stop.is_set():
                break
            todo = [t for t in picked[a:a + WARM_CHUNK] if t not in self._cache]
            for t, (g, w) in zip(todo, self._weigh(todo) if todo else ()):
                if self._keep(t, g, w):
                    done += len(g)
        return done

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every live passage (repeated terms count again)."""
        out = np.zeros(self.size)
        for c, g, w in self._weighted(query):
            np.add.at(out, g, w if c == 1 else c * w)  # (rows of a term are distinct)
        return out

    def _buffer(self, dtype=np.float64) -> np.ndarray:
        key = "buf" if dtype == np.float64 else "buf32"
        buf = getattr(self._local, key, None)
        if buf is None:  # one zeroed score array per thread and type, cleaned after each query
            buf = np.empty(self.size, dtype=dtype)
            buf.fill(0.0)  # touch every page now, not during a query
            setattr(self._local, key, buf)
        return buf

    def top_k(self, query: Sequence[str], k: int, allowed: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best passages with a positive score, as ``SparseBM25.top_k`` gives them."""
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
        terms = [(g, w if c == 1 else c * w) for c, g, w in self._weighted(query)]
        if not terms or k <= 0 or (allowed is not None and not len(allowed)):
            return empty
        if allowed is not None:
            sel, top = self._allowed(terms, np.asarray(allowed, dtype=np.int64))
        else:
            sel = self._contenders(terms, k)
            top = exact_sums(terms, sel)
        if len(top) > k:  # only the best k (ties at the k-th score kept) are sorted
            cut = np.partition(top, len(top) - k)[len(top) - k]
            keep = top >= cut
            sel, top = sel[keep], top[keep]
        order = np.lexsort((sel, -top))[:k]
        sel, top = sel[order], top[order]
        pos = top > 0
        return sel[pos].astype(np.int64), top[pos]

    def _allowed(self, terms, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The allowed passages that hold a query term, and their scores."""
        buf = self._buffer()
        for g, w in terms:  # in query order: rank-bm25's sums
            # buf[g] += w, as the rows of a term are distinct; 2.5-4x faster on int64 rows
            np.add.at(buf, g, w)
        sel = sel[buf[sel] > 0]
        top = buf[sel]
        self._clean(buf, [g for g, _ in terms])
        return sel, top

    def _contenders(self, terms, k: int) -> np.ndarray:
        """Every passage that may be among the ``k`` best (and some that are not).

        Summed in float32: half the memory traffic of the score array (8.7 MB at a
        million passages) in adding, picking and cleaning. Its rounding is covered
        by a margin below the cut, and the contenders' exact float64 scores
        (:func:`exact_sums`) decide."""
        buf = self._buffer(np.float32)
        rows = [g for g, _ in terms]
        for g, w in terms:
            np.add.at(buf, g, w.astype(np.float32))
        # A lower bound of the k-th best score from the rarest terms' passages
        # (enough of them to hold k passages): only passages above it are kept.
        order = sorted(range(len(rows)), key=lambda j: len(rows[j]))
        parts, size = [], 0
        for j in order:
            parts.append(rows[j])
            size += len(rows[j])
            if size >= k * len(parts):
                break
        rare = parts[0] if len(parts) == 1 else np.concatenate(parts)
        vals = buf[rare]
        kk = k * len(parts)
        cut = np.partition(vals, len(vals) - kk)[len(vals) - kk] if len(vals) > kk \
            else vals.min()
        # float32 sums of n positive terms are within (n + 1) * 2**-24 of the exact ones
        # (each weight rounded once, each addition once): four times that as the margin.
        cut = np.float32(float(cut) * (1.0 - (len(terms) + 2) * 2.0 ** -22))
        postings = sum(len(r) for r in rows)
        if len(parts) == len(rows):
            sel = rare[vals >= cut]
            sel = np.unique(sel) if len(parts) > 1 else sel
        elif postings * 8 > self.size:
            sel = np.flatnonzero(buf >= cut)
        else:
            cand = np.concatenate(rows)
            sel = np.unique(cand[buf[cand] >= cut])
        self._clean(buf, rows)
        return sel

    def _clean(self, buf: np.ndarray, rows: list[np.ndarray]) -> None:
        """Zero what a query added: the whole array when it touched much of it."""
        if sum(len(r) for r in rows) * 8 > self.size:
            buf.fill(0.0)
        else:
            for r in rows:
                buf[r] = 0.0

    def search(self, query: Sequence[str], k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best passages with a positive score, best first (ties by position)."""
        ids, vals = self.top_k(query, k, allowed)
        return list(zip(ids.tolist(), vals.tolist()))


def exact_sums(terms: list[tuple[np.ndarray, np.ndarray]], sel: np.ndarray) -> np.ndarray:
    """float64 scores of the passages ``sel``: each term's weight added in query order,
    as ``np.add.at`` into a zeroed array does (the same floats, bit for bit).

    ``terms``: (rows sorted ascending, weights) per term, as the cache keeps them."""
    out = np.zeros(len(sel))
    for g, w in terms:
        if not len(g):
            continue
        j = np.searchsorted(g, sel)
        np.minimum(j, len(g) - 1, out=j)
        hit = g[j] == sel
        out[hit] += w[j[hit]]
    return out
