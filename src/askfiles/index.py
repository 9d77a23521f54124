"""The one tokenizer for passages and questions, and the BM25 passage index."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np
import snowballstemmer
from rank_bm25 import BM25Okapi

K1 = 1.2
B = 0.75

# English function words; kept small and explicit so questions and passages agree.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself no nor
not of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which
while who whom whose why will with would you your yours yourself yourselves s t
also many much one ’s 's
""".split())

_WORD = re.compile(r"\w+(?:[-.]\w+)*", re.UNICODE)
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball (Porter 2) stem of a lowercased word; cached, words repeat a lot."""
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """Index terms of a text: lowercased words, stopwords out, stemmed."""
    out = []
    for m in _WORD.finditer(text.lower()):
        word = m.group()
        if word not in STOPWORDS and not word.isspace():
            out.append(stem(word))
    return out


class LuceneBM25(BM25Okapi):
    """BM25 with Lucene's idf, log(1 + (N - n + 0.5) / (n + 0.5)).

    rank-bm25's BM25Okapi gives a term found in more than half the passages a
    negative idf (then floors it at a small epsilon), so on a one-article
    corpus the article's main name would count against the passages holding
    it. Lucene's idf is positive for every term, so a match always helps.
    """

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = K1, b: float = B):
        super().__init__(corpus, k1=k1, b=b)

    def _calc_idf(self, nd: dict[str, int]) -> None:
        n = self.corpus_size
        self.idf = {w: math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for w, df in nd.items()}


# Distinct terms a question is searched with: a long question of many different
# words costs at most this many passes over the index (a normal one has 3-8).
MAX_QUERY_TERMS = 32


def bounded(query: Sequence[str]) -> list[str]:
    """The query's terms, only its first :data:`MAX_QUERY_TERMS` distinct ones (repeats kept)."""
    first = dict.fromkeys(query)
    if len(first) <= MAX_QUERY_TERMS:
        return list(query)
    keep = set(list(first)[:MAX_QUERY_TERMS])
    return [t for t in query if t in keep]


class PassageIndex:
    """BM25 over passage terms; ``search`` returns (passage number, score) best first.

    rank-bm25 (:class:`LuceneBM25`) up to ``threshold`` passages; above it the
    sparse-matrix BM25 of :mod:`askfiles.sparse`, which gives the same scores
    (bit for bit) and ranking but answers a query over 1M passages in
    milliseconds instead of a second. ``threshold=None`` always uses rank-bm25.
    """

    def __init__(self, passage_terms: Sequence[Sequence[str]], threshold: int | None = None):
        self.size = len(passage_terms)
        self._bm25 = None
        self.sparse = None
        if self.size and threshold is not None and self.size > threshold:
            from .sparse import SparseBM25

            self.sparse = SparseBM25.build(passage_terms)
        elif self.size:
            self._bm25 = LuceneBM25(passage_terms)

    @classmethod
    def from_sparse(cls, sparse) -> "PassageIndex":
        """A PassageIndex over a built or loaded :class:`askfiles.sparse.SparseBM25`."""
        index = cls.__new__(cls)
        index.size, index._bm25, index.sparse = sparse.size, None, sparse
        return index

    @classmethod
    def from_saved(cls, sparse, term_ids: np.ndarray, threshold: int | None) -> "PassageIndex":
        """The index ``PassageIndex(passage_terms, threshold)`` would be, without tokenizing.

        ``sparse`` is the passages' saved :class:`askfiles.sparse.SparseBM25` and
        ``term_ids`` their terms as ids into ``sparse.vocab``, in order (passage
        ``i`` is the next ``sparse.doc_len[i]`` ids). Above ``threshold`` the sparse
        index answers; at or below it rank-bm25 is rebuilt from the same term lists.
        """
        if threshold is not None and sparse.size > threshold:
            return cls.from_sparse(sparse)
        vocab = sparse.vocab
        ids = np.asarray(term_ids).tolist()
        lists, k = [], 0
        for n in np.asarray(sparse.doc_len).tolist():
            lists.append([vocab[t] for t in ids[k:k + n]])
            k += n
        return cls(lists, threshold)

    @property
    def kind(self) -> str:
        """Which retrieval path answers: ``"sparse"`` or ``"rank-bm25"``."""
        return "sparse" if self.sparse is not None else "rank-bm25"

    def idf(self, term: str) -> float:
        """The term's idf, 0 for a term the index has never seen."""
        if self.sparse is not None:
            return self.sparse.idf(term)
        return self._bm25.idf.get(term, 0.0) if self._bm25 else 0.0

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for the query terms (a repeated term counts again)."""
        query = bounded(query)
        if self.sparse is not None:
            return self.sparse.scores(query)
        out = np.zeros(self.size)
        if not self._bm25:
            return out
        # One pass per distinct term, its score times its count: the same sums as
        # rank-bm25's pass per occurrence (exactly so for terms said once).
        for term, count in Counter(query).items():
            one = self._bm25.get_scores([term])
            out += one if count == 1 else count * one
        return out

    def warm(self, stop=None) -> int:
        """Weigh common terms ahead of questions (a saved segment index only: the other
        kinds have their weights from the start). Returns the postings weighed."""
        warm = getattr(self.sparse, "warm", None)
        return warm(stop) if warm is not None else 0

    def search(self, query: Sequence[str], k: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best passages with a positive score, best first (ties by position).

        ``allowed`` (sorted passage numbers) restricts the search to those passages;
        the scores (idf included) stay those of the whole corpus.
        """
        if self.sparse is not None:
            return self.sparse.search(bounded(query), k, allowed)
        if allowed is None:
            scores = self.scores(query)
            ids = np.arange(len(scores))
        elif not self._bm25 or not query or not len(allowed):
            return []
        else:  # only the allowed passages are scored
            ids = np.asarray(allowed, dtype=np.int64)
            scores = np.zeros(len(ids))
            batch = ids.tolist()
            # As in scores(): one pass per distinct term (at most MAX_QUERY_TERMS),
            # its score times its count.
            for term, count in Counter(bounded(query)).items():
                one = np.asarray(self._bm25.get_batch_scores([term], batch))
                scores += one if count == 1 else count * one
        if not len(scores):
            return []
        order = np.lexsort((ids, -scores))[:k]
        return [(int(ids[i]), float(scores[i])) for i in order if scores[i] > 0]
