"""One builder, many readers, on loopback (issue 11, item 3).

``askfiles index --watch`` keeps the index current; two ``askfiles serve
--read-only`` replicas answer from what it publishes. A file added to the
corpus is answered by both within 10 s; neither replica ever annotates (their
``askfiles_passages_annotated_total`` stays 0, no annotation process is ever
their child, and annotation is refused in them outright); the builder
SIGKILLed while it writes a new generation leaves both answering the previous
version, and a new builder brings them both forward.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from test_observe import sample
from test_server import ask, call, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "cairncross-mi5-confession.txt"
TAG = "ASKFILES_TEST_REPLICAS"


def _env(role: str) -> dict:
    return {**os.environ, "ASKFILES_POLL_SECONDS": "0.5", TAG: role,
            "PYTHONUNBUFFERED": "1"}


def _tagged(role: str) -> list[int]:
    """Processes started as ``role`` (they and their children carry the tag)."""
    out = []
    needle = f"{TAG}={role}\0".encode()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if needle in (d / "environ").read_bytes():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def _annotators(role: str) -> list[int]:
    out = []
    for pid in _tagged(role):
        try:
            if b"askfiles.annotator" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            pass
    return out


class Watchdog(threading.Thread):
    """Looks for annotation processes under the replicas all through the test."""

    def __init__(self, roles):
        super().__init__(daemon=True)
        self.roles, self.seen, self.done = roles, [], threading.Event()

    def run(self):
        while not self.done.wait(0.05):
            for role in self.roles:
                self.seen += _annotators(role)


def _start_builder(corpus: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "askfiles.cli", "index", "--watch",
                             "--corpus", str(corpus)], env=_env("builder"),
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _answer(base: str, question: str):
    status, out = ask(base, question, top_k=1)
    assert status == 200, out
    best = out["answers"][0]["answer"] if out["answers"] else None
    return best, out["index_version"]


def test_two_read_only_replicas_follow_one_builder(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "seed.txt")
    (corpus / "mill.txt").write_text("Mill\n\nThe mill at Ardmore closed in 1923.\n")
    logs = {name: tmp_path / f"{name}.log" for name in ("builder", "r1", "r2", "builder2")}
    procs: list[subprocess.Popen] = []
    watchdog = Watchdog(["r1", "r2"])
    try:
        builder = _start_builder(corpus, logs["builder"])
        procs.append(builder)
        _wait(lambda: (corpus / ".askfiles" / "manifest.json").exists(), 240,
              "the builder's first index")
        bases = {}
        for role in ("r1", "r2"):
            port = free_port()
            bases[role] = f"http://127.0.0.1:{port}"
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "askfiles.cli", "serve", "--read-only", "--corpus",
                 str(corpus), "--port", str(port), "--workers", "1"],
                env=_env(role), stdout=logs[role].open("wb"), stderr=subprocess.STDOUT))
        watchdog.start()
        for role, base in bases.items():
            _wait(lambda: _healthy(base), 120, f"replica {role} to answer /healthz")
        for base in bases.values():
            assert _answer(base, "When did the mill at Ardmore close?")[0] == "1923"

        # 1. A file added is answered by both replicas within 10 s.
        (corpus / "quay.txt").write_text(
            "Quay\n\nThe quay at Bowmore was paved in 1871 by the harbour trust.\n")
        t0 = time.monotonic()
        when = {}
        while len(when) < 2 and time.monotonic() - t0 < 10:
            for role, base in bases.items():
                if role not in when and _answer(base, "When was the quay at Bowmore "
                                                      "paved?")[0] == "1871":
                    when[role] = time.monotonic() - t0
            time.sleep(0.05)
        assert len(when) == 2, f"answered by {when} only within 10 s"
        print(f"added file answered by the replicas after {when} s "
              f"(apart by {abs(when['r1'] - when['r2']):.2f} s)")
        versions = {_answer(b, "When was the quay at Bowmore paved?")[1]
                    for b in bases.values()}
        assert len(versions) == 1

        # 2. The builder killed while it writes a new generation: both keep answering
        #    the previous version.
        index = corpus / ".askfiles"
        gens = {p.name for p in index.iterdir() if p.name.startswith("gen-")}
        stamp = (index / "manifest.json").stat()
        stage = corpus / ".stage"
        stage.mkdir()
        for i in range(40):
            (stage / f"n{i}.txt").write_text(SEED.read_text().replace(
                "Cairncross", f"Cairncross{i}"))
        os.rename(stage, corpus / "batch")
        _wait(lambda: {p.name for p in index.iterdir() if p.name.startswith("gen-")} - gens,
              240, "the builder to start writing a new generation")
        builder.send_signal(signal.SIGKILL)
        builder.wait()
        after = (index / "manifest.json").stat()
        published = (after.st_ino, after.st_mtime_ns) != (stamp.st_ino, stamp.st_mtime_ns)
        print(f"builder killed mid-write; manifest replaced before the kill: {published}")
        time.sleep(2.0)        # four polls of the replicas
        for base in bases.values():
            best, version = _answer(base, "When was the quay at Bowmore paved?")
            assert best == "1871"
            if not published:
                assert version in versions, "a replica moved to a half-written index"
            assert _healthy(base)["documents"] in (3, 43)

        # 3. A new builder takes over (its lease was freed by the kill) and both follow.
        builder2 = _start_builder(corpus, logs["builder2"])
        procs.append(builder2)
        for role, base in bases.items():
            _wait(lambda: _healthy(base)["documents"] == 43, 240,
                  f"replica {role} to follow the new builder")

        # Neither replica ever annotated.
        watchdog.done.set()
        watchdog.join()
        assert not watchdog.seen, f"annotation processes under a replica: {watchdog.seen}"
        for role, base in bases.items():
            text = call(base, "/metrics")[2].decode()
            assert sample(text, "askfiles_passages_annotated_total") == 0, role
            status, _, body = call(base, "/api/documents/x.txt", b"x", "PUT",
                                   {"Authorization": "Bearer t"})
            assert status == 403 and b"read_only" in body
        for role in ("r1", "r2"):
            text = logs[role].read_text()
            assert "annotation refused" not in text and "Traceback" not in text, text
    finally:
        watchdog.done.set()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _healthy(base: str):
    try:
        status, _, body = call(base, "/healthz")
    except OSError:
        return None
    if status != 200:
        return None
    import json

    return json.loads(body)


def test_a_replica_refuses_to_annotate_and_a_second_builder_waits(tmp_path, monkeypatch):
    """In process: the read-only app loads the published index without spaCy
    annotation; annotation is refused there; a second builder waits for the lease."""
    from askfiles import nlp
    from askfiles.published import Lease, published_engine
    from askfiles.store import open_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mill.txt").write_text("Mill\n\nThe mill at Ardmore closed in 1923.\n")
    built = open_corpus(corpus, {"corpus": str(corpus)})
    before = nlp.ANNOTATED
    engine = published_engine(corpus, {"corpus": str(corpus)})
    assert nlp.ANNOTATED == before
    assert len(engine.passages) == len(built.passages)
    assert engine.ask("When did the mill at Ardmore close?").answers[0].answer == "1923"
    lease = Lease(corpus / ".askfiles")
    assert lease.acquire()
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from askfiles.published import Lease; "
         "sys.exit(0 if Lease(sys.argv[1]).acquire() else 3)", str(corpus / ".askfiles")],
        env=os.environ)
    assert other.returncode == 3          # held here: another process cannot take it
    lease.release()
    monkeypatch.setattr(nlp, "FORBIDDEN", "")
    nlp.forbid_annotation("read-only")
    with pytest.raises(RuntimeError, match="annotation refused"):
        list(nlp.annotate(["text"]))


def test_plain_serve_follows_a_running_builder_and_takes_over_when_it_dies(tmp_path):
    """``askfiles serve`` beside an ``askfiles index --watch``: it starts from the
    published index and its workers follow (annotating nothing); when the builder is
    killed, one worker takes the builder lease and keeps the index current."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mill.txt").write_text("Mill\n\nThe mill at Ardmore closed in 1923.\n")
    procs: list[subprocess.Popen] = []
    log = tmp_path / "serve.log"
    try:
        builder = _start_builder(corpus, tmp_path / "builder.log")
        procs.append(builder)
        _wait(lambda: (corpus / ".askfiles" / "manifest.json").exists(), 240, "the index")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "askfiles.cli", "serve", "--corpus", str(corpus),
             "--port", str(port), "--workers", "2"],
            env=_env("plain"), stdout=log.open("wb"), stderr=subprocess.STDOUT))
        _wait(lambda: _healthy(base), 120, "askfiles serve to answer /healthz")
        assert "another process builds this index" in log.read_text()
        (corpus / "quay.txt").write_text("Quay\n\nThe quay at Bowmore was paved in 1871.\n")
        _wait(lambda: _answer(base, "When was the quay at Bowmore paved?")[0] == "1871", 10,
              "the server to answer from the added file")
        text = call(base, "/metrics")[2].decode()
        assert sample(text, "askfiles_passages_annotated_total") == 0
        builder.send_signal(signal.SIGKILL)
        builder.wait()
        (corpus / "pier.txt").write_text("Pier\n\nThe pier at Bowmore opened in 1902.\n")
        _wait(lambda: _answer(base, "When did the pier at Bowmore open?")[0] == "1902", 20,
              "a worker to take over building")
        text = call(base, "/metrics")[2].decode()
        assert sample(text, "askfiles_passages_annotated_total") >= 1
        assert log.read_text().count("now builds the index") == 1, log.read_text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_a_follower_waits_for_the_first_index_then_swaps_to_each_new_one(tmp_path):
    """In process: ``wait_for_engine`` waits for a first publication; a follow-mode
    watcher loads each new manifest (annotating nothing) and swaps it in."""
    from askfiles import nlp
    from askfiles.holder import EngineHolder
    from askfiles.published import NoIndex, wait_for_engine
    from askfiles.store import open_corpus
    from askfiles.watch import Watcher

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    cfg = {"corpus": str(corpus), "poll_seconds": 0}
    with pytest.raises(NoIndex):
        wait_for_engine(corpus, cfg, timeout=0.2)
    (corpus / "mill.txt").write_text("Mill\n\nThe mill at Ardmore closed in 1923.\n")
    open_corpus(corpus, cfg)
    holder = EngineHolder(wait_for_engine(corpus, cfg, timeout=5))
    watcher = Watcher(holder, corpus, cfg, mode="follow")
    assert watcher.check() is False and watcher.role == "follower"   # nothing new yet
    (corpus / "quay.txt").write_text("Quay\n\nThe quay at Bowmore was paved in 1871.\n")
    assert watcher.check() is False          # a follower never looks at the corpus
    open_corpus(corpus, cfg)                 # the builder publishes
    annotated = nlp.ANNOTATED
    assert watcher.check() is True and watcher.follows == 1
    assert nlp.ANNOTATED == annotated
    assert "quay.txt" in holder.engine.documents
    assert holder.engine.ask("When was the quay at Bowmore paved?").answers[0].answer == "1871"


def test_the_builder_waits_for_a_corpus_folder_moved_away(tmp_path, caplog):
    """`askfiles index --watch` whose corpus folder is moved away says so once and waits
    (before: a traceback saying 'pass --corpus DIR'); when the folder is back as a copy
    (its lock file a new one) it takes the lease again and publishes the copy's edits."""
    import logging

    from askfiles.builder import run_builder
    from askfiles.published import Lease

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mill.txt").write_text("Mill\n\nThe mill at Ardmore closed in 1923.\n")
    said: list[str] = []
    stop = threading.Event()
    cfg = {"corpus": str(corpus), "poll_seconds": 0.05}
    t = threading.Thread(target=run_builder, args=(cfg, said.append, stop), daemon=True)

    def wait_said(words: str) -> bool:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            if any(words in s for s in said):
                return True
            time.sleep(0.02)
        return False

    with caplog.at_level(logging.WARNING, logger="askfiles"):
        t.start()
        try:
            assert wait_said("watching"), said
            corpus.rename(tmp_path / "away")
            assert wait_said("is gone"), said
            time.sleep(0.3)
            assert not corpus.exists()
            shutil.copytree(tmp_path / "away", corpus)
            (corpus / "bakery.txt").write_text("Bakery\n\nThe bakery opened in 1931.\n")
            assert wait_said("2 documents"), said
            assert not Lease(corpus / ".askfiles").acquire(), "the lease was not taken again"
        finally:
            stop.set()
            t.join(10)
    assert sum("is gone" in s for s in said) == 1, said
    assert any(s == f"corpus folder {corpus} is back" for s in said), said
    assert not [r for r in caplog.records if r.exc_info], caplog.text
