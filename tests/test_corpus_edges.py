"""Corpus edges (issue 12): symlink races, non-UTF-8 names, an emptied corpus,
an index folder inside the corpus."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from askfiles import create_app
from askfiles.load import load_corpus, read_file
from askfiles.store import corpus_changed, open_corpus

SECRET = "The vault code outside the corpus is 4711."


# -- symlinks: what is opened is checked, not what was looked at --------------

def test_a_folder_swapped_for_an_outside_link_is_refused_at_read(tmp_path):
    root, outside = tmp_path / "corpus", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "a.txt").write_text(SECRET)
    (root / "sub" / "a.txt").write_text("Inside.\n")
    path = root / "sub" / "a.txt"            # looked at while sub was a real folder ...
    (root / "sub" / "a.txt").unlink()
    (root / "sub").rmdir()
    os.symlink(outside, root / "sub")        # ... then sub became a link out of the corpus
    with pytest.raises(ValueError, match=r"^outside the corpus folder \(reached through a "
                                         r"symlink; not read\)$"):
        read_file(path, root)


@pytest.mark.slow
def test_flipping_a_folder_to_an_outside_link_never_leaks_a_file(tmp_path):
    """A thread flips sub/ between a real folder and a link to outside/ while the
    corpus is read again and again: no outside text may ever be indexed.

    (Before the fix, 161 of 382 files read this way came from outside.)"""
    root, outside = tmp_path / "corpus", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    real = root / ".sub-real"                # a dot-folder: never walked itself
    real.mkdir()
    for i in range(20):
        (real / f"f{i}.txt").write_text(f"Inside file {i}.\n")
        (outside / f"f{i}.txt").write_text(SECRET)
    os.rename(real, root / "sub")
    stop = threading.Event()

    def flip():
        link = root / ".sub-link"
        while not stop.is_set():
            time.sleep(0.002)                # a real folder for a while ...
            os.rename(root / "sub", real)
            os.symlink(outside, link)
            os.rename(link, root / "sub")
            time.sleep(0.002)                # ... then a link out of the corpus
            os.unlink(root / "sub")
            os.rename(real, root / "sub")

    t = threading.Thread(target=flip, daemon=True)
    t.start()
    leaked = refused = read = runs = 0
    try:
        while runs < 150 or (refused == 0 and runs < 1000):
            docs, skipped = load_corpus(root)
            texts = [d.text for d in docs]
            if runs % 50 == 0:               # the saved-index path reads the same way
                built = open_corpus(root, {"index_dir": "off"})
                texts += [d.text for d in built.documents]
                skipped += list(built.skipped)
            leaked += sum(SECRET in t for t in texts)
            refused += sum(s.reason == "outside the corpus folder (reached through a "
                           "symlink; not read)" for s in skipped)
            read += len(docs)
            runs += 1
    finally:
        stop.set()
        t.join(10)
    assert leaked == 0, f"{leaked} outside files read in {runs} runs"
    assert refused > 0 and read > 0, (refused, read)   # the race did happen


# -- file names that are not UTF-8 ---------------------------------------------

@pytest.fixture()
def latin1_named(tmp_path):
    (tmp_path / "good.txt").write_text("Harbour history\n\nThe harbour was rebuilt in 1887.\n")
    name = os.path.join(os.fsencode(tmp_path), b"r\xe9sum\xe9.txt")
    with open(name, "wb") as f:
        f.write(b"The granary burned in 1911.\n")
    return tmp_path


def test_a_file_name_that_is_not_utf8_is_skipped_and_nothing_answers_500(latin1_named,
                                                                         caplog):
    with caplog.at_level(logging.WARNING, logger="askfiles"):
        app = create_app({"corpus": str(latin1_named), "poll_seconds": 0, "TESTING": True})
    engine = app.extensions["askfiles"].engine
    skipped = engine.corpus.skipped
    # The watcher sees no change on the next poll (it would rebuild every 2 s).
    assert corpus_changed(latin1_named, engine.corpus.report.files) is False
    assert [(s.path, s.reason) for s in skipped] == [
        ("r\\xe9sum\\xe9.txt", "file name is not valid UTF-8 (rename the file to index it)")]
    assert "skipped r\\xe9sum\\xe9.txt: file name is not valid UTF-8 (rename the file to " \
        "index it)" in [r.getMessage() for r in caplog.records]
    c = app.test_client()
    for url in ["/documents", "/api/documents", "/?q=When+was+the+harbour+rebuilt%3F",
                "/?q=granary", "/api/ask?q=When+did+the+granary+burn%3F",
                "/documents/good.txt", "/healthz"]:
        resp = c.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
    assert c.get("/healthz").get_json()["skipped"] == 1
    body = c.get("/api/ask", query_string={"q": "When was the harbour rebuilt?"}).get_json()
    assert body["answers"][0]["answer"] == "1887"
    # A second start, from the saved index, says the same.
    again = create_app({"corpus": str(latin1_named), "poll_seconds": 0, "TESTING": True})
    assert [s.path for s in again.extensions["askfiles"].engine.corpus.skipped] == \
        ["r\\xe9sum\\xe9.txt"]


@pytest.mark.slow
def test_askfiles_index_prints_the_escaped_name(latin1_named):
    out = subprocess.run([sys.executable, "-m", "askfiles.cli", "index", "--corpus",
                          str(latin1_named)], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, ASKFILES_POLL_SECONDS="0"))
    assert out.returncode == 0, out.stderr
    assert "skipped r\\xe9sum\\xe9.txt: file name is not valid UTF-8 (rename the file to " \
        "index it)" in out.stdout.splitlines()


# -- an emptied corpus ------------------------------------------------------

def test_an_emptied_corpus_keeps_the_saved_index_for_when_files_return(tmp_path, caplog):
    root, away = tmp_path / "corpus", tmp_path / "away"
    root.mkdir()
    away.mkdir()
    for i in range(3):
        (root / f"f{i}.txt").write_text(f"Harbour record {i}.\n\nThe pier {i} was built "
                                        f"in {1880 + i}.\n")
    first = open_corpus(root)
    assert first.report.documents == 3
    for p in root.glob("*.txt"):
        p.rename(away / p.name)
    with caplog.at_level(logging.WARNING, logger="askfiles"):
        empty = open_corpus(root)
    assert empty.report.documents == 0 and empty.report.passages == 0
    assert f"corpus {root} has no documents now; the saved index of 3 documents is kept " \
        "for when they come back" in [r.getMessage() for r in caplog.records]
    for p in away.glob("*.txt"):
        p.rename(root / p.name)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="askfiles"):
        back = open_corpus(root)
    assert back.report.rebuilt is None, back.report.rebuilt
    assert not [r for r in caplog.records if "unusable" in r.getMessage()]
    assert back.report.documents == 3 and back.report.passages_annotated == 0
    assert back.report.files_reused == 3 and back.report.files_read == 0


# -- the index folder inside the corpus ---------------------------------------

def test_an_index_folder_inside_the_corpus_is_never_indexed(tmp_path):
    (tmp_path / "good.txt").write_text("Harbour history\n\nThe harbour was rebuilt in 1887.\n")
    cfg = {"index_dir": str(tmp_path / "idx")}
    counts = []
    for _ in range(3):
        built = open_corpus(tmp_path, cfg)
        counts.append((built.report.documents, built.report.passages))
        assert [d.id for d in built.documents] == ["good.txt"]
    assert counts == [counts[0]] * 3
    tag = (tmp_path / "idx" / "CACHEDIR.TAG").read_bytes()
    assert tag.startswith(b"Signature: 8a477f597d28d172789f06886806bc55")


def test_the_corpus_folder_itself_cannot_be_the_index_folder(tmp_path, caplog):
    (tmp_path / "good.txt").write_text("Harbour history\n\nThe harbour was rebuilt in 1887.\n")
    with caplog.at_level(logging.WARNING, logger="askfiles"):
        built = open_corpus(tmp_path, {"index_dir": str(tmp_path)})
    assert [d.id for d in built.documents] == ["good.txt"]
    assert built.report.index_dir == str(Path(tmp_path) / ".askfiles")
    assert f"ASKFILES_INDEX_DIR is the corpus folder itself; using {tmp_path}/.askfiles " \
        "instead" in [r.getMessage() for r in caplog.records]


# -- issue-10's formats and skip logging meet issue-12's checks ----------------

def test_a_non_utf8_name_is_warned_once_then_logged_at_info(latin1_named, caplog):
    """issue-10 warns a skip once per file (the saved index records it); issue-12's
    escaped-name skip follows the same rule."""
    message = "skipped r\\xe9sum\\xe9.txt: file name is not valid UTF-8 (rename the file to " \
        "index it)"
    with caplog.at_level(logging.INFO, logger="askfiles"):
        open_corpus(latin1_named)
        first = [r.levelno for r in caplog.records if r.getMessage() == message]
        caplog.clear()
        open_corpus(latin1_named)
        again = [r.levelno for r in caplog.records if r.getMessage() == message]
    assert first == [logging.WARNING] and again == [logging.INFO]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_extensionless_files_go_through_the_same_open_checks(tmp_path):
    root, outside = tmp_path / "corpus", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "SECRET").write_text(SECRET)
    (root / "README").write_text("Harbour notes\n\nThe harbour was rebuilt in 1887.\n")
    (root / "askfiles.toml").write_text("max_file_mb = 5\n")
    os.mkfifo(root / "NOTES")                        # no extension, and a FIFO
    os.symlink(outside / "SECRET", root / "LEAK")    # no extension, and a link out
    done: dict = {}

    def build():
        done["built"] = open_corpus(root, {"index_dir": "off"})

    t = threading.Thread(target=build, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "blocked on the FIFO"
    built = done["built"]
    assert [d.id for d in built.documents] == ["README"]
    assert built.documents[0].title == "Harbour notes"
    assert built.documents[0].meta["format"] == "text"
    reasons = {s.path: s.reason for s in built.skipped}
    assert set(reasons) == {"NOTES", "LEAK"}, reasons
    assert "FIFO" in reasons["NOTES"] and "outside the corpus" in reasons["LEAK"]
    assert all("4711" not in d.text for d in built.documents)
    assert corpus_changed(root, built.report.files) is False


# -- a link to a document of the corpus ----------------------------------------

def test_a_link_to_a_document_of_the_corpus_is_not_a_second_document(tmp_path):
    """`latest.txt -> reports/2024.txt` gave the same text twice: answers cited the
    link's name first, and its twin took a place among the answers. Now the link is
    listed as skipped (the document is indexed under its own name), as a folder link
    back into the corpus is walked once; a link to a file the walk leaves out (a
    hidden folder) is still the document."""
    root = tmp_path / "corpus"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "2024.txt").write_text(
        "Report\n\nThe mill closed in 1911 after a fire destroyed the roof.\n")
    os.symlink("reports/2024.txt", root / "latest.txt")
    (root / ".drafts").mkdir()
    (root / ".drafts" / "pier.txt").write_text("Pier\n\nThe pier opened in 1902.\n")
    os.symlink(".drafts/pier.txt", root / "pier.txt")
    app = create_app({"corpus": str(root), "poll_seconds": 0, "TESTING": True})
    engine = app.extensions["askfiles"].engine
    assert sorted(engine.documents) == ["pier.txt", "reports/2024.txt"]
    assert [(s.path, s.reason) for s in engine.corpus.skipped] == \
        [("latest.txt", "symlink to reports/2024.txt, indexed under that name")]
    body = app.test_client().get("/api/ask?q=When+did+the+mill+close%3F&top_k=5").get_json()
    assert body["answers"][0]["answer"] == "1911"
    assert {a["citation"]["document"] for a in body["answers"]} == {"reports/2024.txt"}
    assert not corpus_changed(root, engine.corpus.report.files)
    (root / "reports" / "2024.txt").unlink()                 # the link now dangles
    assert corpus_changed(root, engine.corpus.report.files)
    again = open_corpus(root)
    assert [d.id for d in again.documents] == ["pier.txt"]
    assert [s.path for s in again.skipped] == ["latest.txt"]
    assert "dangling" in again.skipped[0].reason
