"""Batch questions, paged document lists, ETags and the original file, through the test client."""

from __future__ import annotations

import pytest

from askfiles import create_app
from docmaker import make_pdf

PDF_PAGES = [["Harbour report", "", "The harbour opened in 1850."],
             ["The pier was rebuilt in 1902 by the county engineer."]]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("paging")
    for i in range(12):
        (root / f"note-{i:02d}.txt").write_text(
            f"Note {i}\n\nThe bridge number {i} was painted in {1900 + i}.\n")
    (root / "report.pdf").write_bytes(make_pdf(PDF_PAGES, title="Harbour Report"))
    return root


@pytest.fixture(scope="module")
def app(corpus):
    return create_app({"corpus": str(corpus), "poll_seconds": 0, "index_dir": "off",
                       "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


# -- batch ------------------------------------------------------------------------

def test_batch_answers_in_order(client):
    qs = [{"question": "When was the pier rebuilt?", "top_k": 1},
          {"question": "When was bridge number 3 painted?", "documents": ["note-03.txt"]},
          {"question": "When did the harbour open?", "top_k": 2, "explain": True}]
    resp = client.post("/api/ask/batch", json={"questions": qs})
    assert resp.status_code == 200
    results = resp.get_json()["results"]
    assert [r["question"] for r in results] == [q["question"] for q in qs]
    assert results[0]["answers"][0]["answer"] == "1902" and len(results[0]["answers"]) == 1
    assert {a["citation"]["document"] for a in results[1]["answers"]} == {"note-03.txt"}
    assert "explain" in results[2]["answers"][0]
    single = client.post("/api/ask", json=qs[0]).get_json()
    assert single["answers"] == results[0]["answers"]


def _question(n: int) -> dict:
    return {"question": f"When was bridge number {n % 12} painted?"}


@pytest.mark.parametrize("body, status, code, message", [
    ({"questions": [_question(0), {"question": ""}]}, 422, "empty_question",
     "Question 1 (questions[1])"),
    ({"questions": [_question(0), _question(1), {"question": "x", "top_k": 0}]}, 422,
     "top_k_out_of_range", "questions[2]"),
    ({"questions": [{"question": "x", "documents": ["nope*"]}]}, 422,
     "no_matching_documents", "questions[0]"),
    ({"questions": [_question(0), "When?"]}, 422, "invalid_item", "questions[1]"),
    ({"questions": [{"question": "x", "colour": "red"}]}, 422, "unknown_field",
     "questions[0]"),
    ({"questions": [{"top_k": 3}]}, 422, "missing_field", "questions[0]"),
    ({"questions": []}, 422, "batch_size", "1 to 100"),
    ({"questions": [_question(n) for n in range(101)]}, 422, "batch_size", "1 to 100"),
    ({"questions": {"question": "x"}}, 400, "wrong_type", "list"),
    ({}, 400, "missing_field", "questions"),
    ({"questions": [_question(0)], "top_k": 3}, 400, "unknown_field", "'top_k'"),
])
def test_bad_batches_name_the_item(client, body, status, code, message):
    resp = client.post("/api/ask/batch", json=body)
    assert resp.status_code == status, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == code and message in error["message"]


def test_a_full_batch_is_answered(client):
    resp = client.post("/api/ask/batch", json={"questions": [_question(n) for n in range(100)]})
    assert resp.status_code == 200 and len(resp.get_json()["results"]) == 100


def test_batch_needs_json(client):
    resp = client.post("/api/ask/batch", data="questions", content_type="text/plain")
    assert resp.status_code == 415


# -- paging and ETags ------------------------------------------------------------------

def test_documents_are_paged_by_id(client):
    body = client.get("/api/documents").get_json()
    assert (body["total"], body["limit"], body["offset"]) == (13, 100, 0)
    ids = [d["id"] for d in body["documents"]]
    assert ids == sorted(ids) and len(ids) == 13
    page = client.get("/api/documents?limit=5&offset=10").get_json()
    assert [d["id"] for d in page["documents"]] == ids[10:]
    assert (page["total"], page["limit"], page["offset"]) == (13, 5, 10)
    assert client.get("/api/documents?offset=50").get_json()["documents"] == []
    assert client.get("/api/documents?limit=1000").status_code == 200


@pytest.mark.parametrize("query, status, code", [
    ("limit=0", 422, "limit_out_of_range"),
    ("limit=1001", 422, "limit_out_of_range"),
    ("offset=-1", 422, "offset_out_of_range"),
    ("limit=ten", 400, "wrong_type"),
    ("offset=1.5", 400, "wrong_type"),
])
def test_bad_paging_is_refused(client, query, status, code):
    resp = client.get("/api/documents?" + query)
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code


@pytest.mark.parametrize("url", ["/api/documents?limit=5", "/api/documents/note-01.txt",
                                 "/api/documents/report.pdf/file"])
def test_etag_and_if_none_match(client, app, url):
    first = client.get(url)
    etag = first.headers["ETag"]
    version = app.extensions["askfiles"].engine.version
    assert first.status_code == 200 and etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    if "/api/documents/" in url:
        other = client.get("/api/documents/note-02.txt").headers["ETag"]
        assert other != etag
    assert version   # the ETag is tied to the index version (checked in test_writes)


def test_original_file_is_served(client, corpus):
    resp = client.get("/api/documents/report.pdf/file")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data == (corpus / "report.pdf").read_bytes()
    txt = client.get("/api/documents/note-01.txt/file")
    assert txt.mimetype == "text/plain" and txt.data == (corpus / "note-01.txt").read_bytes()
    missing = client.get("/api/documents/nope.pdf/file")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_pdf_citations_show_their_page_and_link_the_file(client):
    body = client.post("/api/ask", json={"question": "When was the pier rebuilt?",
                                         "top_k": 1}).get_json()
    c = body["answers"][0]["citation"]
    assert c["document"] == "report.pdf" and c["page"] == 2
    html = client.get("/?q=When+was+the+pier+rebuilt%3F").get_data(as_text=True)
    assert '<span class="page">page 2</span>' in html
    assert 'href="/api/documents/report.pdf/file#page=2"' in html
    view = client.get(c["url"].split("#")[0]).get_data(as_text=True)
    assert "page 2" in view and 'href="/api/documents/report.pdf/file#page=2"' in view
