"""BM25 over a sparse term-by-passage matrix, for corpora too large for rank-bm25.

rank-bm25 keeps one Python dict of term counts per passage and, for every query
term, looks the term up in all of them: about a second per query over a million
passages. Here the index is a compressed sparse column (CSC) matrix of passages
by terms held in three NumPy arrays:

- ``indptr[t]:indptr[t + 1]`` is the slice of term ``t``'s postings;
- ``indices`` holds the passage numbers of the postings (ascending per term);
- ``weights`` holds each posting's complete BM25 contribution
  ``idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``.

A query only touches its own terms' postings, so it costs time in proportion to
how many passages hold its terms, not to the corpus size.

The scores are the same as :class:`askfiles.index.LuceneBM25`'s (rank-bm25's
``BM25Okapi`` with Lucene's idf ``log(1 + (N - n + 0.5) / (n + 0.5))``), and
bit for bit: each weight is computed in float64 with the same operations in the
same order as rank-bm25's ``get_scores``, and a passage's score adds them up in
the query's order, as rank-bm25 does. So both paths rank ties the same way and
give the same answers.

The index saves to a folder of ``.npy`` arrays and JSON (never pickle) and
loads back, optionally memory-mapped.
"""

from __future__ import annotations

import json
import math
import threading
from array import array
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

K1 = 1.2
B = 0.75

FORMAT = "askfiles-sparse-bm25"
FORMAT_VERSION = 1
_ARRAYS = ("indptr", "indices", "weights", "idf", "doc_len")


class SparseBM25:
    """Lucene-idf BM25 over a CSC matrix; same scores as ``LuceneBM25``.

    Build it with :meth:`build` from the passages' terms, or :meth:`load` a saved
    one. ``scores`` gives every passage's score; ``search`` the best ``k``
    passages without scoring the passages that hold none of the query terms.
    """

    def __init__(self, vocab: Sequence[str], indptr: np.ndarray, indices: np.ndarray,
                 weights: np.ndarray, idf: np.ndarray, doc_len: np.ndarray,
                 k1: float = K1, b: float = B, avgdl: float | None = None):
        self.vocab = list(vocab)
        self.term_ids = {t: i for i, t in enumerate(self.vocab)}
        self.indptr = indptr
        self.indices = indices
        self.weights = weights
        self.idf_values = idf
        self.doc_len = doc_len
        self.size = len(doc_len)
        self.k1, self.b = float(k1), float(b)
        self.avgdl = float(avgdl) if avgdl is not None else (
            int(doc_len.sum()) / self.size if self.size else 0.0)
        self._local = threading.local()
        self.search(self.vocab[:2], 1)  # warm up buffers and code paths now, not on a request

    def __len__(self) -> int:
        return self.size

    # -- building -----------------------------------------------------------

    @classmethod
    def build(cls, passage_terms: Iterable[Sequence[str]], k1: float = K1,
              b: float = B) -> "SparseBM25":
        """The index of the passages' terms (one sequence of terms per passage)."""
        term_ids: dict[str, int] = {}
        new_id = term_ids.setdefault
        flat = array("i")
        lengths = array("q")
        for toks in passage_terms:
            lengths.append(len(toks))
            flat.extend([new_id(t, len(term_ids)) for t in toks])
        vocab = list(term_ids)
        del term_ids
        return cls.from_ids(vocab, np.frombuffer(flat, dtype=np.int32),
                            np.frombuffer(lengths, dtype=np.int64), k1, b)

    @classmethod
    def from_ids(cls, vocab: Sequence[str], term_ids: np.ndarray, doc_len: np.ndarray,
                 k1: float = K1, b: float = B) -> "SparseBM25":
        """The index of passages given as term ids: passage ``i`` is the next ``doc_len[i]`` ids."""
        n = len(doc_len)
        doc_len = np.asarray(doc_len, dtype=np.int64)
        v = len(vocab)
        if n == 0:
            raise ValueError("cannot index an empty corpus")
        total = int(doc_len.sum())
        if total != len(term_ids):
            raise ValueError(f"doc_len sums to {total} but {len(term_ids)} term ids were given")
        # One key per (term, passage) occurrence, sorted: runs of equal keys are one
        # posting and their length its term frequency; sorted keys order the postings
        # by term, then by passage.
        key = np.asarray(term_ids, dtype=np.int64) * n
        key += np.repeat(np.arange(n, dtype=np.int64), doc_len)
        key.sort()
        if len(key):
            first = np.empty(len(key), dtype=bool)
            first[0] = True
            np.not_equal(key[1:], key[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            del first
        else:
            starts = np.zeros(0, dtype=np.int64)
        tf = np.diff(np.append(starts, len(key)))
        key = key[starts]
        del starts
        term = key // n
        indices = (key - term * n).astype(np.int32)
        del key
        df = np.bincount(term, minlength=v)
        indptr = np.zeros(v + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        # Lucene's idf, with math.log exactly as LuceneBM25 computes it.
        idf = np.array([math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for d in df.tolist()],
                       dtype=np.float64)
        avgdl = total / n  # Python int / int, as rank-bm25 computes it
        # rank-bm25: idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)))
        dl = doc_len[indices]
        denom = b * dl
        del dl
        denom /= avgdl
        denom = (1 - b) + denom
        denom *= k1
        denom += tf
        weights = tf * (k1 + 1)
        del tf
        weights /= denom
        del denom
        weights = idf[term] * weights
        del term
        return cls(vocab, indptr, indices, weights, idf, doc_len, k1, b, avgdl)

    # -- the PassageIndex interface ----------------------------------------

    def idf(self, term: str) -> float:
        """The term's idf, 0 for a term the index has never seen."""
        i = self.term_ids.get(term)
        return float(self.idf_values[i]) if i is not None else 0.0

    def _known(self, query: Sequence[str]) -> list[tuple[int, int]]:
        """Ids of the query's known terms and how often each occurs, in first-seen order.

        A repeated term is added once with its weight times the count: a question
        of one word said 200 times costs one pass, not 200."""
        ids = self.term_ids
        return [(ids[t], c) for t, c in Counter(query).items() if t in ids]

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for the query terms (repeated terms count again)."""
        out = np.zeros(self.size)
        for t, c in self._known(query):
            a, z = self.indptr[t], self.indptr[t + 1]
            out[self.indices[a:z]] += self.weights[a:z] if c == 1 else c * self.weights[a:z]
        return out

    def _buffer(self) -> np.ndarray:
        buf = getattr(self._local, "buf", None)
        if buf is None:  # one zeroed score array per thread, cleaned after each query
            buf = self._local.buf = np.empty(self.size)
            buf.fill(0.0)  # touch every page now, not during a query
        return buf

    def top_k(self, query: Sequence[str], k: int, allowed: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Passage numbers and scores of the ``k`` best passages with a positive score.

        Best first; equal scores by passage number, as ``PassageIndex.search`` orders them.
        ``allowed`` (sorted passage numbers) restricts the result to those passages.
        """
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
        ids = self._known(query)
        if not ids or k <= 0 or (allowed is not None and not len(allowed)):
            return empty
        if allowed is not None:
            return self._top_k_within(ids, k, np.asarray(allowed, dtype=np.int64))
        indptr, indices, weights = self.indptr, self.indices, self.weights
        buf = self._buffer()
        for t, c in ids:  # in query order, repeats as counts: the same sums as rank-bm25
            a, z = indptr[t], indptr[t + 1]
            buf[indices[a:z]] += weights[a:z] if c == 1 else c * weights[a:z]
        # A lower bound of the k-th best score: the k-th best among the passages of
        # the rarest query terms (enough of them to hold k passages). Every passage
        # of the top k (ties included) scores at least that, so only those are sorted.
        distinct = sorted((t for t, _ in ids), key=lambda t: indptr[t + 1] - indptr[t])
        postings = int(sum(indptr[t + 1] - indptr[t] for t in distinct))
        # A passage is listed once per term it holds, so the best k * (lists) entries
        # hold at least k different passages.
        parts, size = [], 0
        for j, t in enumerate(distinct):
            parts.append(indices[indptr[t]:indptr[t + 1]])
            size += len(parts[-1])
            if size >= k * len(parts):
                break
        every = j == len(distinct) - 1  # all the query's passages are in ``rare``
        rare = parts[0] if len(parts) == 1 else np.concatenate(parts)
        vals = buf[rare]
        kk = k * len(parts)
        cut = np.partition(vals, len(vals) - kk)[len(vals) - kk] if len(vals) > kk else vals.min()
        if every:
            sel = rare[vals >= cut]
            sel = np.unique(sel) if len(parts) > 1 else sel
        elif postings * 8 > self.size:  # dense: one pass over the score array
            sel = np.flatnonzero(buf >= cut)
        else:
            cand = np.concatenate([indices[indptr[t]:indptr[t + 1]] for t in distinct])
            sel = np.unique(cand[buf[cand] >= cut])
        top = buf[sel]
        if postings * 8 > self.size:
            buf.fill(0.0)
        else:
            for t in distinct:
                buf[indices[indptr[t]:indptr[t + 1]]] = 0.0
        order = np.lexsort((sel, -top))[:k]
        sel, top = sel[order], top[order]
        pos = top > 0
        return sel[pos].astype(np.int64), top[pos]

    def _top_k_within(self, ids: list[tuple[int, int]], k: int, allowed: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """``top_k`` over the ``allowed`` passages only: the filter is applied inside
        the index, so a search within one document costs no more than a full one.
        ``ids`` are ``(term id, count)`` pairs as :meth:`_known` gives them."""
        indptr, indices, weights = self.indptr, self.indices, self.weights
        distinct = [t for t, _ in ids]
        postings = int(sum(indptr[t + 1] - indptr[t] for t in distinct))
        if len(allowed) * len(distinct) <= postings:
            # Few allowed passages: look each term up in them (postings are sorted).
            want = allowed.astype(indices.dtype, copy=False)
            scores = np.zeros(len(allowed))
            for t, c in ids:  # query order, repeats as counts: the same sums as rank-bm25
                a, z = int(indptr[t]), int(indptr[t + 1])
                if a == z:
                    continue
                post = indices[a:z]
                pos = np.searchsorted(post, want)
                pos[pos == len(post)] = 0
                hit = post[pos] == want
                w = weights[a + pos[hit]]
                scores[hit] += w if c == 1 else c * w
            sel, top = allowed, scores
        else:
            buf = self._buffer()
            for t, c in ids:
                a, z = indptr[t], indptr[t + 1]
                buf[indices[a:z]] += weights[a:z] if c == 1 else c * weights[a:z]
            mask = np.zeros(self.size, dtype=bool)
            mask[allowed] = True
            dense = postings * 8 > self.size
            if dense:  # one pass over the score array
                sel = np.flatnonzero(mask & (buf > 0))
            else:
                cand = np.concatenate([indices[indptr[t]:indptr[t + 1]] for t in distinct])
                sel = np.unique(cand[mask[cand]]).astype(np.int64)
            top = buf[sel]
            if dense:
                buf.fill(0.0)
            else:
                for t in distinct:
                    buf[indices[indptr[t]:indptr[t + 1]]] = 0.0
        keep = top > 0
        sel, top = sel[keep], top[keep]
        if len(top) > k:  # only the best k (ties at the k-th score kept) are sorted
            cut = np.partition(top, len(top) - k)[len(top) - k]
            keep = top >= cut
            sel, top = sel[keep], top[keep]
        order = np.lexsort((sel, -top))[:k]
        return sel[order].astype(np.int64), top[order]

    def search(self, query: Sequence[str], k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best passages with a positive score, best first (ties by position)."""
        ids, vals = self.top_k(query, k, allowed)
        return list(zip(ids.tolist(), vals.tolist()))

    # -- saving -------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays :meth:`save` writes, by name (``<name>.npy``)."""
        return {"indptr": self.indptr, "indices": self.indices, "weights": self.weights,
                "idf": self.idf_values, "doc_len": self.doc_len}

    def meta(self) -> dict:
        """What :meth:`save` writes to ``meta.json`` (written last: the folder is complete)."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "k1": self.k1, "b": self.b,
                "avgdl": self.avgdl, "passages": self.size, "terms": len(self.vocab),
                "postings": int(len(self.indices))}

    def save(self, folder: Path | str) -> Path:
        """Write the index to ``folder`` as ``.npy`` arrays and JSON (no pickle)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, arr in self.arrays().items():
            tmp = folder / f"{name}.tmp.npy"
            np.save(tmp, np.ascontiguousarray(arr), allow_pickle=False)
            tmp.replace(folder / f"{name}.npy")
        _write_json(folder / "vocab.json", self.vocab)
        # meta.json last: a folder with it is complete.
        _write_json(folder / "meta.json", self.meta())
        return folder

    @classmethod
    def load(cls, folder: Path | str, mmap: bool = False) -> "SparseBM25":
        """An index saved by :meth:`save`; ``mmap`` maps the arrays instead of reading them."""
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{folder} does not hold a version {FORMAT_VERSION} "
                             f"{FORMAT} index (found {meta.get('format')!r} "
                             f"version {meta.get('version')!r})")
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False,
                                mmap_mode="r" if mmap else None) for name in _ARRAYS}
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        if len(vocab) != meta["terms"] or len(arrays["doc_len"]) != meta["passages"]:
            raise ValueError(f"{folder}: arrays do not match meta.json")
        return cls(vocab, arrays["indptr"], arrays["indices"], arrays["weights"],
                   arrays["idf"], arrays["doc_len"], meta["k1"], meta["b"], meta["avgdl"])


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
