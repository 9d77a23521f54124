"""File formats: HTML visible text, PDF pages, plain text kept as is, skips with reasons."""

from __future__ import annotations

import logging

import pytest

from askfiles import formats
from askfiles.load import load_corpus
from docmaker import HTML_PAGE, PDF_PAGES, make_pdf, write


# -- extraction, no spaCy ---------------------------------------------------

def test_pdf_text_per_page_with_page_offsets():
    ex = formats.extract(".pdf", make_pdf(PDF_PAGES, title="Harbour Report"))
    assert ex.title == "Harbour Report"
    pages = ex.meta["pages"]
    assert pages[0] == 0 and len(pages) == 2
    assert ex.text[pages[1]:].startswith("The lighthouse at Cape Byron")
    assert "premier" in ex.text[:pages[1]] and "premier" not in ex.text[pages[1]:]
    i = ex.text.index("1901")
    assert formats.page_of(ex.meta, i) == 2
    assert formats.page_of(ex.meta, ex.text.index("1932")) == 1


def test_pdf_title_falls_back_to_first_line():
    ex = formats.extract(".PDF", make_pdf(PDF_PAGES))
    assert ex.title == "Harbour Works Annual Report"


@pytest.mark.parametrize("data, reason", [
    (b"hello, not a pdf", "not a PDF"),
    (b"%PDF-1.4\n garbage garbage", "unreadable PDF"),
    (make_pdf([[], []]), "no extractable text"),
])
def test_bad_pdfs_are_refused_with_a_reason(data, reason):
    with pytest.raises(ValueError, match=reason):
        formats.extract(".pdf", data)


def test_html_visible_text_only():
    ex = formats.extract(".html", HTML_PAGE.encode("utf-8"))
    assert ex.title == "Glacier Survey & Findings"
    assert "Mallory" not in ex.text and "color" not in ex.text and "decoy" not in ex.text
    assert "The Vatnajökull glacier covers about 7,700 square kilometres" in ex.text
    # Whitespace inside a paragraph is collapsed; paragraphs are blank-line separated.
    assert "The survey was led by Helga Jonsdottir in 2019, with a team of twelve." in ex.text
    assert "\n\nIce depth was measured with radar.\n\nMelt water" in ex.text
    assert ex.text == ex.text.strip()


def test_html_offsets_lead_back_to_the_source():
    ex = formats.extract(".htm", HTML_PAGE.encode("utf-8"))
    for phrase in ("Helga Jonsdottir", "2019", "Ice depth", "Glacier"):
        i = ex.text.index(phrase)
        s = formats.source_offset(ex.meta, i)
        assert HTML_PAGE[s:s + len(phrase)] == phrase, phrase
    assert ex.meta["source_chars"] == len(HTML_PAGE)


def test_html_title_from_first_heading_and_legacy_charset():
    page = ("<html><head><meta charset='windows-1252'></head><body>"
            "<h2>Caf\xe9 menu</h2><p>Soup of the day \u2013 lentils.</p></body></html>")
    ex = formats.extract(".html", page.encode("cp1252"))
    assert ex.title == "Café menu"
    assert "Soup of the day – lentils." in ex.text


def test_html_without_closing_tags_keeps_its_body():
    page = b"<html><head><title>Loose</title><meta name=x><body><p>First para<p>Second para"
    ex = formats.extract(".html", page)
    assert ex.title == "Loose"
    assert ex.text == "First para\n\nSecond para"


def test_plain_text_is_the_file_itself():
    raw = "Title line\r\n\r\nSecond paragraph\twith a tab.\n\ufeffend"
    ex = formats.extract(".txt", raw.encode("utf-8"))
    assert ex.text == raw
    assert ex.title == "Title line"
    ex = formats.extract(".md", b"intro\n\n## Real heading ##\n\ntext")
    assert ex.title == "Real heading"


def test_unsupported_binary_bad_utf8_and_oversize_are_skipped(tmp_path, caplog):
    write(tmp_path, "ok.txt", "Fine text.")
    write(tmp_path, "report.docx", b"PK\x03\x04")
    write(tmp_path, "noext", "text without a suffix")
    write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    write(tmp_path, "latin.md", "caf\xe9".encode("latin-1"))
    write(tmp_path, "big.txt", "word " * 400)
    write(tmp_path, ".hidden.txt", "never read")
    write(tmp_path, ".askfiles/manifest.json", "{}")
    with caplog.at_level(logging.WARNING, logger="askfiles"):
        docs, skipped = load_corpus(tmp_path, max_bytes=1000)
    assert [d.id for d in docs] == ["ok.txt"]
    reasons = {s.path: s.reason for s in skipped}
    assert set(reasons) == {"report.docx", "noext", "image.txt", "latin.md", "big.txt"}
    assert "unsupported file type '.docx'" in reasons["report.docx"]
    assert "unsupported" in reasons["noext"]
    assert "binary" in reasons["image.txt"]
    assert "UTF-8" in reasons["latin.md"]
    assert "too large" in reasons["big.txt"] and "ASKFILES_MAX_FILE_MB" in reasons["big.txt"]
    assert all(path in caplog.text for path in reasons)


def test_unreadable_file_is_skipped(tmp_path):
    import os

    p = write(tmp_path, "secret.txt", "hidden")
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    docs, skipped = load_corpus(tmp_path)
    assert [d.id for d in docs] == ["secret.txt"]
    assert [s.path for s in skipped] == ["dangling.txt"]
    assert "unreadable" in skipped[0].reason
    assert p.exists()


# -- answerable, through the engine and the web app (spaCy) -----------------

@pytest.fixture(scope="module")
def mixed_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    write(folder, "harbour.pdf", make_pdf(PDF_PAGES, title="Harbour Report"))
    write(folder, "glacier.html", HTML_PAGE)
    write(folder, "notes/plain.txt", "Field notes\n\nThe ferry to Manly leaves at 9 am daily.\n")
    return folder


@pytest.fixture(scope="module")
def mixed_engine(mixed_corpus):
    from askfiles.engine import Engine

    return Engine.from_folder(mixed_corpus, {"poll_seconds": 0})


def _check_citation(engine, answer):
    c = answer.citation
    doc = engine.documents[c.document]
    assert doc.text[c.start:c.end] == answer.answer
    assert doc.text[c.snippet_start:c.snippet_end] == answer.snippet
    return doc


def test_pdf_answer_cites_its_page(mixed_engine):
    r = mixed_engine.ask("When was the lighthouse at Cape Byron completed?")
    best = r.answers[0]
    assert "1901" in best.answer
    assert best.citation.document == "harbour.pdf"
    assert best.citation.page == 2
    assert best.citation.to_json()["page"] == 2
    _check_citation(mixed_engine, best)
    r = mixed_engine.ask("When was the harbour bridge opened?")
    assert "1932" in r.answers[0].answer and r.answers[0].citation.page == 1
    _check_citation(mixed_engine, r.answers[0])


def test_html_answer_offsets_hold(mixed_engine):
    r = mixed_engine.ask("Who led the glacier survey?")
    best = r.answers[0]
    assert "Helga Jonsdottir" in best.answer
    assert best.citation.document == "glacier.html"
    assert best.citation.page is None
    doc = _check_citation(mixed_engine, best)
    assert doc.title == "Glacier Survey & Findings"
    for a in r.answers:
        assert "Mallory" not in a.snippet


def test_served_text_matches_citations(mixed_corpus, mixed_engine):
    from askfiles import create_app

    app = create_app({"engine": mixed_engine, "poll_seconds": 0, "TESTING": True})
    client = app.test_client()
    for q, doc_id in (("Who led the glacier survey?", "glacier.html"),
                      ("Who designed the lighthouse at Cape Byron?", "harbour.pdf"),
                      ("When does the ferry to Manly leave?", "notes/plain.txt")):
        body = client.post("/api/ask", json={"question": q}).get_json()
        cite = body["answers"][0]["citation"]
        assert cite["document"] == doc_id, (q, body)
        served = client.get(f"/api/documents/{doc_id}").get_json()
        assert served["text"][cite["start"]:cite["end"]] == body["answers"][0]["answer"]
        if doc_id == "harbour.pdf":
            assert cite["page"] == 2 and served["meta"]["pages"][0] == 0
    listing = client.get("/api/documents").get_json()
    ids = {d["id"] for d in (listing["documents"] if isinstance(listing, dict) else listing)}
    assert ids == {"glacier.html", "harbour.pdf", "notes/plain.txt"}
