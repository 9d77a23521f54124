"""Faults: an indexer killed mid-write leaves a usable index; a killed worker is replaced.

The indexer is killed two ways: deterministically, by a subprocess that runs
``open_corpus`` and SIGKILLs itself at the Nth file write of the saved index
(the first data file, half-way through the manifest, after the manifest but
before old generations are removed); and for real, by SIGKILLing
``askfiles index`` as soon as its new index generation appears on disk. After
each, the next start must answer from the corpus, with every document.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "cairncross-mi5-confession.txt"


def load_soak():
    spec = importlib.util.spec_from_file_location("askfiles_bench_soak",
                                                  ROOT / "benchmarks" / "soak.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# A child that builds the index and SIGKILLs itself at write number KILL_AT
# (counting the data files and the manifest; "rmtree" = while removing old ones).
KILLER = textwrap.dedent("""
    import os, signal, sys, shutil
    from askfiles import store

    kill_at = sys.argv[2]
    count = [0]

    def maybe_die(path, data=None):
        count[0] += 1
        if kill_at != "rmtree" and count[0] == int(kill_at):
            if data is not None:                 # leave a torn file behind
                with open(path, "wb") as f:
                    f.write(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)

    real_bytes, real_npy = store._write_bytes, store._write_npy

    def write_bytes(path, data):
        maybe_die(path, data)
        real_bytes(path, data)

    def write_npy(path, arr):
        maybe_die(path, arr.tobytes())
        real_npy(path, arr)

    store._write_bytes, store._write_npy = write_bytes, write_npy
    if kill_at == "rmtree":
        real_rmtree = shutil.rmtree

        def rmtree(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)

        shutil.rmtree = rmtree
    store.open_corpus(sys.argv[1], {"poll_seconds": 0})
    print("finished without being killed", count[0])
""")


def corpus_with(tmp: Path, names: list[str]) -> Path:
    root = tmp / "corpus"
    root.mkdir(exist_ok=True)
    for name in names:
        if name == "seed.txt":
            shutil.copy(SEED, root / name)
        else:
            (root / name).write_text(
                f"Notes {name}\n\nThe harbour of {name[:-4]} was rebuilt in 1887.\n")
    return root


def run_killer(root: Path, kill_at: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLER, str(root), kill_at],
                          capture_output=True, text=True, timeout=300)


def assert_usable(root: Path, expected_docs: set[str]):
    """The next start: every document there, questions answered, index saved again."""
    from askfiles.engine import Engine
    from askfiles.store import _load_saved, signatures
    from askfiles.config import load_config

    engine = Engine.from_folder(root, {"poll_seconds": 0})
    assert set(engine.documents) == expected_docs
    if "seed.txt" in expected_docs:
        assert engine.ask("When did Cairncross die?").answers[0].answer == "8 October 1995"
    assert engine.corpus.report.index_dir is not None
    # The index on disk is whole again, and only the live generation is kept.
    saved = _load_saved(root / ".askfiles", signatures(load_config({})), root)
    assert {d["id"] for d in saved.documents} == expected_docs
    gens = [p.name for p in (root / ".askfiles").iterdir() if p.name.startswith("gen-")]
    from askfiles.store.layout import referenced

    live = referenced(saved.manifest)      # the state folder and the segments
    assert set(gens) == live, (gens, live)
    return engine


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["1", "14", "rmtree"])
def test_indexer_killed_during_an_update_keeps_a_usable_index(tmp_path, kill_at):
    root = corpus_with(tmp_path, ["seed.txt", "a.txt"])
    first = run_killer(root, "1000")                # a complete first index
    assert first.returncode == 0 and "finished" in first.stdout, first.stderr
    (root / "b.txt").write_text("Notes b\n\nThe bridge of b opened in 1901.\n")
    (root / "a.txt").unlink()
    died = run_killer(root, kill_at)
    assert died.returncode == -signal.SIGKILL, (died.stdout, died.stderr)
    engine = assert_usable(root, {"seed.txt", "b.txt"})
    assert engine.ask("When did the bridge of b open?").answers[0].answer == "1901"


@pytest.mark.slow
def test_first_index_killed_mid_write_is_rebuilt(tmp_path):
    root = corpus_with(tmp_path, ["seed.txt"])
    died = run_killer(root, "5")
    assert died.returncode == -signal.SIGKILL
    assert not (root / ".askfiles" / "manifest.json").exists()
    engine = assert_usable(root, {"seed.txt"})
    assert engine.corpus.report.rebuilt == "no saved index yet"


@pytest.mark.slow
def test_askfiles_index_sigkilled_when_its_new_generation_appears(tmp_path):
    """A real kill, timed by the disk: the moment a new gen-* folder shows up."""
    root = tmp_path / "corpus"
    root.mkdir()
    text = SEED.read_text()
    for i in range(2):     # a new generation is written once annotation is done
        (root / f"copy{i}.txt").write_text(text.replace("Cairncross", f"Cairncross{i}"))
    shutil.copy(SEED, root / "seed.txt")
    index = root / ".askfiles"
    proc = subprocess.Popen([sys.executable, "-m", "askfiles.cli", "index", "--corpus",
                             str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_mid_write = False
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if index.exists() and any(p.name.startswith("gen-") for p in index.iterdir()):
                proc.send_signal(signal.SIGKILL)
                killed_mid_write = not (index / "manifest.json").exists()
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "askfiles index ended before it could be killed"
    assert_usable(root, {"seed.txt"} | {f"copy{i}.txt" for i in range(2)})
    print(f"killed before the manifest was written: {killed_mid_write}")


# -- a worker that dies ----------------------------------------------------------------

def _get(port: int, path: str, timeout: float = 10) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_service_keeps_answering():
    soak = load_soak()
    proc, port, _ = soak.start_server(str(ROOT / "corpus"), workers=2,
                                      env={"ASKFILES_POLL_SECONDS": "0"})
    try:
        deadline = time.monotonic() + 60         # /healthz answers once one worker is up
        while True:
            workers = [p for p in soak.children(proc.pid) if p != proc.pid]
            if len(workers) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(workers) == 2, workers
        for _ in range(10):
            assert _get(port, "/healthz")[0] == 200
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        # Keep asking right through the replacement; count what is answered.
        answered, failed = 0, 0
        deadline = time.monotonic() + 20
        replaced = False
        while time.monotonic() < deadline:
            try:
                status, body = _get(port, "/api/ask?q=When+did+Cairncross+die%3F")
                assert status == 200 and body["answers"][0]["answer"] == "8 October 1995"
                answered += 1
            except OSError:
                failed += 1
            now = [p for p in soak.children(proc.pid) if p != proc.pid]
            if len(now) == 2 and victim not in now:
                replaced = True
                if answered >= 20:
                    break
        assert replaced, "gunicorn did not start a new worker"
        assert answered >= 20 and failed <= 2, (answered, failed)
        # The new worker serves too: enough fresh connections reach both workers.
        for _ in range(20):
            status, health = _get(port, "/healthz")
            assert status == 200 and health["status"] == "ok"
        assert proc.poll() is None
    finally:
        assert soak.stop_server(proc) == 0


# -- a short soak (the full one: benchmarks/soak.py, 64 connections x 60 s) -------------

@pytest.mark.slow
def test_short_soak_no_5xx_no_drops_flat_memory():
    soak = load_soak()
    r = soak.soak(str(ROOT / "corpus"), clients=16, seconds=6, workers=2)
    print(f"\nshort soak: {r['requests']} requests, statuses {r['statuses']}, "
          f"5xx {r['server_errors']}, dropped {r['dropped']}, "
          f"RSS {r['rss_start_total_mb']} -> {r['rss_end_total_mb']} MB")
    assert r["requests"] > 200
    assert r["server_errors"] == 0 and r["dropped"] == 0 and not r["unexpected"], r
    assert {200, 400, 404, 405, 413, 415, 422} <= set(r["statuses"])
    assert r["server_alive_at_end"] and r["server_exit"] == 0
    assert r["rss_end_total_mb"] < r["rss_start_total_mb"] * 1.15 + 20
