"""The web app through Flask's test client: every route, every error status, escaping."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from askfiles import create_app
from askfiles.holder import EngineHolder

ROOT = Path(__file__).resolve().parents[1]
DOC = "cairncross-mi5-confession.txt"
XSS = "<script>alert(1)</script>"


def words(page: str) -> str:
    """A page's text as read, without its tags (citations keep numbers in spans)."""
    return re.sub(r"<[^>]+>", "", page)


@pytest.fixture(scope="module")
def app(seed_engine):
    return create_app({"engine": seed_engine, "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def odd_engine(tmp_path_factory):
    """A small corpus with a nested document and markup in its text."""
    from askfiles.engine import Engine

    root = tmp_path_factory.mktemp("odd")
    (root / "sub" / "dir").mkdir(parents=True)
    (root / "sub" / "dir" / "note.md").write_text(
        "# Notes on the harbour\n\nThe harbour was rebuilt in 1887 by the city engineer.\n")
    (root / "markup.txt").write_text(
        'Markup test\n\nThe page said <script>alert(1)</script> and "><img src=x '
        'onerror=alert(2)> near the end.\n')
    return Engine.from_folder(root, {"poll_seconds": 0})


def assert_json_error(resp, status: int, code: str) -> dict:
    """The contract's error shape, with this status and code, and nothing leaked."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "<html" not in text.lower()
    return body


# -- JSON API: errors ---------------------------------------------------------

JSON_CT = "application/json"
BAD_POSTS = [
    # (body, content type, status, code)
    ("{", JSON_CT, 400, "bad_json"),
    ('{"question": "a",}', JSON_CT, 400, "bad_json"),
    ("", JSON_CT, 400, "bad_json"),
    (b'{"question": "\xff\xfe"}', JSON_CT, 400, "bad_json"),
    ("[" * 5000 + "]" * 5000, JSON_CT, 400, "bad_json"),
    ("[1, 2]", JSON_CT, 400, "not_an_object"),
    ('"When?"', JSON_CT, 400, "not_an_object"),
    ("null", JSON_CT, 400, "not_an_object"),
    ("{}", JSON_CT, 400, "missing_field"),
    ('{"top_k": 3}', JSON_CT, 400, "missing_field"),
    ('{"q": "When did Cairncross die?"}', JSON_CT, 400, "missing_field"),
    ('{"question": 5}', JSON_CT, 400, "wrong_type"),
    ('{"question": null}', JSON_CT, 400, "wrong_type"),
    ('{"question": ["When?"]}', JSON_CT, 400, "wrong_type"),
    ('{"question": {"text": "When?"}}', JSON_CT, 400, "wrong_type"),
    ('{"question": "When?", "top_k": "3"}', JSON_CT, 400, "wrong_type"),
    ('{"question": "When?", "top_k": 2.5}', JSON_CT, 400, "wrong_type"),
    ('{"question": "When?", "top_k": true}', JSON_CT, 400, "wrong_type"),
    ('{"question": "When?", "top_k": null}', JSON_CT, 400, "wrong_type"),
    ('{"question": "When?", "top_k": 1e400}', JSON_CT, 400, "wrong_type"),
    ('{"question": "When?", "explain": "maybe"}', JSON_CT, 400, "wrong_type"),
    ('{"question": ""}', JSON_CT, 422, "empty_question"),
    ('{"question": " \\n\\t "}', JSON_CT, 422, "empty_question"),
    (json.dumps({"question": "a" * 1001}), JSON_CT, 422, "question_too_long"),
    ('{"question": "When?", "top_k": 0}', JSON_CT, 422, "top_k_out_of_range"),
    ('{"question": "When?", "top_k": 21}', JSON_CT, 422, "top_k_out_of_range"),
    ('{"question": "When?", "top_k": -1}', JSON_CT, 422, "top_k_out_of_range"),
    ('{"question": "When?", "top_k": 100000000000000000000000}', JSON_CT, 422,
     "top_k_out_of_range"),
    (json.dumps({"question": "a" * 17000}), JSON_CT, 413, "body_too_large"),
    ('{"question": "When?"}', "text/plain", 415, "unsupported_media_type"),
    ("question=When%3F", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ('{"question": "When?"}', None, 415, "unsupported_media_type"),
]


@pytest.mark.parametrize("body,ctype,status,code", BAD_POSTS,
                         ids=[f"{s}-{c}-{i}" for i, (_, _, s, c) in enumerate(BAD_POSTS)])
def test_post_ask_rejects_bad_input(client, body, ctype, status, code):
    headers = {"Content-Type": ctype} if ctype else {}
    assert_json_error(client.post("/api/ask", data=body, headers=headers), status, code)


BAD_GETS = [
    ("/api/ask", 400, "missing_field"),
    ("/api/ask?question=When%3F", 400, "missing_field"),
    ("/api/ask?q=", 422, "empty_question"),
    ("/api/ask?q=%20%20", 422, "empty_question"),
    ("/api/ask?q=" + "a" * 1001, 422, "question_too_long"),
    ("/api/ask?q=When%3F&top_k=abc", 400, "wrong_type"),
    ("/api/ask?q=When%3F&top_k=2.5", 400, "wrong_type"),
    ("/api/ask?q=When%3F&top_k=0", 422, "top_k_out_of_range"),
    ("/api/ask?q=When%3F&top_k=21", 422, "top_k_out_of_range"),
    ("/api/ask?q=When%3F&explain=perhaps", 400, "wrong_type"),
    ("/api/ask?q=When%3F&topk=1", 400, "unknown_field"),
    ("/api/ask?q=When%3F&q=Who%3F", 400, "wrong_type"),
    ("/api/ask?q=When%3F&top_k=1&top_k=2", 400, "wrong_type"),
    ("/api/nope", 404, "not_found"),
    ("/api/", 404, "not_found"),
    ("/api", 404, "not_found"),
    ("/api/documents/", 404, "not_found"),
    ("/api/documents/nope.txt", 404, "not_found"),
    ("/api/documents/../../etc/passwd", 404, "not_found"),
    ("/api/documents/%2e%2e/%2e%2e/etc/passwd", 404, "not_found"),
    ("/api/documents//etc/passwd", 404, "not_found"),
    ("/api/documents/..%5C..%5Cetc%5Cpasswd", 404, "not_found"),
    ("/api/documents/" + DOC + "%00", 404, "not_found"),
]


@pytest.mark.parametrize("url,status,code", BAD_GETS)
def test_get_errors(client, url, status, code):
    assert_json_error(client.get(url), status, code)


@pytest.mark.parametrize("method,url,allowed", [
    ("PUT", "/api/ask", {"GET", "POST"}),
    ("DELETE", "/api/ask", {"GET", "POST"}),
    ("PATCH", "/api/ask", {"GET", "POST"}),
    ("POST", "/api/documents", {"GET"}),
    ("POST", "/api/documents/" + DOC, {"DELETE", "GET", "PUT"}),
    ("POST", "/api/openapi.json", {"GET"}),
    ("POST", "/healthz", {"GET"}),
])
def test_wrong_method_is_405_json(client, method, url, allowed):
    resp = client.open(url, method=method, json={"question": "x"})
    assert_json_error(resp, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in resp.headers["Allow"].split(",")}


OPTIONS_ALLOW = [
    ("/api/ask", "GET, HEAD, OPTIONS, POST"),
    ("/api/ask/batch", "OPTIONS, POST"),
    ("/api/documents", "GET, HEAD, OPTIONS"),
    ("/api/documents/" + DOC, "DELETE, GET, HEAD, OPTIONS, PUT"),
    # (also a document id, "<DOC>/file", for PUT and DELETE: the Allow of a 405 too)
    ("/api/documents/" + DOC + "/file", "DELETE, GET, HEAD, OPTIONS, PUT"),
    ("/api/openapi.json", "GET, HEAD, OPTIONS"),
    ("/healthz", "GET, HEAD, OPTIONS"),
]


@pytest.mark.parametrize("url, allow", OPTIONS_ALLOW)
def test_options_on_the_api_is_204_with_the_methods(client, url, allow):
    """Flask's automatic OPTIONS answered 200 with an empty text/html body."""
    resp = client.options(url)
    assert resp.status_code == 204
    assert resp.headers["Allow"] == allow
    assert resp.data == b"" and "Content-Type" not in resp.headers
    assert "X-Request-Id" in resp.headers and "X-Content-Type-Options" in resp.headers


def test_options_covers_every_api_route(app):
    templated = {rule.rule for rule in app.url_map.iter_rules()
                 if rule.rule.startswith("/api/") or rule.rule == "/healthz"}
    covered = {url.replace(DOC, "<path:doc_id>") for url, _ in OPTIONS_ALLOW}
    assert templated == covered


def test_options_elsewhere_is_left_to_flask(client):
    assert_json_error(client.options("/api/nope"), 404, "not_found")
    assert client.options("/").status_code == 200          # the pages: as Flask answers


def test_unexpected_error_is_500_json_without_trace(seed_engine):
    app = create_app({"engine": seed_engine})

    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/boom", "boom", boom)
    app.add_url_rule("/boom", "page_boom", boom)
    client = app.test_client()
    body = assert_json_error(client.get("/api/boom"), 500, "internal_error")
    assert "secret" not in body["error"]["message"]
    page = client.get("/boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "secret" not in page.get_data(as_text=True)


def test_settings_set_the_limits(seed_engine):
    client = create_app({"engine": seed_engine, "max_question_chars": 10,
                         "max_body_bytes": 100}).test_client()
    assert_json_error(client.post("/api/ask", json={"question": "a" * 11}), 422,
                      "question_too_long")
    assert client.post("/api/ask", json={"question": "a" * 10}).status_code == 200
    assert_json_error(client.post("/api/ask", json={"question": "b" * 120}), 413,
                      "body_too_large")


# -- JSON API: answers ---------------------------------------------------------

def test_post_ask_answers_with_exact_citations(client, seed_engine):
    resp = client.post("/api/ask", json={"question": "When did Cairncross die?", "top_k": 2})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert list(body) == ["question", "answers", "no_answer", "index_version", "took_ms"]
    assert body["question"] == "When did Cairncross die?"
    assert body["index_version"] == seed_engine.version
    assert body["no_answer"] is False and 1 <= len(body["answers"]) <= 2
    best = body["answers"][0]
    assert best["answer"] == "8 October 1995" and best["normalized"] == "1995-10-08"
    assert 0 <= best["score"] <= 1
    for a in body["answers"]:
        c = a["citation"]
        text = seed_engine.documents[c["document"]].text
        assert text[c["start"]:c["end"]] == a["answer"]
        assert text[c["snippet_start"]:c["snippet_end"]] == a["snippet"]
        assert c["url"] == f"/documents/{DOC}?start={c['start']}&end={c['end']}#answer"


def test_get_ask_is_the_same_as_post(client):
    q = "When did Cairncross marry?"
    got = client.get("/api/ask", query_string={"q": q, "top_k": 1}).get_json()
    posted = client.post("/api/ask", json={"question": q, "top_k": 1}).get_json()
    got.pop("took_ms"), posted.pop("took_ms")
    assert got == posted and len(got["answers"]) == 1
    assert got["answers"][0]["answer"] == "1952"


def test_explain_adds_why(client):
    body = client.post("/api/ask", json={"question": "When did Cairncross marry?",
                                         "explain": True}).get_json()
    assert "explain" in body["answers"][0]
    plain = client.get("/api/ask?q=When+did+Cairncross+marry%3F").get_json()
    assert "explain" not in plain["answers"][0]


def test_question_with_markup_is_escaped_in_json(client):
    resp = client.post("/api/ask", json={"question": XSS})
    assert resp.status_code == 200
    assert b"<script>" not in resp.data and b"\\u003cscript\\u003e" in resp.data
    assert resp.get_json()["question"] == XSS
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_lone_surrogate_in_question_is_not_an_error(client):
    resp = client.post("/api/ask", data='{"question": "When \\ud800 did he die?"}',
                       content_type=JSON_CT)
    assert resp.status_code == 200


def test_healthz(client, seed_engine):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["documents"] == len(seed_engine.documents) == 1
    assert body["passages"] == len(seed_engine.passages)


def test_documents_list_and_get(client, seed_engine):
    listed = client.get("/api/documents").get_json()
    doc = seed_engine.documents[DOC]
    assert listed == {"documents": [{"id": DOC, "title": doc.title,
                                     "passages": seed_engine.passage_count(DOC),
                                     "chars": len(doc.text)}],
                      "total": 1, "limit": 100, "offset": 0}
    got = client.get("/api/documents/" + DOC).get_json()
    assert set(got) == {"id", "title", "text", "meta"}
    assert got["id"] == DOC and got["text"] == doc.text and got["title"] == doc.title


def test_nested_ids_and_markup_from_the_corpus(odd_engine):
    client = create_app({"engine": odd_engine}).test_client()
    ids = [d["id"] for d in client.get("/api/documents").get_json()["documents"]]
    assert ids == ["markup.txt", "sub/dir/note.md"]
    assert client.get("/api/documents/sub/dir/note.md").get_json()["title"] == \
        "Notes on the harbour"
    page = client.get("/documents/sub/dir/note.md?start=2&end=7").get_data(as_text=True)
    assert '<mark id="answer" tabindex="-1">Notes</mark>' in page
    page = client.get("/documents/markup.txt").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    answer = client.get("/api/ask?q=When+was+the+harbour+rebuilt%3F").get_json()
    assert answer["answers"][0]["citation"]["document"] == "sub/dir/note.md"


def test_engine_swap_is_seen_by_the_next_request(seed_engine, odd_engine):
    holder = EngineHolder(seed_engine)
    client = create_app({"holder": holder}).test_client()
    assert client.get("/healthz").get_json()["documents"] == 1
    holder.swap(odd_engine)
    assert client.get("/healthz").get_json()["documents"] == 2
    assert client.get("/api/documents/" + DOC).status_code == 404


# -- pages ---------------------------------------------------------------------

def test_home_has_labelled_form_and_examples(client):
    resp = client.get("/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert '<label for="q">' in page and 'id="q" name="q"' in page
    assert 'action="/" method="get"' in page and '<button type="submit">' in page
    assert 'href="/static/style.css"' in page
    examples = [line for line in page.splitlines() if 'href="/?q=' in line]
    assert examples, "example questions drawn from the corpus"


def test_examples_are_answered_from_the_span_they_came_from(seed_engine):
    from askfiles.examples import candidates, examples_for

    examples = examples_for(seed_engine)
    assert 1 <= len(examples) <= 4
    for q in examples:
        assert q.endswith("?") and q.split()[0] in ("When", "Where")
        assert not seed_engine.ask(q, 1).no_answer
    assert all(len(c) == 4 for c in candidates(seed_engine))


def test_security_headers_on_every_kind_of_response(client):
    for url in ("/", "/api/documents", "/static/style.css", "/nope", "/api/nope"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_no_inline_script_or_style_in_pages(client):
    for url in ("/", "/?q=When+did+Cairncross+marry%3F", "/documents",
                f"/documents/{DOC}?start=1&end=5", "/nope"):
        page = client.get(url).get_data(as_text=True).lower()
        assert "<script" not in page and "<style" not in page and " style=" not in page
        assert "http://" not in page and "https://" not in page  # no CDN


def test_question_page_shows_answer_snippet_confidence_and_citation(client, seed_engine):
    resp = client.get("/?q=When+did+Cairncross+marry%3F")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    best = seed_engine.ask("When did Cairncross marry?").answers[0]
    assert '<p class="answer-text"><mark>1952</mark></p>' in page
    assert "Cairncross married in <mark>1952</mark>." in page
    assert f"confidence {round(best.score * 100)}%" in page
    c = best.citation
    assert f'href="/documents/{DOC}?start={c.start}&amp;end={c.end}#answer"' in page
    assert f"passage {c.passage + 1}, characters {c.start}–{c.end}" in words(page)
    assert 'value="When did Cairncross marry?"' in page
    assert '<span class="type" title="DATE">date</span>' in page


def test_pages_count_passages_from_one_the_api_from_zero(client, seed_engine, odd_engine):
    """People count from 1: the page's "passage N" is the JSON's 0-based passage + 1
    (the API field is a contract and stays 0-based); the citation link is unchanged."""
    q = "When did Cairncross confess?"
    page = client.get("/", query_string={"q": q}).get_data(as_text=True)
    c = client.get("/api/ask", query_string={"q": q}).get_json()["answers"][0]["citation"]
    # The JSON's passage is the document's passage record of that number, from 0.
    record = next(p for p in seed_engine.passages if p.doc_id == DOC and p.n == c["passage"])
    assert record.start <= c["start"] < c["end"] <= record.end
    assert f"passage {c['passage'] + 1}, characters {c['start']}–{c['end']}" in words(page)
    assert f"passage {c['passage']}, characters {c['start']}–" not in words(page)
    assert f'href="{c["url"].replace("&", "&amp;")}"' in page
    # A document's first passage reads "passage 1"; "passage 0" is never shown.
    odd = create_app({"engine": odd_engine}).test_client()
    q = "When was the harbour rebuilt?"
    page = odd.get("/", query_string={"q": q}).get_data(as_text=True)
    c = odd.get("/api/ask", query_string={"q": q}).get_json()["answers"][0]["citation"]
    assert (c["document"], c["passage"]) == ("sub/dir/note.md", 0)
    assert f"passage 1, characters {c['start']}–{c['end']}" in words(page)
    assert "passage 0" not in words(page)


def test_closest_passages_are_counted_from_one(app, seed_engine, monkeypatch):
    """With no candidate at all, the page lists the closest passages: numbered from 1."""
    from askfiles import pages
    from askfiles.records import Result

    q = "When did Cairncross confess?"
    monkeypatch.setattr(seed_engine, "ask",
                        lambda question, *a, **k: Result(question, (), True, "v", 1.0))
    page = app.test_client().get("/", query_string={"q": q}).get_data(as_text=True)
    assert 'class="answer passage"' in page
    closest = pages._closest_passages(seed_engine, q)
    assert closest
    for p in closest:
        assert f"passage {p.passage + 1}, characters {p.start}–{p.end}" in words(page)
        assert f"passage {p.passage}, characters {p.start}–" not in words(page)


@pytest.mark.parametrize("label, shown", [
    ("GPE", "place"), ("ORG", "organisation"), ("FAC", "building or place"),
    ("NORP", "group of people"), ("PHRASE", "phrase"), ("WORK_OF_ART", "title"),
    ("SOME_NEW_LABEL", "some new label"),
])
def test_answer_types_are_shown_in_words(label, shown):
    from askfiles.pages import Shown

    a = Shown("x", label, None, 0.5, "", "x", "", "T", "d.txt", 0, 0, 1, "/documents/d.txt")
    assert a.kind == shown


def test_no_answer_is_said_plainly(client):
    page = client.get("/?q=Who+won+the+World+Cup%3F").get_data(as_text=True)
    assert "No answer found" in page
    assert "World Cup?</q>\n" in page                  # no "?." after the question
    page = client.get("/", query_string={"q": XSS}).get_data(as_text=True)
    assert "No answer found" in page and "closest passages" in page
    # The closest passages are not headed by big answers, as if one had been found.
    assert 'class="answer-text"' not in page and 'class="answer weak"' in page


def test_question_with_markup_is_escaped_in_the_page(client):
    resp = client.get("/", query_string={"q": XSS})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert XSS not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("url,status,text", [
    ("/?q=", 200, "Ask a question about the documents"),
    ("/?q=" + "a" * 1001, 422, "the limit is 1000"),
    ("/?q=When+did+Cairncross+marry%3F&top_k=zz", 200, "<mark>1952</mark>"),
])
def test_question_page_inputs(client, url, status, text):
    resp = client.get(url)
    assert resp.status_code == status
    assert text in resp.get_data(as_text=True)


def test_document_view_highlights_the_span(client, seed_engine):
    text = seed_engine.documents[DOC].text
    start = text.index("1952")
    resp = client.get(f"/documents/{DOC}?start={start}&end={start + 4}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert '<mark id="answer" tabindex="-1">1952</mark>' in page
    assert seed_engine.documents[DOC].title.replace("–", "–") in page


@pytest.mark.parametrize("query", ["", "?start=5", "?start=a&end=b", "?start=10&end=5",
                                   "?start=-3&end=4", "?start=0&end=99999999"])
def test_document_view_ignores_a_bad_span(client, query):
    resp = client.get(f"/documents/{DOC}{query}")
    assert resp.status_code == 200
    assert "<mark" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", [
    "/documents/../../etc/passwd",
    "/documents/%2e%2e/%2e%2e/etc/passwd",
    "/documents/..%2F..%2Fetc%2Fpasswd",
    "/documents//etc/passwd",
    "/documents/%2Fetc%2Fpasswd",
    "/documents/..%5C..%5Cwindows%5Cwin.ini",
    "/documents/corpus/../" + DOC,
    "/documents/" + DOC + "%00.txt",
    "/documents/nope.txt",
    "/nope",
])
def test_unknown_pages_and_traversal_are_404_pages(client, url):
    resp = client.get(url)
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert "root:" not in page and "Not Found" in page


def test_pages_wrong_method_is_405_page(client):
    resp = client.post("/", data={"q": "x"})
    assert resp.status_code == 405 and resp.mimetype == "text/html"
    assert "GET" in resp.headers["Allow"]


def test_documents_page_and_static(client):
    page = client.get("/documents").get_data(as_text=True)
    assert f'href="/documents/{DOC}"' in page
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert client.get("/static/favicon.svg").status_code == 200


# -- the production server -------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_askfiles_serve_runs_gunicorn_and_stops_cleanly():
    port = free_port()
    env = dict(os.environ, ASKFILES_POLL_SECONDS="0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "askfiles.cli", "serve", "--corpus", str(ROOT / "corpus"),
         "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.25)
        else:
            pytest.fail("askfiles serve did not answer /healthz")
        assert health["status"] == "ok" and health["documents"] == 1
        req = urllib.request.Request(base + "/api/ask", method="POST",
                                     data=b'{"question": "When did Cairncross die?"}',
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.load(r)["answers"][0]["answer"] == "8 October 1995"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "2 workers" in out


def test_examples_skip_odd_wording(tmp_path):
    from askfiles.engine import Engine
    from askfiles.examples import candidates, examples_for

    (tmp_path / "a.txt").write_text(
        "Station history\n\nIn 1998 MMC contained forty stations across the county. "
        "MMC included the old depot in 2001. Burgess defected to Moscow in 1951. "
        "Maclean met Burgess in Cambridge in 1934.\n")
    engine = Engine.from_folder(tmp_path, {"poll_seconds": 0, "index_dir": "off"})
    made = [q for _, _, q, _ in candidates(engine)]
    assert not [q for q in made if " contain" in q or " include" in q], made
    assert "Where did Maclean meet?" not in made      # the object is left out: odd
    shown = examples_for(engine)
    assert "When did Burgess defect?" in shown or "Where did Burgess defect?" in shown
    for q in shown:
        best = engine.ask(q, 1).answers[0]
        assert best.score >= 0.5


def test_examples_read_a_bounded_spread_of_a_large_corpus():
    """A corpus whose passages make no question: examples read about 2,000 of them,
    spread over it, not all (a million took a server 100 s before it listened)."""
    from types import SimpleNamespace

    from askfiles import examples
    from askfiles.records import Annotation

    empty = Annotation((), (), (), (), (), (), (), (), ())

    class Counted(list):
        read: list[int] = []

        def __getitem__(self, i):
            self.read.append(i)
            return super().__getitem__(i)

    n = 50_000
    passages = Counted([SimpleNamespace(text="", doc_id=f"d{i}", start=0) for i in range(n)])
    engine = SimpleNamespace(passages=passages, annotations=[empty] * n)
    assert list(examples.candidates(engine)) == []
    assert len(passages.read) <= examples.SCANNED_PASSAGES + 1
    assert passages.read[0] == 0 and passages.read[-1] >= n - n // examples.SCANNED_PASSAGES


def test_a_long_question_does_not_fill_the_tab_title(client):
    page = client.get("/", query_string={"q": "Why " + "very " * 400 + "long?"}
                      ).get_data(as_text=True)
    title = page.split("<title>")[1].split("</title>")[0]
    assert len(title) <= 100 and title.endswith("… · askfiles")


def test_a_narrowed_search_without_answer_says_what_it_searched(client):
    page = client.get("/", query_string={"q": "Who won the World Cup?",
                                         "documents": DOC}).get_data(as_text=True)
    assert "No answer found" in page
    assert f"Only {DOC} was searched" in page
    assert 'href="/?q=Who+won+the+World+Cup?">search all documents</a>' in page


def test_an_unknown_document_page_names_the_document(client):
    resp = client.get("/documents/gone<b>.txt")
    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert "There is no document &#39;gone&lt;b&gt;.txt&#39; in this corpus" in page
    assert "<b>" not in page.split("<main", 1)[1]
    assert "Answers are cut from the documents" in page    # the footer reads as a sentence


@pytest.mark.parametrize("query", ["start=99999&end=100000", "start=20&end=10",
                                   "start=x&end=5"])
def test_a_citation_outside_the_document_is_said_not_ignored(client, query):
    page = client.get(f"/documents/{DOC}?{query}").get_data(as_text=True)
    assert "are not a span of this document" in page and "<mark" not in page


def test_a_plain_document_link_shows_no_notice(client):
    page = client.get(f"/documents/{DOC}").get_data(as_text=True)
    assert "not a span" not in page


@pytest.mark.parametrize("title, shown", [
    ("Harbour notes", "Harbour notes"),
    ("The identifier recorded by the telegraph operator in Wick on 3 March 1901 was long",
     "The identifier recorded by the telegraph operator in Wick…"),
    ("X" * 80, "X" * 60 + "…"),
])
def test_long_titles_are_cut_at_a_word_in_the_search_in_list(title, shown):
    from askfiles.pages import short_title

    assert short_title(title) == shown


def test_a_sentence_long_title_is_cut_on_the_pages(tmp_path):
    first = "The identifier recorded by the telegraph operator " * 5
    (tmp_path / "long.txt").write_text(first + "\n\nIt was 1901.\n")
    (tmp_path / "b.txt").write_text("B\n\nThe mill closed in 1911.\n")
    client = create_app({"corpus": str(tmp_path), "poll_seconds": 0, "index_dir": "off",
                         "TESTING": True}).test_client()
    listed = client.get("/documents").get_data(as_text=True)
    heading = client.get("/documents/long.txt").get_data(as_text=True).split("<h1")[1]
    for part in (listed, heading.split("</h1>")[0]):
        assert first.strip() not in part
        assert "the telegraph operator The identifier…" in part


# -- accessibility of the pages (the browser checks are in test_browser.py) ---------

def headings(page: str) -> list[tuple[int, str]]:
    """The page's headings as a screen reader lists them: (level, text)."""
    from html.parser import HTMLParser

    class Outline(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found: list[list] = []
            self.level = 0

        def handle_starttag(self, tag, attrs):
            if re.fullmatch(r"h[1-6]", tag):
                self.level = int(tag[1])
                self.found.append([self.level, ""])

        def handle_endtag(self, tag):
            if re.fullmatch(r"h[1-6]", tag):
                self.level = 0

        def handle_data(self, data):
            if self.level:
                self.found[-1][1] += data

    outline = Outline()
    outline.feed(page)
    return [(level, " ".join(text.split())) for level, text in outline.found]


A11Y_PAGES = [
    ("/", 200),
    ("/?q=When+did+Cairncross+marry%3F", 200),
    ("/?q=Who+won+the+World+Cup%3F", 200),
    ("/?q=" + "a" * 1001, 422),
    ("/?q=When%3F&documents=zzz", 422),
    ("/documents", 200),
    (f"/documents/{DOC}?start=1021&end=1037", 200),
    (f"/documents/{DOC}?start=99999&end=100000", 200),
    ("/documents/nope.txt", 404),
    ("/nope", 404),
]


@pytest.mark.parametrize("url,status", A11Y_PAGES)
def test_every_page_has_one_h1_first_and_no_skipped_heading_level(client, url, status):
    """Accessibility audit: the question page (the form, an answer, no answer, a refused
    question) had no h1 at all, so a screen reader's heading list began at "Answer" and
    "Jump to h1" found nothing. Every page now has exactly one h1, before any other
    heading, and no level is skipped (h1 then h2, never h1 then h3)."""
    resp = client.get(url)
    assert resp.status_code == status
    found = headings(resp.get_data(as_text=True))
    assert [level for level, _ in found].count(1) == 1, found
    assert found[0][0] == 1, found
    for (before, _), (after, text) in zip(found, found[1:]):
        assert after <= before + 1, f"h{before} then h{after} ({text!r}) on {url}"


def test_the_question_pages_h1_is_the_question_box_label(client):
    page = client.get("/?q=When+did+Cairncross+marry%3F").get_data(as_text=True)
    assert headings(page)[:2] == [(1, "Ask a question about the documents"), (2, "Answer")]
    assert '<h1><label for="q">Ask a question about the documents</label></h1>' in page


def field_tag(page: str, field_id: str) -> str:
    return re.search(rf'<(?:input|select) id="{field_id}"[^>]*>', page).group(0)


def test_a_refused_question_marks_the_box_and_says_error_in_the_title(client):
    """Accessibility audit: a question over the limit came back with the error in a
    paragraph after the form, tied to nothing: the box was not marked invalid, its
    description did not include the error, focus was not on it, and the tab title read
    like an answer page's. Now the box is focused, aria-invalid, described by the error
    (then the help), and the title starts with "Error:"."""
    resp = client.get("/", query_string={"q": "a" * 1001})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    box = field_tag(page, "q")
    assert 'aria-invalid="true"' in box and "autofocus" in box
    assert 'aria-describedby="problem q-help"' in box
    assert '<p id="problem" class="notice" role="alert">Your question has 1001 characters' in page
    assert page.split("<title>")[1].startswith("Error: aaaa")
    # an answered question is not an error, and its box is left alone
    page = client.get("/?q=When+did+Cairncross+marry%3F").get_data(as_text=True)
    box = field_tag(page, "q")
    assert "aria-invalid" not in box and "autofocus" not in box
    assert 'aria-describedby="q-help"' in box and 'id="problem"' not in page
    assert page.split("<title>")[1].startswith("When did Cairncross marry?")


def test_a_scope_matching_nothing_marks_the_search_in_menu(odd_engine):
    client = create_app({"engine": odd_engine, "TESTING": True}).test_client()
    page = client.get("/?q=When&documents=zzz").get_data(as_text=True)
    menu = field_tag(page, "documents")
    assert 'aria-invalid="true"' in menu and 'aria-describedby="problem"' in menu
    assert "autofocus" in menu
    box = field_tag(page, "q")
    assert "aria-invalid" not in box and "autofocus" not in box
    assert page.split("<title>")[1].startswith("Error: When · askfiles")


def test_a_scope_matching_nothing_without_a_menu_describes_the_box(client):
    """One document, so no "Search in" menu: the box is focused and described by the
    error, but not marked invalid (the question itself is fine)."""
    page = client.get("/?q=When&documents=zzz").get_data(as_text=True)
    box = field_tag(page, "q")
    assert "autofocus" in box and 'aria-describedby="problem q-help"' in box
    assert "aria-invalid" not in box


def test_a_citation_links_name_escapes_the_title(tmp_path):
    """The citation link's aria-label carries the document title: a title with quotes
    and markup stays one escaped attribute value."""
    (tmp_path / "odd.txt").write_text('Odd "title"><img src=x onerror=alert(1)>\n\n'
                                      "The old mill closed in 1911 after the fire.\n")
    client = create_app({"corpus": str(tmp_path), "poll_seconds": 0, "index_dir": "off",
                         "no_answer_threshold": 0, "TESTING": True}).test_client()
    page = client.get("/?q=When+did+the+old+mill+close%3F").get_data(as_text=True)
    assert "<img" not in page
    label = re.search(r'<a href="/documents/odd.txt[^"]*" aria-label="([^"]*)">', page)
    assert label, page
    assert label.group(1).startswith("Odd &#34;title&#34;&gt;&lt;img src=x onerror=alert(1)&gt;, "
                                     "passage 1, characters ")
