"""Both retrieval paths (rank-bm25 and the sparse matrix) rank and score alike."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from askfiles.index import LuceneBM25, PassageIndex, terms
from askfiles.sparse import SparseBM25

from conftest import SHARED_EVAL

SQUAD = SHARED_EVAL / "dev-v1.1.json"


def both(passage_terms):
    """The same passages indexed by each path."""
    small = PassageIndex(passage_terms)                # rank-bm25
    large = PassageIndex(passage_terms, threshold=0)   # sparse above 0 passages
    assert small.kind == "rank-bm25" and large.kind == "sparse"
    return small, large


def lucene_bm25(passage_terms, query, k1=1.2, b=0.75):
    """Lucene's BM25 written out by hand, one passage at a time."""
    n = len(passage_terms)
    avgdl = sum(map(len, passage_terms)) / n
    out = []
    for doc in passage_terms:
        s = 0.0
        for q in query:
            df = sum(1 for d in passage_terms if q in d)
            if not df:
                continue
            tf = doc.count(q)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        out.append(s)
    return np.array(out)


# Pyserini-style: a hand-made corpus, queries with the exact expected ranking.
TINY = [
    "the quick brown fox jumps over the lazy dog".split(),       # 0
    "a fox a fox a fox in the henhouse".split(),                 # 1
    "dogs and cats living together".split(),                     # 2
    "brown bread and brown sugar".split(),                       # 3
    "nothing in common here".split(),                            # 4
    "the lazy river flows slowly past the brown hills".split(),  # 5
]
EXPECTED = {
    ("fox",): [1, 0],
    ("brown",): [3, 0, 5],
    ("lazy", "dog"): [0, 5],
    ("brown", "fox"): [0, 1, 3, 5],   # 1 holds fox thrice, 0 holds both: 1.525 > 1.515
    ("cats",): [2],
    ("henhouse", "sugar", "river"): [3, 1, 5],  # one each: shortest first, then position
}


@pytest.mark.parametrize("query,ids", sorted(EXPECTED.items()))
def test_tiny_corpus_exact_ranking(query, ids):
    for index in both(TINY):
        hits = index.search(list(query), 10)
        assert [i for i, _ in hits] == ids, index.kind
        want = lucene_bm25(TINY, query)
        for i, s in hits:
            assert s == pytest.approx(want[i], abs=1e-9)


def test_tiny_corpus_same_scores_bit_for_bit():
    small, large = both(TINY)
    for query in [*EXPECTED, ("fox", "fox"), ("brown", "brown", "dog"), ("the",)]:
        a, b = small.scores(list(query)), large.scores(list(query))
        assert np.array_equal(a, b), query
    for term in {t for d in TINY for t in d}:
        assert small.idf(term) == large.idf(term) > 0


def test_ties_are_broken_by_position_in_both_paths():
    docs = [["x", "y"], ["y", "x"], ["z"], ["x", "y"], ["y", "x"]]
    for index in both(docs):
        assert [i for i, _ in index.search(["x"], 10)] == [0, 1, 3, 4]
        assert [i for i, _ in index.search(["x"], 3)] == [0, 1, 3]
        assert [i for i, _ in index.search(["y", "x"], 2)] == [0, 1]


def test_repeated_query_terms_count_again():
    for index in both(TINY):
        once, twice = index.scores(["fox"]), index.scores(["fox", "fox"])
        assert np.allclose(twice, 2 * once)


def test_term_in_more_than_half_the_passages_still_counts():
    # "cairncross" is in 4 of 5 passages: rank-bm25's own idf would floor it
    # near zero; Lucene's idf keeps it positive in both paths.
    docs = [["cairncross", "confess"], ["cairncross", "mi5"], ["cairncross", "soviet"],
            ["cairncross", "spy"], ["ohio", "confess"]]
    for index in both(docs):
        assert index.idf("cairncross") > 0
        hits = index.search(["cairncross", "confess"], 5)
        assert hits[0][0] == 0            # both terms beat either alone
        assert {i for i, _ in hits} == {0, 1, 2, 3, 4}
        alone = dict(index.search(["cairncross"], 5))
        assert set(alone) == {0, 1, 2, 3} and all(s > 0 for s in alone.values())


@pytest.mark.parametrize("query", [[], ["unknown"], ["nothing-here", "zzz"]])
def test_empty_query_and_unknown_terms_give_zeros(query):
    for index in both(TINY):
        scores = index.scores(query)
        assert scores.shape == (len(TINY),) and not scores.any()
        assert index.search(query, 5) == []
        assert index.idf("unknown") == 0.0


def test_empty_corpus():
    index = PassageIndex([], threshold=0)
    assert index.search(["fox"], 3) == [] and index.idf("fox") == 0.0
    assert index.scores(["fox"]).shape == (0,)


def test_unknown_terms_do_not_change_known_scores():
    for index in both(TINY):
        assert np.array_equal(index.scores(["fox", "zzz"]), index.scores(["fox"]))


def test_k_larger_than_matches_and_k_zero():
    for index in both(TINY):
        assert [i for i, _ in index.search(["cats"], 100)] == [2]
    sparse = SparseBM25.build(TINY)
    assert sparse.search(["fox"], 0) == []


def test_sparse_matches_rank_bm25_object():
    bm25, sparse = LuceneBM25(TINY), SparseBM25.build(TINY)
    assert sparse.avgdl == bm25.avgdl
    assert np.array_equal(bm25.get_scores(["brown", "lazy"]), sparse.scores(["brown", "lazy"]))


def test_sparse_save_load_round_trip(tmp_path):
    sparse = SparseBM25.build(TINY)
    sparse.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == [
        "doc_len.npy", "idf.npy", "indices.npy", "indptr.npy", "meta.json",
        "vocab.json", "weights.npy", ]
    for mmap in (False, True):
        loaded = SparseBM25.load(tmp_path / "idx", mmap=mmap)
        index = PassageIndex.from_sparse(loaded)
        assert index.size == len(TINY) and index.kind == "sparse"
        for query in EXPECTED:
            assert index.search(list(query), 10) == sparse.search(list(query), 10)
            assert np.array_equal(index.scores(list(query)), sparse.scores(list(query)))


def test_sparse_load_refuses_other_formats(tmp_path):
    SparseBM25.build(TINY).save(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    (tmp_path / "meta.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(ValueError, match="version"):
        SparseBM25.load(tmp_path)


def test_sparse_search_is_thread_safe():
    rng = np.random.default_rng(1)
    vocab = [f"w{i}" for i in range(50)]
    docs = [list(rng.choice(vocab, size=rng.integers(1, 30))) for _ in range(2000)]
    sparse, bm25 = SparseBM25.build(docs), PassageIndex(docs)
    queries = [list(rng.choice(vocab, size=3)) for _ in range(40)]
    want = [bm25.search(q, 8) for q in queries]
    errors = []

    def run():
        for _ in range(5):
            if [sparse.search(q, 8) for q in queries] != want:
                errors.append("mismatch")

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_threshold_switches_paths():
    assert PassageIndex(TINY, threshold=len(TINY)).kind == "rank-bm25"
    assert PassageIndex(TINY, threshold=len(TINY) - 1).kind == "sparse"
    assert PassageIndex(TINY).kind == "rank-bm25"


@pytest.mark.skipif(not SQUAD.exists(), reason="../shared/eval/dev-v1.1.json not present")
def test_squad_paragraphs_same_ranking_and_scores():
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    paras, questions = [], []
    for article in data[:12]:
        for p in article["paragraphs"]:
            paras.append(p["context"])
            questions += [q["question"] for q in p["qas"]]
    paras = paras[:400]
    small, large = both([terms(p) for p in paras])
    for question in questions[::7][:200]:
        q = terms(question)
        a, b = small.scores(q), large.scores(q)
        assert np.allclose(a, b, rtol=0, atol=1e-6)
        assert small.search(q, 20) == large.search(q, 20), question
