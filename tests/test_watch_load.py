"""The watcher under load (issue 12): 1,000+ new passages while questions run.

From 1,000 new passages (``store.PARALLEL_MIN``) annotation uses two
processes. They used to be ``fork``ed from a threaded gunicorn worker while
request threads were inside spaCy/BLIS; a child could wait forever on a lock
held by a thread it did not have, the worker with it (holding the index lock):
/healthz stayed on the old count, ``askfiles index`` blocked, the children
outlived the server. Now they are fresh ``python -m askfiles.annotator``
processes. This runs a real ``askfiles serve`` (2 workers), asks questions
from four threads all along, and adds 1,000 one-passage files twice.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

ROUNDS = 2
NEW = 1000         # files (one passage each) per round: PARALLEL_MIN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read()


def _tagged_pids(tag: str) -> list[int]:
    """Processes whose environment carries ``tag`` (the server and anything it started)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if tag.encode() in (d / "environ").read_bytes():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def _annotators(tag: str) -> set[int]:
    """The server's annotation processes running now."""
    out = set()
    for pid in _tagged_pids(tag):
        try:
            if b"askfiles.annotator" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.add(pid)
        except OSError:
            pass
    return out


def _add_files(corpus: Path, round_: int) -> None:
    """1,000 new one-sentence files, appearing at once (a folder renamed into place)."""
    stage = corpus / f".stage-{round_}"
    stage.mkdir()
    for i in range(NEW):
        (stage / f"n{i}.txt").write_text(
            f"Ledger {round_}-{i}\n\nClerk Abelard{round_}x{i} filed entry {i} in "
            f"{1700 + i % 300}.\n")
    os.rename(stage, corpus / f"batch-{round_}")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_watcher_annotates_1000_new_passages_while_questions_run(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text(
        "Harbour history\n\nThe harbour was rebuilt in 1887 by the city engineer.\n")
    port = _free_port()
    tag = f"askfiles-test-{uuid.uuid4().hex}"
    env = dict(os.environ, ASKFILES_POLL_SECONDS="1", PYTHONUNBUFFERED="1",
               ASKFILES_TEST_TAG=tag)
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "askfiles.cli", "serve", "--corpus", str(corpus),
             "--port", str(port), "--workers", "2"],
            stdout=log_file, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    errors: list[str] = []
    answered = [0]

    def ask_forever(k: int) -> None:
        qs = ["When was the harbour rebuilt?", "Who rebuilt the harbour?",
              "When did the clerk file the entry?"]
        while not stop.is_set():
            q = qs[(answered[0] + k) % len(qs)]
            url = (base + "/api/ask?" if k % 2 else base + "/?") + \
                urllib.parse.urlencode({"q": q})
            try:
                status, _ = _get(url, timeout=30)
                if status != 200:
                    errors.append(f"{url}: {status}")
                answered[0] += 1
            except OSError as exc:
                if not stop.is_set():
                    errors.append(f"{url}: {exc}")

    def passages() -> int | None:
        try:
            return json.loads(_get(base + "/healthz", timeout=5)[1])["passages"]
        except (OSError, ValueError):
            return None

    askers = []
    annotators: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while passages() is None:
            assert proc.poll() is None and time.monotonic() < deadline, \
                log_path.read_text()[-3000:]
            time.sleep(0.2)
        start = passages()
        askers = [threading.Thread(target=ask_forever, args=(k,), daemon=True)
                  for k in range(4)]
        for t in askers:
            t.start()
        for r in range(ROUNDS):
            _add_files(corpus, r)
            want = start + NEW * (r + 1)
            deadline = time.monotonic() + 180
            # Both workers: several answers in a row with the new count.
            while [passages() for _ in range(6)] != [want] * 6:
                annotators.update(_annotators(tag))
                assert time.monotonic() < deadline, (
                    f"round {r}: /healthz still says {passages()}, not {want}\n"
                    + log_path.read_text()[-3000:])
                time.sleep(0.5)
        stop.set()
        for t in askers:
            t.join(40)
        assert not errors, errors[:5]
        assert answered[0] > 20, answered[0]
        assert annotators, "no annotation process was seen: were 1,000 passages new at once?"
        # The index lock is free: askfiles index finishes and reuses everything.
        out = subprocess.run([sys.executable, "-m", "askfiles.cli", "index", "--corpus",
                              str(corpus)], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, ASKFILES_POLL_SECONDS="0"))
        assert out.returncode == 0, out.stderr[-2000:]
        assert f"{start + NEW * ROUNDS} passages (0 annotated now" in out.stdout, out.stdout
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # Nothing the server started outlives it.
    deadline = time.monotonic() + 15
    while _tagged_pids(tag) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _tagged_pids(tag) == []


@pytest.mark.slow
def test_annotation_processes_give_the_same_annotations_and_end_with_the_build():
    from askfiles import nlp

    texts = [f"Clerk Abelard{i} filed entry {i} in Lyon on {1 + i % 28} May {1700 + i}."
             for i in range(300)]
    one = list(nlp.annotate(texts, n_process=1))
    two = nlp.annotate(texts, batch_size=16, n_process=2)
    assert [next(two) for _ in range(20)] == one[:20]
    children = [p for p in _children(os.getpid()) if b"askfiles.annotator" in p[1]]
    assert len(children) == 2
    two.close()                       # a build stopped early: its processes end with it
    assert not [p for p in _children(os.getpid()) if b"askfiles.annotator" in p[1]]
    assert list(nlp.annotate(texts, batch_size=16, n_process=2)) == one


def _children(pid: int) -> list[tuple[int, bytes]]:
    """(pid, command line) of the running children of ``pid``."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            stat = (d / "stat").read_text()
            if d.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid \
                    and stat.rsplit(")", 1)[1].split()[0] != "Z":
                out.append((int(d.name), (d / "cmdline").read_bytes()))
        except (OSError, ValueError, IndexError):
            pass
    return out


def test_annotation_falls_back_to_this_process_when_none_can_start(monkeypatch, caplog):
    import subprocess

    from askfiles import nlp

    def no_python(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", "python")

    monkeypatch.setattr(subprocess, "Popen", no_python)
    texts = ["The harbour was rebuilt in 1887.", "The granary burned in 1911."]
    with caplog.at_level("WARNING", logger="askfiles"):
        got = list(nlp.annotate(texts, n_process=2))
    assert got == list(nlp.annotate(texts, n_process=1))
    assert "annotation processes could not start ([Errno 2] No such file or directory: " \
        "'python'); annotating in this one" in [r.getMessage() for r in caplog.records]
