"""Against a real ``askfiles serve`` with 2 workers: writes, filters, metrics, logs, a busy port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from test_observe import sample

pytestmark = pytest.mark.slow

TOKEN = "server-test-token"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, path: str, body: bytes | None = None, method: str | None = None,
         headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def ask(base: str, question: str, **extra) -> tuple[int, dict]:
    status, _, data = call(base, "/api/ask", json.dumps({"question": question, **extra}).encode(),
                           headers={"Content-Type": "application/json"})
    return status, json.loads(data)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``askfiles serve`` on a temporary corpus, 2 workers, writes on, metrics in a known folder."""
    corpus = tmp_path_factory.mktemp("served")
    (corpus / "a.txt").write_text(
        "Harbour notes\n\nThe lighthouse at Port Ellen was built in 1832 by Robert Stevenson.\n")
    (corpus / "b.md").write_text("# Mill\n\nThe old mill closed in 1911 after a fire.\n")
    (corpus / "data.bin").write_bytes(b"\x00\x01binary")
    metrics = tmp_path_factory.mktemp("metrics")
    log = tmp_path_factory.mktemp("log") / "server.log"
    port = free_port()
    # No polling: the workers learn of a write from the write marker alone.
    env = dict(os.environ, ASKFILES_POLL_SECONDS="0", ASKFILES_API_TOKEN=TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(metrics),
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "askfiles.cli", "serve", "--corpus",
                                 str(corpus), "--port", str(port), "--workers", "2"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if call(base, "/healthz")[0] == 200:
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.25)
        else:
            pytest.fail("askfiles serve did not answer /healthz:\n" + log.read_text())
        yield {"base": base, "corpus": corpus, "metrics": metrics, "log": log, "proc": proc}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def worker_pids(master: int) -> set[int]:
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.add(int(stat.parent.name))
    return pids


def per_worker(folder: Path, route: str, method: str, status: str) -> dict[int, float]:
    """Each process's count of requests on a route, from its own metrics file."""
    from prometheus_client.mmap_dict import MmapedDict

    out = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _name, sample_name, labels = json.loads(key)[:3]
            if (sample_name == "askfiles_http_requests_total"
                    and labels == dict(route=route, method=method, status=status)):
                out[pid] = out.get(pid, 0) + value
    return out


def test_a_document_put_through_one_worker_is_answerable_through_the_other(server):
    base, folder = server["base"], server["metrics"]
    for _ in range(100):   # /healthz answers once the first worker is up
        workers = worker_pids(server["proc"].pid)
        if len(workers) == 2:
            break
        time.sleep(0.1)
    assert len(workers) == 2
    body = b"# Quay\n\nThe quay at Bowmore was paved in 1871 by the harbour trust.\n"
    status, _, data = call(base, "/api/documents/news/quay.md", body, "PUT",
                           {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/markdown"})
    assert status == 201, data
    put_by = per_worker(folder, "/api/documents/<path:doc_id>", "PUT", "201")
    assert len(put_by) == 1
    writer = next(iter(put_by))
    assert writer in workers
    # Ask within the new document until both workers have answered from it. Every
    # ask succeeds: a worker that had not seen the document would say 422 (no
    # document matches), but each catches up before answering.
    question = "When was the quay paved?"
    answered = 0
    deadline = time.time() + 60
    with ThreadPoolExecutor(8) as pool:
        while time.time() < deadline:
            results = list(pool.map(lambda _: ask(base, question, top_k=1,
                                                  documents=["news/*.md"]), range(16)))
            for status, out in results:
                assert status == 200, out
                answered += 1
                assert out["answers"][0]["answer"] == "1871"
                assert out["answers"][0]["citation"]["document"] == "news/quay.md"
            by = per_worker(folder, "/api/ask", "POST", "200")
            if len([p for p in by if p in workers]) == 2:
                break
        else:
            pytest.fail(f"only {by} answered from the new document")
    others = [p for p in by if p != writer]
    assert others, "the worker that did not take the PUT answers from the new document"
    # /metrics adds both workers' counts up.
    text = call(base, "/metrics")[2].decode()
    assert sample(text, "askfiles_http_requests_total", route="/api/ask", method="POST",
                  status="200") == answered == sum(by.values())
    assert sample(text, "askfiles_documents") == 3
    assert sample(text, "askfiles_skipped_files") == 1
    assert sample(text, "askfiles_index_reloads_total") >= 2   # each worker swapped once
    assert sum(per_worker(folder, "/api/ask", "POST", "422").values()) == 0


def test_filters_and_request_ids_on_the_real_server(server):
    base = server["base"]
    status, out = ask(server["base"], "When did the mill close?", documents=["a.txt"])
    assert status == 200 and {a["citation"]["document"] for a in out["answers"]} <= {"a.txt"}
    status, out = ask(base, "When did the mill close?", documents=["nope/*"])
    assert status == 422 and out["error"]["code"] == "no_matching_documents"
    status, headers, _ = call(base, "/healthz", headers={"X-Request-Id": "trace-42"})
    assert headers["X-Request-Id"] == "trace-42"
    time.sleep(0.5)
    assert '"GET /healthz" 200' in server["log"].read_text()
    assert "rid=trace-42" in server["log"].read_text()


def test_logs_skip_once_and_one_reload_line_per_worker(server):
    base = server["base"]
    status, *_ = call(base, "/api/documents/c.txt", b"Pier\n\nThe pier opened in 1902.\n",
                      "PUT", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 201
    for _ in range(20):   # requests reach both workers, which catch up and reload
        call(base, "/healthz")
    time.sleep(0.5)
    log = server["log"].read_text()
    assert log.count("WARNING askfiles.store: skipped data.bin") == 1, log
    assert "added 1 (c.txt)" in log
    assert log.count("PUT c.txt by 127.0.0.1: created") == 1


def test_serve_on_a_busy_port_fails_at_once(tmp_path):
    (tmp_path / "a.txt").write_text("Note\n\nThe mill closed in 1911.\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        t0 = time.perf_counter()
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        done = subprocess.run([sys.executable, "-m", "askfiles.cli", "serve", "--corpus",
                               str(tmp_path), "--port", str(port)],
                              env=env, capture_output=True, text=True, timeout=60)
        took = time.perf_counter() - t0
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "serving on" not in done.stderr
    assert took < 5
