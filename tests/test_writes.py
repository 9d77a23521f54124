"""The write API: PUT and DELETE /api/documents/<id> with a bearer token, through the test client."""

from __future__ import annotations

import logging

import pytest

from askfiles import create_app
from docmaker import make_pdf

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MILL = b"# Mill\n\nThe old mill closed in 1911 after a fire destroyed the roof.\n"


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text(
        "Harbour notes\n\nThe lighthouse at Port Ellen was built in 1832 by Robert Stevenson.\n")
    return root


@pytest.fixture()
def client(corpus):
    app = create_app({"corpus": str(corpus), "poll_seconds": 0, "api_token": TOKEN,
                      "max_file_mb": 0.01, "TESTING": True})
    return app.test_client()


def ask(client, question: str, **extra) -> dict:
    return client.post("/api/ask", json={"question": question, "top_k": 1, **extra}).get_json()


def test_put_makes_a_document_answerable_then_replace_then_delete(client, corpus, caplog):
    caplog.set_level(logging.INFO, logger="askfiles")
    resp = client.put("/api/documents/news/mill.md", data=MILL, headers=AUTH)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["id"] == "news/mill.md"
    assert (corpus / "news" / "mill.md").read_bytes() == MILL
    answer = ask(client, "When did the mill close?")
    assert answer["answers"][0]["answer"] == "1911"
    assert answer["index_version"] == body["index_version"]
    assert not [p for p in (corpus / "news").iterdir() if p.name.startswith(".")]

    resp = client.put("/api/documents/news/mill.md", headers=AUTH,
                      data=MILL.replace(b"1911", b"1913"))
    assert resp.status_code == 200 and resp.get_json()["index_version"] != body["index_version"]
    assert ask(client, "When did the mill close?")["answers"][0]["answer"] == "1913"

    resp = client.delete("/api/documents/news/mill.md", headers=AUTH)
    assert resp.status_code == 204 and resp.data == b""
    assert not (corpus / "news" / "mill.md").exists()
    assert client.get("/api/documents/news/mill.md").status_code == 404
    assert "PUT news/mill.md by 127.0.0.1: created" in caplog.text
    assert "PUT news/mill.md by 127.0.0.1: replaced" in caplog.text
    assert "DELETE news/mill.md by 127.0.0.1: removed" in caplog.text
    assert "added 1 (news/mill.md)" in caplog.text and "removed 1 (news/mill.md)" in caplog.text


def test_etag_changes_when_the_document_does(client):
    client.put("/api/documents/mill.md", data=MILL, headers=AUTH)
    first = client.get("/api/documents/mill.md").headers["ETag"]
    client.put("/api/documents/mill.md", data=MILL.replace(b"1911", b"1912"), headers=AUTH)
    resp = client.get("/api/documents/mill.md", headers={"If-None-Match": first})
    assert resp.status_code == 200 and resp.headers["ETag"] != first


@pytest.mark.parametrize("doc_id, body, ctype, status", [
    ("report.pdf", make_pdf([["The pier was rebuilt in 1902."]]), "application/pdf", 201),
    ("report2.pdf", make_pdf([["The pier was rebuilt in 1902."]]), None, 201),
    ("README", b"The quay was paved in 1871.\n", "text/plain", 201),
    ("notes.rst", b"Quay\n====\n\nThe quay was paved in 1871.\n", "text/x-rst", 201),
])
def test_formats_from_extension_and_content_type(client, doc_id, body, ctype, status):
    headers = dict(AUTH, **({"Content-Type": ctype} if ctype else {}))
    resp = client.put(f"/api/documents/{doc_id}", data=body, headers=headers)
    assert resp.status_code == status, resp.get_json()
    assert client.get(f"/api/documents/{doc_id}/file").data == body


@pytest.mark.parametrize("doc_id, body, ctype, status, code, message", [
    ("../escape.txt", MILL, None, 422, "invalid_id", "'..'"),
    ("a/../../escape.txt", MILL, None, 422, "invalid_id", "'..'"),
    ("/etc/passwd.txt", MILL, None, 404, "not_found", "No such endpoint"),
    ("a//b.txt", MILL, None, 422, "invalid_id", "relative path"),
    (".hidden.txt", MILL, None, 422, "invalid_id", "hidden"),
    (".askfiles/manifest.json", MILL, None, 422, "invalid_id", "hidden"),
    ("README~", MILL, None, 422, "invalid_id", "'README~' is an editor's backup"),
    ("node_modules/pad/README.md", MILL, None, 422, "invalid_id", "never indexed"),
    ("a\\b.txt", MILL, None, 422, "invalid_id", "backslash"),
    ("x" * 300 + ".txt", MILL, None, 422, "invalid_id", "longer than 255 bytes"),
    ("photo.jpg", b"\xff\xd8\xff", None, 415, "unsupported_media_type", "'.jpg'"),
    ("mill.txt", MILL, "application/pdf", 415, "unsupported_media_type", "does not fit"),
    ("mill", MILL, "application/pdf", 415, "unsupported_media_type", "extension .pdf"),
    ("mill.txt", MILL, "image/png", 415, "unsupported_media_type", "image/png"),
    ("mill.txt", b"\xff\xfe bad utf-8", None, 422, "unreadable_document", "UTF-8"),
    ("mill.txt", b"   \n", None, 422, "unreadable_document", "empty"),
    ("mill.pdf", b"not a pdf", None, 422, "unreadable_document", "not a PDF"),
    ("big.txt", b"word " * 5000, None, 413, "body_too_large", "larger than"),
])
def test_bad_writes_are_refused_and_nothing_is_written(client, corpus, doc_id, body, ctype,
                                                       status, code, message):
    before = sorted(p.relative_to(corpus) for p in corpus.rglob("*"))
    headers = dict(AUTH, **({"Content-Type": ctype} if ctype else {}))
    resp = client.put("/api/documents/" + doc_id, data=body, headers=headers)
    assert resp.status_code == status, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == code and message in error["message"], error
    after = sorted(p.relative_to(corpus) for p in corpus.rglob("*"))
    assert [p for p in after if p not in before and not str(p).startswith(".askfiles")] == []


def test_a_folder_link_out_of_the_corpus_is_not_followed(client, corpus, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (corpus / "link").symlink_to(outside)
    resp = client.put("/api/documents/link/x.txt", data=MILL, headers=AUTH)
    assert resp.status_code == 422 and "out of the corpus" in resp.get_json()["error"]["message"]
    assert not (outside / "x.txt").exists()


@pytest.mark.parametrize("doc_id, shown", [
    ("a.txt/file", "'a.txt'"),                  # (also the path of GET .../a.txt/file)
    ("a.txt/deeper/notes.md", "'a.txt'"),
])
def test_a_document_where_a_folder_would_go_is_refused(client, corpus, doc_id, shown):
    resp = client.put(f"/api/documents/{doc_id}", data=MILL, headers=AUTH)
    assert resp.status_code == 422, resp.get_json()        # was 500 (mkdir: File exists)
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_id"
    assert f"{shown} is a file, not a folder" in error["message"]
    assert (corpus / "a.txt").is_file()


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_writes_need_the_token(client, corpus, headers, method):
    resp = client.open("/api/documents/a.txt", method=method, data=MILL, headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (corpus / "a.txt").read_text().startswith("Harbour notes")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_without_a_token_setting_writes_are_off(corpus, method):
    client = create_app({"corpus": str(corpus), "poll_seconds": 0, "api_token": "",
                         "TESTING": True}).test_client()
    resp = client.open("/api/documents/a.txt", method=method, data=MILL, headers=AUTH)
    assert resp.status_code == 403
    error = resp.get_json()["error"]
    assert error["code"] == "writes_disabled" and "ASKFILES_API_TOKEN" in error["message"]


def test_delete_unknown_is_404(client):
    resp = client.delete("/api/documents/nope.txt", headers=AUTH)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_delete_never_removes_a_file_that_is_not_a_document(corpus, tmp_path):
    (corpus / "askfiles.toml").write_text("retrieve_depth = 8\n")
    (corpus / "notes").mkdir()
    (corpus / "notes" / "todo.toml").write_text("x = 1\n")   # not a format askfiles reads
    client = create_app({"corpus": str(corpus), "poll_seconds": 0, "api_token": TOKEN,
                         "TESTING": True}).test_client()
    for doc_id in ("askfiles.toml", "notes/todo.toml"):
        resp = client.delete(f"/api/documents/{doc_id}", headers=AUTH)
        assert resp.status_code == 404, doc_id
        assert resp.get_json()["error"]["code"] == "not_found"
    assert (corpus / "askfiles.toml").exists() and (corpus / "notes" / "todo.toml").exists()


def test_delete_removes_a_skipped_file_and_the_folders_it_leaves_empty(corpus):
    (corpus / "deep" / "er").mkdir(parents=True)
    (corpus / "deep" / "er" / "empty.txt").write_text("")    # skipped: no text
    client = create_app({"corpus": str(corpus), "poll_seconds": 0, "api_token": TOKEN,
                         "TESTING": True}).test_client()
    assert client.get("/api/documents/deep/er/empty.txt").status_code == 404
    resp = client.delete("/api/documents/deep/er/empty.txt", headers=AUTH)
    assert resp.status_code == 204
    assert not (corpus / "deep").exists() and (corpus / "a.txt").exists()


def test_put_checks_a_document_within_the_text_cap(corpus, monkeypatch):
    """A PUT checks the body as the loader reads it: HTML parsing stops once the text
    passes ASKFILES_MAX_DOC_CHARS (issue-12), and the document served is cut there."""
    from askfiles import formats

    caps = []
    real = formats.extract
    monkeypatch.setattr(formats, "extract",
                        lambda suffix, data, max_chars=0: caps.append(max_chars)
                        or real(suffix, data, max_chars))
    app = create_app({"corpus": str(corpus), "poll_seconds": 0, "api_token": TOKEN,
                      "max_doc_chars": 5000, "TESTING": True})
    client = app.test_client()
    page = b"<html><body>" + b"<p>The mill closed in 1911.</p>" * 2000 + b"</body></html>"
    resp = client.put("/api/documents/mill.html", data=page, headers=AUTH)
    assert resp.status_code == 201, resp.get_json()
    served = client.get("/api/documents/mill.html").get_json()
    assert len(served["text"]) == 5000 and served["meta"]["truncated"] is True
    assert caps and set(caps) == {5000}, caps
