"""Odd corpus files: the engine starts, answers from the good files, reports each bad one once.

Decisions (see README, "Hardening", "Odd corpus files"):

- empty or blank files, binary files (NUL bytes), text that is not valid UTF-8,
  unsupported types, files over ``ASKFILES_MAX_FILE_MB`` (checked with ``stat``,
  never read), unreadable files, dangling links and link loops are skipped,
  each with one logged reason, listed by ``askfiles index`` and at start-up, and
  counted in ``/healthz`` (``skipped``);
- symlinks leaving the corpus folder (to a file or a folder) are not followed
  (and listed: ``link_dir/``); a folder link back into the corpus is walked once;
- a file of one 1 MB line is indexed (cut into passages spaCy accepts);
- deep folders are indexed, the id being the relative path.

Tests run as root on the CI machines, where ``chmod 000`` does not stop a read:
there the unreadable file is simulated (``askfiles.load.read_file`` raises
``PermissionError`` for a file with no read bits), elsewhere it is real.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from askfiles import create_app, load, store

DEEP = "/".join(f"d{i}" for i in range(40)) + "/deep.md"
GOOD = {"good.txt", DEEP, "oneline.txt", "loop/good.txt"} - {"loop/good.txt"}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def make_corpus(root: Path) -> dict[str, str]:
    """Writes the odd corpus; returns {bad file: expected words in its reason}."""
    (root / "good.txt").write_text(
        "Harbour history\n\nThe harbour was rebuilt in 1887 by the city engineer.\n")
    deep = root / DEEP
    deep.parent.mkdir(parents=True)
    deep.write_text("# Lighthouse\n\nThe lighthouse keeper retired in 1932 after forty "
                    "years.\n")
    # One line of a megabyte: a sentence, then the same eight words over and over.
    line = "The granary burned in 1911 and was never rebuilt. " + \
        "harbour ship grain north river stone keeper light " * 20000
    (root / "oneline.txt").write_text(line[:1 << 20] + "\n")
    bad = {}
    (root / "empty.txt").write_bytes(b"")
    bad["empty.txt"] = "empty"
    (root / "blank.md").write_text("\n  \n\t\n")
    bad["blank.md"] = "empty"
    (root / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    bad["binary.txt"] = "binary"
    (root / "binary.html").write_bytes(b"<html>\x00\x01\x02</html>")
    bad["binary.html"] = "binary"
    (root / "latin1.txt").write_bytes("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e.\n".encode("latin-1"))
    bad["latin1.txt"] = "UTF-8"
    (root / "fake.pdf").write_text("this is not a PDF at all")
    bad["fake.pdf"] = "PDF"
    (root / "data.bin").write_bytes(os.urandom(64))
    bad["data.bin"] = "unsupported"
    (root / "NOTES").write_bytes(b"\x00\x01\x02 no suffix, not text")
    bad["NOTES"] = "binary"             # without extension: read when its content is text
    with open(root / "big.txt", "wb") as f:             # 50 MB, sparse: cheap to make
        f.truncate(50 << 20)
    bad["big.txt"] = "too large"
    (root / "secret.txt").write_text("The password is swordfish.\n")
    os.chmod(root / "secret.txt", 0)
    bad["secret.txt"] = "unreadable"
    os.symlink("/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd",
               root / "link_out.txt")
    bad["link_out.txt"] = "outside the corpus"
    os.symlink("/etc", root / "link_dir")                # a folder outside: not walked
    bad["link_dir/"] = "symlink to a folder outside the corpus folder (not followed; move " \
        "or copy the folder into the corpus to index it)"
    os.symlink(".", root / "loop")                        # a folder loop: walked once
    os.symlink("b.txt", root / "a.txt")                   # a file loop
    os.symlink("a.txt", root / "b.txt")
    bad["a.txt"] = bad["b.txt"] = "symlink loop"
    os.symlink("nowhere.txt", root / "dangling.txt")
    bad["dangling.txt"] = "dangling symlink (its target 'nowhere.txt' does not exist)"
    return bad


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """The engine over the odd corpus, the log records of its build and the files read."""
    from askfiles.engine import Engine

    root = tmp_path_factory.mktemp("oddfiles")
    bad = make_corpus(root)
    read: list[str] = []
    real_read_file = load.read_file

    def read_file(path, *args, **kwargs):
        read.append(path.name)
        if IS_ROOT and path.exists() and not (path.stat().st_mode & 0o444):
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_file(path, *args, **kwargs)

    handler = _Collect()
    logging.getLogger("askfiles").addHandler(handler)
    mp = pytest.MonkeyPatch()
    mp.setattr(load, "read_file", read_file)
    mp.setattr(store.build, "read_file", read_file)
    try:
        engine = Engine.from_folder(root, {"poll_seconds": 0})
    finally:
        mp.undo()
        logging.getLogger("askfiles").removeHandler(handler)
    return root, bad, engine, handler.records, read


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_good_files_are_indexed_and_answered(odd):
    root, bad, engine, _, _ = odd
    assert set(engine.documents) == GOOD
    app = create_app({"engine": engine, "TESTING": True})
    client = app.test_client()
    for q, a in [("When was the harbour rebuilt?", "1887"),
                 ("When did the lighthouse keeper retire?", "1932"),
                 ("When did the granary burn?", "1911")]:
        body = client.get("/api/ask", query_string={"q": q}).get_json()
        assert body["answers"][0]["answer"] == a, (q, body)
    health = client.get("/healthz").get_json()
    assert health["documents"] == len(GOOD) and health["skipped"] == len(bad)
    ids = [d["id"] for d in client.get("/api/documents").get_json()["documents"]]
    assert sorted(ids) == sorted(GOOD)
    assert client.get("/api/documents/" + DEEP).status_code == 200
    assert client.get("/documents/" + DEEP).status_code == 200


def test_each_bad_file_is_skipped_once_with_its_reason(odd):
    _, bad, engine, _, _ = odd
    counts = Counter(s.path for s in engine.corpus.skipped)
    assert set(counts) == set(bad), set(counts) ^ set(bad)
    assert all(n == 1 for n in counts.values()), counts
    reasons = {s.path: s.reason for s in engine.corpus.skipped}
    for path, words in bad.items():
        assert words.lower() in reasons[path].lower(), (path, reasons[path])


def test_each_bad_file_is_logged_once(odd):
    _, bad, _, records, _ = odd
    skipped = Counter()
    for r in records:
        msg = r.getMessage()
        if msg.startswith("skipped "):
            assert r.levelno == logging.WARNING
            skipped[msg[len("skipped "):].split(": ", 1)[0]] += 1
    assert skipped == Counter({p: 1 for p in bad}), skipped


def test_nothing_outside_the_corpus_and_no_loop_is_read(odd):
    root, _, engine, _, read = odd
    assert not any(d.startswith(("link_dir", "loop/")) for d in engine.documents)
    assert "big.txt" not in read, "a file over the size limit must not be read"
    assert "link_out.txt" not in read
    assert read.count("good.txt") == 1      # not again through the loop/ link


def test_one_megabyte_line_is_cut_into_passages_spacy_accepts(odd):
    from askfiles.split import MAX_CHARS

    _, _, engine, _, _ = odd
    ps = [p for p in engine.passages if p.doc_id == "oneline.txt"]
    assert len(ps) > 100
    assert max(len(p.text) for p in ps) <= MAX_CHARS
    text = engine.documents["oneline.txt"].text
    assert all(text[p.start:p.end] == p.text for p in ps)


def test_a_single_enormous_token_is_cut_too():
    from askfiles.records import Document
    from askfiles.split import MAX_CHARS, split_document

    text = "x" * (1 << 20) + " tail."
    ps = split_document(Document("x.txt", "x", text, {}))
    assert max(len(p.text) for p in ps) <= MAX_CHARS
    assert all(text[p.start:p.end] == p.text for p in ps)


def test_the_saved_index_reports_the_same_skips_again(odd):
    """A second start (from the saved index) lists every bad file once again."""
    from askfiles.engine import Engine

    root, bad, _, _, _ = odd
    again = Engine.from_folder(root, {"poll_seconds": 0})
    counts = Counter(s.path for s in again.corpus.skipped)
    expected = set(bad) - ({"secret.txt"} if IS_ROOT else set())  # root can read it
    assert expected <= set(counts) and all(n == 1 for n in counts.values())
    assert again.corpus.report.files_reused >= len(GOOD)


def test_every_worker_reports_the_same_skips_and_links_are_warned_once(odd, caplog):
    """A reader of the published index (the other workers of `askfiles serve`, a
    read-only replica) lists the same skipped files as the builder, broken links
    included; a later build logs them at INFO, and a look finds nothing changed.
    (Before: dangling links and loops were not in the saved fingerprints, so /healthz
    said 'skipped: 4' or 'skipped: 1' by the worker it reached, and each rebuild
    warned about them again.)"""
    from askfiles.published import published_engine

    root, bad, _, _, _ = odd
    built = store.open_corpus(root)
    reader = published_engine(root)
    assert set(reader.corpus.skipped) == set(built.skipped)
    assert {"a.txt", "b.txt", "dangling.txt"} <= {s.path for s in reader.corpus.skipped}
    assert not store.corpus_changed(root, built.report.files)
    with caplog.at_level(logging.INFO, logger="askfiles"):
        store.open_corpus(root)
    links = [r for r in caplog.records if r.getMessage().startswith(
        ("skipped a.txt:", "skipped b.txt:", "skipped dangling.txt:"))]
    assert len(links) == 3 and all(r.levelno == logging.INFO for r in links), links


def test_a_dangling_link_whose_target_appears_is_read(tmp_path):
    (tmp_path / "good.txt").write_text("Harbour\n\nThe harbour was rebuilt in 1887.\n")
    os.symlink(".drafts/later.txt", tmp_path / "soon.txt")    # (a hidden folder)
    built = store.open_corpus(tmp_path)
    assert [s.path for s in built.skipped] == ["soon.txt"]
    assert not store.corpus_changed(tmp_path, built.report.files)
    (tmp_path / ".drafts").mkdir()
    (tmp_path / ".drafts" / "later.txt").write_text("Pier\n\nThe pier was opened in 1902.\n")
    assert store.corpus_changed(tmp_path, built.report.files)
    again = store.open_corpus(tmp_path)
    assert sorted(d.id for d in again.documents) == ["good.txt", "soon.txt"]
    assert again.skipped == ()


@pytest.mark.slow
def test_askfiles_index_lists_each_bad_file_once(odd):
    root, bad, _, _, _ = odd
    out = subprocess.run([sys.executable, "-m", "askfiles.cli", "index", "--corpus", str(root)],
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, ASKFILES_POLL_SECONDS="0"))
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("skipped ")]
    listed = Counter(ln[len("skipped "):].split(": ", 1)[0] for ln in lines)
    expected = set(bad) - ({"secret.txt"} if IS_ROOT else set())
    assert expected <= set(listed) and all(n == 1 for n in listed.values()), listed
    assert "Traceback" not in out.stderr
