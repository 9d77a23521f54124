"""Live updates: the watcher swaps in a new engine when the corpus folder changes."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from askfiles import nlp
from askfiles.engine import Engine
from askfiles.holder import EngineHolder
from askfiles.watch import Watcher, start_watcher
from docmaker import HTML_PAGE, write

POLL = 0.5          # seconds; answers must follow a change within 2 polls
QUESTION = "What colour is the Zorvath beetle?"
BASE = {
    "intro.txt": "Beetles of the valley\n\nThe stag beetle lives in old oak woods.\n",
    "moths.md": "# Moths\n\nThe emperor moth flies in April over heather moorland.\n",
}


@pytest.fixture
def folder(tmp_path):
    for name, text in BASE.items():
        write(tmp_path / "corpus", name, text)
    return tmp_path / "corpus"


def wait_for(predicate, timeout: float, step: float = 0.02):
    """Seconds until ``predicate()`` held, or None after ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def cited(result, doc_id: str) -> bool:
    return any(a.citation.document == doc_id for a in result.answers)


def test_add_edit_delete_are_followed_within_two_polls(folder):
    holder = EngineHolder(Engine.from_folder(folder, {"poll_seconds": 0}))
    first_version = holder.engine.version
    watcher = start_watcher(holder, folder, {"poll_seconds": POLL})
    try:
        assert watcher.running
        # Add: a question about the new file is answered.
        write(folder, "zorvath.txt",
              "Field guide\n\nThe Zorvath beetle is bright green with copper legs.\n")
        took = wait_for(lambda: "green" in holder.engine.ask(QUESTION).answers[0].snippet,
                        2 * POLL)
        assert took is not None, "new file not answered within 2 polling intervals"
        print(f"add followed in {took:.2f} s")
        assert holder.engine.version != first_version
        ans = holder.engine.ask(QUESTION).answers[0]
        doc = holder.engine.documents["zorvath.txt"]
        assert ans.citation.document == "zorvath.txt"
        assert doc.text[ans.citation.start:ans.citation.end] == ans.answer
        # Edit: the old answer disappears.
        write(folder, "zorvath.txt",
              "Field guide\n\nThe Zorvath beetle is dull purple, almost black, with short legs.\n")
        took = wait_for(lambda: "purple" in holder.engine.ask(QUESTION).answers[0].snippet,
                        2 * POLL)
        assert took is not None, "edit not followed within 2 polling intervals"
        print(f"edit followed in {took:.2f} s")
        r = holder.engine.ask(QUESTION, top_k=5)
        assert all("green" not in a.snippet for a in r.answers)
        # Delete: no citation points at the file.
        (folder / "zorvath.txt").unlink()
        took = wait_for(lambda: "zorvath.txt" not in holder.engine.documents, 2 * POLL)
        assert took is not None, "deletion not followed within 2 polling intervals"
        print(f"delete followed in {took:.2f} s")
        r = holder.engine.ask(QUESTION, top_k=5)
        assert not cited(r, "zorvath.txt")
        assert holder.engine.version == first_version     # back to the same corpus
    finally:
        watcher.stop()
    assert not watcher.running and watcher.swaps == 3


def test_no_change_no_rebuild_and_touch_keeps_engine(folder):
    engine = Engine.from_folder(folder, {"poll_seconds": 0})
    holder = EngineHolder(engine)
    w = Watcher(holder, folder, {"poll_seconds": POLL})
    assert w.check() is False and w.rebuilds == 0
    os.utime(folder / "intro.txt")
    assert w.check() is False and w.rebuilds == 1 and holder.engine is engine
    assert w.check() is False and w.rebuilds == 1


def test_requests_in_flight_finish_on_the_old_engine(folder):
    holder = EngineHolder(Engine.from_folder(folder, {"poll_seconds": 0}))
    w = Watcher(holder, folder, {"poll_seconds": POLL})
    in_flight = holder.engine               # what a request took at its start
    (folder / "moths.md").unlink()
    assert w.check() is True
    assert holder.engine is not in_flight
    r = in_flight.ask("When does the emperor moth fly?")
    assert cited(r, "moths.md") and "April" in r.answers[0].snippet
    assert not cited(holder.engine.ask("When does the emperor moth fly?"), "moths.md")


def test_failed_rebuild_keeps_serving(folder, caplog):
    engine = Engine.from_folder(folder, {"poll_seconds": 0})
    holder = EngineHolder(engine)

    def broken(folder, config):
        raise RuntimeError("disk on fire")

    w = Watcher(holder, folder, {"poll_seconds": POLL}, build=broken)
    write(folder, "new.txt", "Something new.")
    with caplog.at_level(logging.ERROR, logger="askfiles.watch"):
        assert w.check() is False
        assert w.check() is False
    assert holder.engine is engine
    errors = [r for r in caplog.records if r.name == "askfiles.watch"]
    assert len(errors) == 1                               # logged once, not every poll


def test_zero_interval_turns_the_watcher_off(folder):
    holder = EngineHolder(Engine.from_folder(folder, {"poll_seconds": 0}))
    w = start_watcher(holder, folder, {"poll_seconds": 0})
    assert not w.running


def test_web_app_follows_the_corpus_and_restart_reads_nothing(folder):
    from askfiles import create_app

    settings = {"corpus": str(folder), "poll_seconds": POLL, "TESTING": True}
    app = create_app(dict(settings))
    client = app.test_client()
    health = client.get("/healthz").get_json()
    assert health["documents"] == 2
    watcher = app.extensions["askfiles.watcher"]
    try:
        assert watcher.running and watcher.pid == os.getpid()
        write(folder, "page.html", HTML_PAGE)

        def answered():
            body = client.get("/api/ask?" + urllib.parse.urlencode(
                {"q": "Who led the glacier survey?"})).get_json()
            return body["answers"] and body["answers"][0]["citation"]["document"] == "page.html"

        assert wait_for(answered, 2 * POLL) is not None
        body = client.get("/api/ask?q=Who+led+the+glacier+survey%3F").get_json()
        cite = body["answers"][0]["citation"]
        text = client.get("/api/documents/page.html").get_json()["text"]
        assert text[cite["start"]:cite["end"]] == body["answers"][0]["answer"]
        new_health = client.get("/healthz").get_json()
        assert new_health["documents"] == 3
        assert new_health["index_version"] != health["index_version"]
        assert body["index_version"] == new_health["index_version"]
    finally:
        watcher.stop()
    # A restart on the unchanged corpus annotates nothing.
    before = nlp.ANNOTATED
    app2 = create_app(dict(settings, poll_seconds=0))
    engine = app2.extensions["askfiles"].engine
    assert nlp.ANNOTATED == before and engine.corpus.report.passages_annotated == 0
    assert len(engine.documents) == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_gunicorn_workers_each_follow_the_corpus(folder, tmp_path):
    port = _free_port()
    env = dict(os.environ, ASKFILES_POLL_SECONDS=str(POLL), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "askfiles.cli", "serve", "--corpus", str(folder),
             "--port", str(port), "--workers", "2"],
            stdout=log_file, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return _get(base + "/healthz")["status"] == "ok"
            except OSError:
                return False

        assert wait_for(up, 60, 0.2) is not None, log_path.read_text()
        write(folder, "zorvath.txt",
              "Field guide\n\nThe Zorvath beetle is bright green with copper legs.\n")
        q = base + "/api/ask?" + urllib.parse.urlencode({"q": QUESTION})

        def all_workers_answer():
            # Several requests reach both workers (gthread, no sticky routing).
            return all(_get(q)["answers"][0]["citation"]["document"] == "zorvath.txt"
                       for _ in range(6))

        # Two polls, plus the annotation of the new file in a worker process.
        assert wait_for(all_workers_answer, 2 * POLL + 5, 0.1) is not None, \
            log_path.read_text()[-3000:]
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_looks_at_a_costly_corpus_are_spaced_by_their_cost(tmp_path):
    """A look that takes 0.1 s is followed by a wait of 0.4 s, not the 0.01 s set:
    looking at a big corpus stays at about a fifth of a core."""
    from types import SimpleNamespace

    looks = []

    def look(self):
        looks.append(time.monotonic())
        time.sleep(0.1)
        return False

    w = Watcher(EngineHolder(SimpleNamespace(corpus=None)), tmp_path, {"poll_seconds": 0.01})
    w.check = look.__get__(w)      # this watcher only (other tests' watchers may still run)
    w.start()
    time.sleep(1.6)
    w.stop()
    gaps = [b - a for a, b in zip(looks, looks[1:])]
    assert 2 <= len(looks) <= 5, looks
    assert all(g >= 0.45 for g in gaps), gaps      # 0.1 s look + at least 0.4 s wait


def _two_workers(folder):
    """Two watchers sharing one engine's saved index as two workers of `askfiles serve`
    do (the lease is a flock: two opens of the lock file exclude each other)."""
    engine = Engine.from_folder(folder, {"poll_seconds": 0})
    watchers = [Watcher(EngineHolder(engine), folder, {"poll_seconds": POLL}, mode="auto")
                for _ in range(2)]
    for w in watchers:
        w.check()
    assert sorted(w.role for w in watchers) == ["builder", "follower"]
    return watchers


def test_a_corpus_folder_moved_away_is_not_made_again(folder, caplog):
    """`mv corpus elsewhere` under a running server: it keeps answering from the last
    index, says so once, and neither makes the folder again nor logs a traceback.
    (Before: a follower taking the lease made `corpus/.askfiles/` again, then built and
    served an empty corpus, next to a traceback from the builder.)"""
    watchers = _two_workers(folder)
    away = folder.parent / "away"
    folder.rename(away)
    with caplog.at_level(logging.INFO, logger="askfiles"):
        for _ in range(3):
            for w in watchers:
                assert w.check() is False
    assert not folder.exists(), "the corpus folder was made again"
    for w in watchers:
        assert cited(w.holder.engine.ask("When does the emperor moth fly?"), "moths.md")
    messages = [r.getMessage() for r in caplog.records]
    gone = [m for m in messages if m.startswith(f"corpus folder {folder} is gone")]
    assert gone and all(m == gone[0] for m in gone) and len(gone) <= 2, messages
    assert "still answering from the last index (2 documents) until it is back" in gone[0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    away.rename(folder)
    for w in watchers:
        w.check()
    assert sorted(w.role for w in watchers) == ["builder", "follower"]
    for w in watchers:
        w.stop()


def test_a_corpus_folder_replaced_by_a_copy_has_one_builder(folder):
    """The folder swapped for a copy between two looks (a restore, `rsync` into a new
    folder and `mv`): the lease taken on the old folder's lock file excludes no one
    any more, so it is taken again; one builder, and the copy's edits are answered.
    (Before: the old holder and the other worker both built.)"""
    import shutil

    watchers = _two_workers(folder)
    old = folder.parent / "old"
    shutil.copytree(folder, old, symlinks=True)
    folder.rename(folder.parent / "older")
    old.rename(folder)
    write(folder, "zorvath.txt",
          "Field guide\n\nThe Zorvath beetle is bright green with copper legs.\n")
    for _ in range(2):
        for w in reversed(watchers):      # the follower looks first
            w.check()
    assert sorted(w.role for w in watchers) == ["builder", "follower"]
    for w in watchers:
        assert cited(w.holder.engine.ask(QUESTION), "zorvath.txt")
        w.stop()


def test_editors_backups_and_other_junk_are_neither_documents_nor_skipped(folder, caplog):
    """What editors, office programs, systems and package managers leave beside a user's
    documents while the server runs is not a document, nor a skipped file to warn about.
    (Before: README~ and #README# were answered as documents, the emacs autosave
    cited first; the others were each warned about as skipped.)"""
    write(folder, "README", "Ferry notes\n\nThe ferry to the island leaves at 7 am.\n")
    holder = EngineHolder(Engine.from_folder(folder, {"poll_seconds": 0}))
    w = Watcher(holder, folder, {"poll_seconds": POLL})
    version = holder.engine.version
    write(folder, "README~", "Ferry notes\n\nThe ferry to the island leaves at 6 am.\n")
    write(folder, "#README#", "Ferry notes\n\nThe ferry to the island leaves at 9 am.\n")
    os.symlink("user@host.4242:1700000000", folder / ".#README")    # emacs lock
    write(folder, "moths.md~", "# Moths\n\nThe emperor moth flies in May.\n")
    (folder / "~$report.docx").write_bytes(b"\x05user\x00\x00")        # Word's owner file
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\x00\x00")
    write(folder, "desktop.ini", "[.ShellClassInfo]\n")
    write(folder, "node_modules/leftpad/README.md", "# leftpad\n\nPads strings, since 2014.\n")
    write(folder, "node_modules/leftpad/LICENSE", "MIT License\n\nCopyright 2014 Azer\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\xa7\r\r\n\x00\x00")
    write(folder, "$RECYCLE.BIN/S-1-5-21/$RX1Y2Z3.txt", "Ferry\n\nThe ferry left at 5 am.\n")
    write(folder, "@eaDir/README@SynoEAStream", "Ferry\n\nThe ferry left at 4 am.\n")
    with caplog.at_level(logging.INFO, logger="askfiles"):
        assert w.check() is False
    engine = holder.engine
    assert engine.version == version
    assert sorted(engine.documents) == ["README", "intro.txt", "moths.md"]
    assert engine.corpus.skipped == ()
    assert "skipped" not in caplog.text
    r = engine.ask("When does the ferry to the island leave?", top_k=5)
    assert r.answers[0].answer == "7 am" and {a.citation.document for a in r.answers} == {"README"}


def test_a_file_made_readable_again_is_read_at_the_next_look(folder, monkeypatch):
    """`chmod 644` on a file skipped as unreadable changes neither its size nor its
    mtime; the watcher notices it by its ctime. (Before: it stayed skipped until the
    file was edited or the server restarted.) As root, chmod 000 does not stop a read:
    the read is refused as it would be for another user, from the file's mode."""
    from askfiles import store

    real = store.build.read_file

    def read_file(path, *args, **kwargs):
        if not (os.stat(path).st_mode & 0o444):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(store.build, "read_file", read_file)
    write(folder, "zorvath.txt",
          "Field guide\n\nThe Zorvath beetle is bright green with copper legs.\n")
    os.chmod(folder / "zorvath.txt", 0)
    holder = EngineHolder(Engine.from_folder(folder, {"poll_seconds": 0}))
    assert [(s.path, s.reason) for s in holder.engine.corpus.skipped] == \
        [("zorvath.txt", "unreadable (Permission denied)")]
    w = Watcher(holder, folder, {"poll_seconds": POLL})
    assert w.check() is False and w.rebuilds == 0
    os.chmod(folder / "zorvath.txt", 0o644)
    assert w.check() is True
    assert holder.engine.corpus.skipped == ()
    assert cited(holder.engine.ask(QUESTION), "zorvath.txt")


def test_folders_not_walked_are_listed_and_read_once_they_can_be(folder, tmp_path,
                                                                  monkeypatch, caplog):
    """A folder without read permission and a link to a folder outside the corpus (a
    notes folder linked in) are listed as skipped, with what to do, by every worker;
    the folder made readable is read at the next look. (Before: their documents were
    missing without a word: not skipped, not logged, /healthz 'skipped: 0'.) As root a
    folder's mode does not stop a listing: it is refused as for another user."""
    from askfiles.published import published_engine

    real = os.scandir

    def scandir(path="."):
        if not (os.stat(path).st_mode & 0o444):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    write(folder, "locked/zorvath.txt",
          "Field guide\n\nThe Zorvath beetle is bright green with copper legs.\n")
    os.chmod(folder / "locked", 0)
    write(tmp_path / "notes", "mill.txt", "Mill\n\nThe mill closed in 1911.\n")
    os.symlink(tmp_path / "notes", folder / "notes")
    with caplog.at_level(logging.WARNING, logger="askfiles"):
        holder = EngineHolder(Engine.from_folder(folder, {"poll_seconds": 0}))
    skipped = {s.path: s.reason for s in holder.engine.corpus.skipped}
    assert skipped == {
        "locked/": "folder not readable (Permission denied; not indexed)",
        "notes/": "symlink to a folder outside the corpus folder (not followed; move or "
                  "copy the folder into the corpus to index it)"}
    assert "skipped locked/: folder not readable" in caplog.text
    assert set(published_engine(folder).corpus.skipped) == set(holder.engine.corpus.skipped)
    w = Watcher(holder, folder, {"poll_seconds": POLL})
    assert w.check() is False and w.rebuilds == 0            # nothing changed: no rebuild
    os.chmod(folder / "locked", 0o755)
    assert w.check() is True
    assert [s.path for s in holder.engine.corpus.skipped] == ["notes/"]
    assert cited(holder.engine.ask(QUESTION), "locked/zorvath.txt")


def test_a_corpus_path_that_is_a_symlink_is_followed_when_switched(tmp_path):
    """`--corpus /srv/docs/current` where current is a symlink switched to the next
    release (ln -sfn v2 current): the server and askfiles.open(...).refresh() read
    where the link leads now. (Before: the folder was resolved once at start, so the
    watcher kept looking at v1 and answered from it until a restart.)"""
    import askfiles
    from askfiles import create_app

    for v, when in (("v1", "March 2001"), ("v2", "June 2002")):
        write(tmp_path / v, "notes.txt", f"Release notes\n\nThe release came out in {when}.\n")
    current = tmp_path / "current"
    os.symlink(tmp_path / "v1", current)
    app = create_app({"corpus": str(current), "poll_seconds": POLL, "TESTING": True})
    client = app.test_client()
    library = askfiles.open(current, index_dir="off")

    def answer():
        body = client.get("/api/ask?q=When+did+the+release+come+out%3F").get_json()
        return body["answers"][0]["answer"]

    assert answer() == "March 2001"
    watcher = app.extensions["askfiles.watcher"]
    try:
        tmp = tmp_path / "current.new"
        os.symlink(tmp_path / "v2", tmp)
        os.replace(tmp, current)                              # what ln -sfn does
        assert wait_for(lambda: answer() == "June 2002", 4 * POLL) is not None
    finally:
        watcher.stop()
    assert library.refresh() is True
    assert library.ask("When did the release come out?").answers[0].answer == "June 2002"


def test_an_edited_settings_file_says_a_restart_applies_it(folder, caplog):
    """askfiles.toml edited (or made) while the server runs did nothing, silently: the
    builder now says once per edit that settings are read at start."""
    holder = EngineHolder(Engine.from_folder(folder, {"poll_seconds": 0}))
    w = Watcher(holder, folder, {"poll_seconds": POLL, "corpus": str(folder)})
    with caplog.at_level(logging.WARNING, logger="askfiles.watch"):
        assert w.check() is False
        write(folder, "askfiles.toml", "no_answer_threshold = 0.5\n")
        assert w.check() is False and w.check() is False
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"{folder / 'askfiles.toml'} changed; settings are read when the "
                    "server starts: restart it to apply them"], said
