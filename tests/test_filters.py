"""Asking within some documents: ids and glob patterns, through the index, the API, the CLI and the page."""

from __future__ import annotations

import numpy as np
import pytest

from askfiles import cli, create_app
from askfiles.index import PassageIndex, terms
from askfiles.select import folders, matching


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three documents that all answer "When did the mill close?", differently."""
    root = tmp_path_factory.mktemp("filters")
    (root / "news").mkdir()
    (root / "news" / "2019.txt").write_text(
        "Mill news\n\nThe old mill closed in 1911 after a fire destroyed the roof.\n")
    (root / "news" / "2020.md").write_text(
        "# River mill\n\nThe river mill closed in 1924 when the weir broke.\n")
    (root / "history.txt").write_text(
        "History of the valley\n\nThe valley mill closed in 1899 after the flood.\n")
    return root


@pytest.fixture(scope="module")
def app(corpus):
    return create_app({"corpus": str(corpus), "poll_seconds": 0, "index_dir": "off",
                       "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


def documents_of(body) -> set[str]:
    return {a["citation"]["document"] for a in body["answers"]}


@pytest.mark.parametrize("pattern, ids", [
    ("news/2019.txt", ["news/2019.txt"]),
    ("news/*", ["news/2019.txt", "news/2020.md"]),
    ("news/*.txt", ["news/2019.txt"]),
    ("*.txt", ["history.txt"]),                 # * stays within a folder
    ("**/*.txt", ["history.txt", "news/2019.txt"]),
    ("**", ["history.txt", "news/2019.txt", "news/2020.md"]),
    ("news/", ["news/2019.txt", "news/2020.md"]),
    ("news/20[12]?.*", ["news/2019.txt", "news/2020.md"]),
    ("news/[!1]*", ["news/2019.txt", "news/2020.md"]),
    ("nothing/*", []),
    ("news", []),                               # a folder is "news/" or "news/*"
])
def test_patterns_match_ids(pattern, ids):
    every = ["history.txt", "news/2019.txt", "news/2020.md"]
    assert matching(pattern, every) == ids


def test_folders_are_offered_as_patterns():
    assert folders(["a.txt", "news/x.txt", "news/2020/y.txt"]) == ["news/", "news/2020/"]


@pytest.mark.parametrize("threshold", [None, 0], ids=["rank-bm25", "sparse"])
def test_index_search_within_passages_is_the_full_search_restricted(threshold):
    texts = [f"mill river {'mill ' * (i % 4)} weir {i}" for i in range(40)]
    index = PassageIndex([terms(t) for t in texts], threshold)
    query = terms("mill weir")
    full = dict(index.search(query, 40))
    for allowed in ([3], [0, 5, 6, 39], list(range(0, 40, 3)), list(range(40))):
        got = index.search(query, 5, np.array(allowed))
        assert [i for i, _ in got] == sorted(
            (i for i in allowed if full.get(i, 0) > 0), key=lambda i: (-full[i], i))[:5]
        assert all(score == full[i] for i, score in got)   # the same scores, bit for bit
    assert index.search(query, 5, np.array([], dtype=np.int64)) == []


def test_post_ask_within_documents(client):
    q = "When did the mill close?"
    body = client.post("/api/ask", json={"question": q, "top_k": 5}).get_json()
    assert documents_of(body) == {"news/2019.txt", "news/2020.md", "history.txt"}
    body = client.post("/api/ask", json={"question": q, "documents": ["news/*.txt"]}).get_json()
    assert documents_of(body) == {"news/2019.txt"} and body["answers"][0]["answer"] == "1911"
    body = client.post("/api/ask", json={"question": q, "top_k": 5,
                                         "documents": ["history.txt", "news/*.md"]}).get_json()
    assert documents_of(body) == {"history.txt", "news/2020.md"}


def test_get_ask_takes_repeated_documents(client):
    body = client.get("/api/ask?q=When+did+the+mill+close%3F&top_k=5"
                      "&documents=news/2020.md&documents=history.txt").get_json()
    assert documents_of(body) == {"news/2020.md", "history.txt"}


@pytest.mark.parametrize("documents, status, code, message", [
    (["news/*.pdf"], 422, "no_matching_documents",
     "No document matches 'news/*.pdf'; GET /api/documents lists the ids."),
    (["history.txt", "nope.txt"], 422, "no_matching_documents", "'nope.txt'"),
    ([], 422, "invalid_documents", "empty"),
    ([""], 422, "invalid_documents", "1 to 1000 characters"),
    (["x"] * 101, 422, "invalid_documents", "the limit is 100"),
    ("news/*", 400, "wrong_type", "must be a list"),
    ([1], 400, "wrong_type", "must be a list"),
])
def test_bad_documents_say_what_is_wrong(client, documents, status, code, message):
    resp = client.post("/api/ask", json={"question": "When?", "documents": documents})
    assert resp.status_code == status
    error = resp.get_json()["error"]
    assert error["code"] == code and message in error["message"]


def test_get_with_a_pattern_matching_nothing_is_422(client):
    resp = client.get("/api/ask?q=When%3F&documents=nope/*")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "no_matching_documents"


def test_the_form_offers_folders_and_documents_and_keeps_the_choice(client):
    page = client.get("/").get_data(as_text=True)
    assert '<select id="documents" name="documents">' in page
    assert '<option value="news/">folder news/</option>' in page
    assert '<option value="history.txt">' in page
    page = client.get("/?q=When+did+the+mill+close%3F&documents=history.txt")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<option value="history.txt" selected>' in html
    assert "<mark>1899</mark>" in html and "1911" not in html
    assert "documents=history.txt" in html          # the JSON link keeps the scope
    page = client.get("/?q=When%3F&documents=nope.txt")
    assert page.status_code == 422 and "No document matches" in page.get_data(as_text=True)


def test_one_document_corpus_shows_no_scope_menu(seed_engine):
    page = create_app({"engine": seed_engine}).test_client().get("/").get_data(as_text=True)
    assert 'name="documents"' not in page


def test_cli_documents_option(corpus, capsys):
    argv = ["ask", "When did the mill close?", "--corpus", str(corpus), "--top-k", "1"]
    assert cli.main(argv + ["--documents", "news/2020.md"]) == 0
    assert capsys.readouterr().out.startswith("1. 1924")
    assert cli.main(argv + ["--documents", "history.txt", "--documents", "news/*.txt",
                            "--json", "--top-k", "5"]) == 0
    import json
    body = json.loads(capsys.readouterr().out)
    assert documents_of(body) == {"history.txt", "news/2019.txt"}
    assert cli.main(argv + ["--documents", "nope/*"]) == 2
    assert "No document matches 'nope/*'" in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(6))
def test_sparse_search_within_matches_brute_force_on_every_path(seed):
    """Random corpora, queries and passage sets: small sets (postings lookup), large sets
    with rare terms (postings) and with common terms (one pass over the scores)."""
    import random

    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(60)]
    weights = [1 / (i + 1) for i in range(60)]          # a few common words, many rare
    passages = [rng.choices(vocab, weights, k=rng.randint(3, 30)) for _ in range(500)]
    index = PassageIndex(passages, 0)
    assert index.kind == "sparse"
    for _ in range(30):
        query = rng.choices(vocab, k=rng.randint(1, 4))
        allowed = np.array(sorted(rng.sample(range(500), rng.choice([1, 5, 50, 300, 500]))))
        full = index.scores(query)
        k = rng.choice([1, 3, 8, 50])
        want = sorted((i for i in allowed.tolist() if full[i] > 0),
                      key=lambda i: (-full[i], i))[:k]
        got = index.search(query, k, allowed)
        assert [i for i, _ in got] == want
        assert [s for _, s in got] == [float(full[i]) for i in want]


@pytest.mark.parametrize("threshold", [None, 0], ids=["rank-bm25", "sparse"])
def test_search_within_counts_repeats_and_caps_distinct_terms(threshold, monkeypatch):
    """The filter (issue-10) and the query bounds (issue-12) together: a repeated term
    is one pass times its count, only the first 32 distinct terms are searched, and a
    restricted search gives the full search's scores for its passages."""
    from askfiles.index import MAX_QUERY_TERMS, LuceneBM25

    texts = [f"mill river {'mill ' * (i % 4)} weir {i} w{i % 50}" for i in range(60)]
    index = PassageIndex([terms(t) for t in texts], threshold)
    query = terms("mill weir " * 40) + [f"w{i}" for i in range(100)]
    full = dict(index.search(query, 60))
    assert full == dict(index.search(query[:80] + [f"w{i}" for i in range(30)], 60))
    for allowed in ([3], [0, 5, 6, 39], list(range(0, 60, 3)), list(range(60))):
        got = index.search(query, 5, np.array(allowed))
        assert [i for i, _ in got] == sorted(
            (i for i in allowed if full.get(i, 0) > 0), key=lambda i: (-full[i], i))[:5]
        assert all(score == full[i] for i, score in got)
    if threshold is None:   # rank-bm25: one batch pass per distinct term, at most 32
        passes = []
        real = LuceneBM25.get_batch_scores
        monkeypatch.setattr(LuceneBM25, "get_batch_scores",
                            lambda self, q, ids: passes.append(list(q)) or real(self, q, ids))
        index.search(query, 5, np.array([1, 2, 3]))
        assert len(passes) == MAX_QUERY_TERMS and all(len(p) == 1 for p in passes)
