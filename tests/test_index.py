"""The tokenizer and BM25 index: exact terms, ids and the more-than-half-the-passages pitfall."""

import numpy as np
import pytest

from askfiles.index import PassageIndex, terms


@pytest.mark.parametrize("text, expected", [
    ("When did Cairncross confess?", ["cairncross", "confess"]),
    ("Cairncross's confession was published", ["cairncross", "confess", "publish"]),
    ("The MI5 files, declassified in 2025!", ["mi5", "file", "declassifi", "2025"]),
    ("a follow-up interview", ["follow-up", "interview"]),
    ("", []),
    ("the of and", []),
])
def test_terms(text, expected):
    assert terms(text) == expected


@pytest.mark.parametrize("word", [
    "generously", "declassified", "confession", "spying", "agreed", "knightly", "cambridge's",
    "skies", "dying", "news", "communism", "recruited", "controller", "1936", "follow-up",
])
def test_stems_are_those_of_the_pure_python_stemmer(word):
    # The C stemmer (PyStemmer, used when installed) must give the stems an index
    # built without it holds, or saved indexes would stop matching questions.
    from snowballstemmer.english_stemmer import EnglishStemmer

    from askfiles.index import stem
    assert stem(word) == EnglishStemmer().stemWord(word)


def test_question_and_passage_share_terms():
    # One tokenizer: inflected forms in question and passage meet on the same term.
    assert set(terms("Who recruited the spies?")) <= set(terms("He was recruiting a spy"))


def test_term_in_most_passages_still_counts():
    # "cairncross" is in 3 of 4 passages: rank-bm25's BM25Okapi would give it a
    # negative idf, ranking the passages holding it *below* the one without it.
    passages = [terms(t) for t in (
        "Cairncross confessed in Cleveland",
        "Cairncross studied at Cambridge",
        "Otto copied the documents",
        "Cairncross moved to Rome",
    )]
    index = PassageIndex(passages)
    assert index.idf("cairncross") > 0
    hits = index.search(terms("Cairncross"), 4)
    assert [i for i, _ in hits] == [0, 1, 3]
    assert all(score > 0 for _, score in hits)


def test_search_ranks_by_matches_and_drops_zero_scores():
    index = PassageIndex([terms(t) for t in (
        "the treasury in 1938", "Bletchley Park translator", "Bletchley Park in 1943 and MI6")])
    hits = index.search(terms("Bletchley Park MI6"), 3)
    assert [i for i, _ in hits] == [2, 1]


def test_empty_index_and_query():
    assert PassageIndex([]).search(["x"], 3) == []
    assert PassageIndex([["a"]]).search([], 3) == []
    assert PassageIndex([["a"]]).idf("zzz") == 0.0


def test_a_repeated_term_is_scored_once_times_its_count(monkeypatch):
    """1,000 characters of one repeated word cost one pass over the index, not 200."""
    from askfiles.index import MAX_QUERY_TERMS, LuceneBM25, PassageIndex, terms

    passages = [terms(t) for t in ("the harbour was rebuilt", "a harbour and a pier",
                                   "the granary burned", "pier pier harbour")]
    index = PassageIndex(passages)
    passes = []
    real = LuceneBM25.get_scores
    monkeypatch.setattr(LuceneBM25, "get_scores",
                        lambda self, q: passes.append(list(q)) or real(self, q))
    query = terms("harbour pier " * 80)
    scores = index.scores(query)
    assert passes == [["harbour"], ["pier"]]
    assert np.allclose(scores, 80 * real(index._bm25, ["harbour"])
                       + 80 * real(index._bm25, ["pier"]))
    # A term said once scores exactly as before.
    assert np.array_equal(index.scores(["harbour"]), real(index._bm25, ["harbour"]))
    # Many different words: only the first MAX_QUERY_TERMS are searched.
    passes.clear()
    index.scores([f"w{i}" for i in range(150)])
    assert len(passes) == MAX_QUERY_TERMS == 32


def test_sparse_and_rank_bm25_agree_on_repeated_terms():
    from askfiles.index import PassageIndex, terms

    texts = ["the harbour was rebuilt", "a harbour and a pier", "the granary burned",
             "pier pier harbour"] * 10
    small = PassageIndex([terms(t) for t in texts])
    big = PassageIndex([terms(t) for t in texts], threshold=0)
    assert big.kind == "sparse" and small.kind == "rank-bm25"
    query = terms("harbour pier granary " * 30)
    assert np.allclose(small.scores(query), big.scores(query))
    assert [i for i, _ in small.search(query, 5)] == [i for i, _ in big.search(query, 5)]
