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
    ex = formats.extract(".md", b"## Real heading ##\n\ntext")
    assert ex.title == "Real heading"


def test_unsupported_binary_bad_utf8_and_oversize_are_skipped(tmp_path, caplog):
    write(tmp_path, "ok.txt", "Fine text.")
    write(tmp_path, "report.docx", b"PK\x03\x04")
    write(tmp_path, "noext", b"\x00\x01binary without a suffix")
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
    assert "not a DOCX file" in reasons["report.docx"]
    assert "looks binary" in reasons["noext"]
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


# -- second wave: .docx, .rst, text without extension, Markdown titles ---------------

def make_docx(title: str | None, blocks: list[tuple[str, str]]) -> bytes:
    """A .docx made with python-docx: (style, text) paragraphs, "table" rows as a|b."""
    import io

    docx = pytest.importorskip("docx")
    d = docx.Document()
    if title is not None:
        d.core_properties.title = title
    for style, text in blocks:
        if style == "table":
            rows = [r.split("|") for r in text.split("\n")]
            table = d.add_table(rows=len(rows), cols=len(rows[0]))
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = cell
        elif style.startswith("Heading"):
            d.add_heading(text, int(style[-1]))
        else:
            d.add_paragraph(text)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def test_docx_paragraphs_tables_and_title():
    data = make_docx(None, [("Heading 1", "Harbour works"), ("", "The pier was rebuilt in 1902."),
                            ("table", "Year|Work\n1850|Harbour opened"), ("", ""),
                            ("", "The end.")])
    ex = formats.extract(".docx", data)
    assert ex.text == ("Harbour works\n\nThe pier was rebuilt in 1902.\n\nYear | Work\n\n"
                       "1850 | Harbour opened\n\nThe end.")
    assert ex.title == "Harbour works"
    assert formats.extract(".docx", make_docx("Core title", [("", "Body.")])).title == \
        "Core title"


@pytest.mark.parametrize("data, reason", [
    (b"PK\x03\x04 broken", "not a DOCX file"),
    (b"plain text", "not a DOCX file"),
])
def test_broken_docx_is_refused(data, reason):
    with pytest.raises(ValueError, match=reason):
        formats.extract(".docx", data)


@pytest.mark.parametrize("text, title", [
    ("=====\nTitle\n=====\n\nSection\n-------\n\nBody.", "Title"),
    ("Guide\n#####\n\nBody.", "Guide"),
    (".. comment\n\nJust prose here.\n", "Just prose here."),
])
def test_rst_titles(text, title):
    ex = formats.extract(".rst", text.encode())
    assert ex.text == text and ex.title == title


@pytest.mark.parametrize("text, title", [
    ("Project Name\n============\n\n[![CI](https://x/ci.svg)](https://x)\n\n## Installation\n",
     "Project Name"),
    ("[![CI](https://x/ci.svg)](https://x) [![PyPI](https://x/p.svg)](https://x)\n\n"
     "A tool that does things.\n\n## Installation\n", "A tool that does things."),
    ("<p align=\"center\"><img src=\"logo.png\"></p>\n\n# Real Title\n\n## Usage\n",
     "Real Title"),
    ("Intro words\n\n## Installation\n\nSetup\n-----\n", "Intro words"),
    ("## Overview\n\nText.", "Overview"),
    ("---\ntitle: From front matter\n---\n\n# Heading\n", "From front matter"),
    ("```\n# not a heading\n```\n\nFirst Real\n==========\n", "First Real"),
    ("Title over dashes\n-----------------\n\ntext\n\n## Later\n", "Title over dashes"),
])
def test_markdown_titles(text, title):
    assert formats.extract(".md", text.encode()).title == title


def test_plain_text_title_is_its_first_line_not_a_heading():
    ex = formats.extract(".txt", b"\n  Budget notes for 2024\n\n  # 1 budget\nmore\n")
    assert ex.title == "Budget notes for 2024"


@pytest.mark.parametrize("name, data, ok", [
    ("README", b"askfiles\n\nThe README explains things.\n", True),
    ("AUTHORS", "Jane Dö <jane@example.org>\n".encode(), True),
    ("NEWS", b"\x00\x01\x02", False),
    ("LICENSE", "caf\xe9".encode("latin-1"), False),
    ("control", b"\x01\x02\x03\x04\x05 text" * 10, False),
])
def test_files_without_extension_are_read_when_they_are_text(tmp_path, name, data, ok):
    write(tmp_path, name, data)
    docs, skipped = load_corpus(tmp_path)
    assert [d.id for d in docs] == ([name] if ok else [])
    if ok:
        assert docs[0].text == data.decode() and docs[0].meta["format"] == "text"


def test_new_formats_answer_with_exact_offsets(tmp_path):
    from askfiles.engine import Engine

    write(tmp_path, "works.docx", make_docx("Harbour works", [
        ("Heading 1", "Harbour works"),
        ("", "The pier at Bowmore was rebuilt in 1902 by the county engineer.")]))
    write(tmp_path, "guide.rst", "Mill guide\n==========\n\nThe old mill closed in 1911 "
                                 "after a fire.\n")
    write(tmp_path, "HISTORY", "History\n\nThe lighthouse was built in 1832 by Robert "
                               "Stevenson.\n")
    engine = Engine.from_folder(tmp_path, {"poll_seconds": 0, "index_dir": "off"})
    assert {d.id: d.title for d in engine.documents.values()} == {
        "works.docx": "Harbour works", "guide.rst": "Mill guide", "HISTORY": "History"}
    for question, answer, doc in [("When was the pier rebuilt?", "1902", "works.docx"),
                                  ("When did the mill close?", "1911", "guide.rst"),
                                  ("Who built the lighthouse?", "Robert Stevenson", "HISTORY")]:
        best = engine.ask(question, 1).answers[0]
        c = best.citation
        assert (best.answer, c.document) == (answer, doc)
        text = engine.documents[doc].text
        assert text[c.start:c.end] == best.answer
        assert text[c.snippet_start:c.snippet_end] == best.snippet
