"""Soak: ``askfiles serve`` under 64 connections for 60 s of good and bad requests.

    .venv/bin/python benchmarks/soak.py [--corpus corpus] [--clients 64] [--seconds 60]

Starts the production server (gunicorn) as a subprocess on a free 127.0.0.1
port (helpers from ``benchmarks/load.py``), waits for ``/healthz``, then runs
``--clients`` threads on keep-alive connections, each cycling through a mix of
good requests (questions by GET and POST, documents, pages, health) and bad
ones (broken JSON, wrong types, empty and over-long questions, top_k out of
range, traversal ids, unknown routes, wrong methods and content types,
oversize bodies, markup and lone surrogates). Counts every response by
status; a 5xx, a status the contract does not allow for that request, or a
connection dropped without an answer is an error. Reports the resident memory
(RSS) of the server's processes (gunicorn master and workers) after warm-up
and at the end. Exit status 1 on any error. Only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]


def _load_helpers():
    spec = importlib.util.spec_from_file_location("askfiles_bench_load",
                                                  Path(__file__).with_name("load.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bench = _load_helpers()
HOST = bench.HOST
JSON = {"Content-Type": "application/json"}
start_server = bench.start_server  # used by tests/test_faults.py
stop_server = bench.stop_server


def plan(questions: list[str], doc_ids: list[str]) -> list[tuple[str, str, bytes | None,
                                                               dict, set[int]]]:
    """(method, path, body, headers, allowed statuses): good and bad requests, mixed."""
    doc = doc_ids[0] if doc_ids else "nope.txt"
    good = []
    for i, q in enumerate(questions):
        if i % 2:
            good.append(("GET", "/api/ask?" + urlencode({"q": q, "top_k": 1 + i % 5}), None,
                         {}, {200}))
        else:
            good.append(("POST", "/api/ask", json.dumps({"question": q}).encode(), JSON, {200}))
    good += [
        ("GET", "/healthz", None, {}, {200}),
        ("GET", "/api/documents", None, {}, {200}),
        ("GET", "/api/documents/" + quote(doc), None, {}, {200}),
        ("GET", "/api/ask?" + urlencode({"q": questions[0], "documents": doc}), None, {},
         {200}),
        ("POST", "/api/ask/batch", json.dumps({"questions": [{"question": q}
                                                             for q in questions[:3]]}).encode(),
         JSON, {200}),
        ("GET", f"/documents/{quote(doc)}?start=10&end=20", None, {}, {200}),
        ("GET", "/?" + urlencode({"q": questions[0]}), None, {}, {200}),
    ]
    bad = [
        ("POST", "/api/ask", b"{", JSON, {400}),
        ("POST", "/api/ask", b"", JSON, {400}),
        ("POST", "/api/ask", b"[1, 2]", JSON, {400}),
        ("POST", "/api/ask", b'{"question": 5}', JSON, {400}),
        ("POST", "/api/ask", b'{"question": "When?", "top_k": "3"}', JSON, {400}),
        ("POST", "/api/ask", b'{"question": ""}', JSON, {422}),
        ("POST", "/api/ask", json.dumps({"question": "a" * 1001}).encode(), JSON, {422}),
        ("POST", "/api/ask", b'{"question": "When?", "top_k": 0}', JSON, {422}),
        ("POST", "/api/ask", b'{"question": "When?", "documents": ["nope/*"]}', JSON, {422}),
        ("POST", "/api/ask/batch", b'{"questions": [{"question": ""}]}', JSON, {422}),
        ("POST", "/api/ask", b'{"question": "When?", "top_k": 1' + b"0" * 400 + b"}", JSON,
         {422}),
        ("POST", "/api/ask", json.dumps({"question": "x" * 20000}).encode(), JSON, {413}),
        ("POST", "/api/ask", b'{"question": "When?"}', {"Content-Type": "text/plain"}, {415}),
        ("POST", "/api/ask", b'{"question": "When \\ud800 did he die? \\u0000"}', JSON, {200}),
        ("POST", "/api/ask", json.dumps({"question": "<script>alert(1)</script>"}).encode(),
         JSON, {200}),
        ("POST", "/api/ask", b'{"a": ' * 500 + b"1" + b"}" * 500, JSON, {400}),
        ("GET", "/api/ask", None, {}, {400}),
        ("GET", "/api/ask?q=When%3F&top_k=abc", None, {}, {400}),
        ("GET", "/api/ask?q=" + "a" * 1001, None, {}, {422}),
        ("GET", "/api/documents/..%2F..%2Fetc%2Fpasswd", None, {}, {404}),
        ("GET", "/api/documents/%2e%2e/%2e%2e/etc/passwd", None, {}, {404}),
        ("GET", "/documents/..%5C..%5Cwin.ini", None, {}, {404}),
        ("GET", "/api/documents/" + quote(doc) + "%00", None, {}, {404}),
        ("GET", "/api/nope", None, {}, {404}),
        ("DELETE", "/api/ask", None, {}, {405}),
        ("POST", "/healthz", b"{}", JSON, {405}),
        ("GET", "/?" + urlencode({"q": '"><img src=x onerror=alert(1)>', "top_k": "zz"}),
         None, {}, {200}),
    ]
    # Interleave: about one bad request for every good one.
    out = []
    for i in range(max(len(good), len(bad))):
        out.append(good[i % len(good)])
        out.append(bad[i % len(bad)])
    return out


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[int, int] = {}
        self.requests = 0
        self.server_errors = 0
        self.unexpected: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.latencies: list[float] = []

    def add(self, method: str, path: str, status: int, allowed: set[int], latency: float):
        with self.lock:
            self.requests += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(latency)
            if status >= 500:
                self.server_errors += 1
            if status not in allowed:
                key = f"{method} {path[:60]} -> {status}"
                self.unexpected[key] = self.unexpected.get(key, 0) + 1

    def drop(self, exc: BaseException) -> None:
        with self.lock:
            self.requests += 1
            name = type(exc).__name__
            self.dropped[name] = self.dropped.get(name, 0) + 1


def client(port: int, requests: list, offset: int, stop: float, tally: Tally) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    i = offset
    while time.perf_counter() < stop:
        method, path, body, headers, allowed = requests[i % len(requests)]
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            tally.add(method, path, resp.status, allowed, time.perf_counter() - t0)
            if resp.will_close:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
        except (OSError, http.client.HTTPException) as exc:
            tally.drop(exc)
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.close()


def children(pid: int) -> list[int]:
    """``pid`` and its descendants (the gunicorn master and its workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss(root_pid: int) -> dict[int, int]:
    """RSS in KiB of each server process."""
    return {p: rss_kb(p) for p in children(root_pid)}


def run(port: int, requests: list, clients: int, seconds: float) -> dict:
    """``clients`` keep-alive connections for ``seconds``; the tally as a dict."""
    tally = Tally()
    elapsed = bench.run_clients(client, port, requests, clients, seconds, tally)
    lat = sorted(tally.latencies)

    def pct(p: float) -> float:
        return round(bench.percentile_ms(lat, p, 0.0), 1)

    return {"requests": tally.requests, "seconds": round(elapsed, 1),
            "rps": round(tally.requests / elapsed, 1), "p50_ms": pct(0.5),
            "p99_ms": pct(0.99), "statuses": dict(sorted(tally.statuses.items())),
            "server_errors": tally.server_errors, "unexpected": tally.unexpected,
            "dropped": sum(tally.dropped.values()), "dropped_by_kind": tally.dropped}


def soak(corpus: str, clients: int, seconds: float, workers: int = 0,
         questions: Path | None = None) -> dict:
    """Start a server, warm it up, soak it, measure RSS before and after; the results."""
    proc, port, health = start_server(corpus, workers)
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.request("GET", "/api/documents")
        doc_ids = [d["id"] for d in json.loads(conn.getresponse().read())["documents"]]
        conn.close()
        requests = plan(bench.load_questions(questions), doc_ids)
        warm = run(port, requests, min(clients, 8), min(3.0, seconds / 4))  # caches, threads
        rss_start = rss(proc.pid)
        result = run(port, requests, clients, seconds)
        time.sleep(0.5)
        rss_end = rss(proc.pid)
        alive = proc.poll() is None
    finally:
        code = stop_server(proc)
    result.update({
        "clients": clients, "workers": len(rss_start) - 1, "documents": health["documents"],
        "warmup_requests": warm["requests"], "warmup_errors": warm["server_errors"]
        + warm["dropped"] + sum(warm["unexpected"].values()),
        "rss_start_kb": rss_start, "rss_end_kb": rss_end,
        "rss_start_total_mb": round(sum(rss_start.values()) / 1024, 1),
        "rss_end_total_mb": round(sum(rss_end.values()) / 1024, 1),
        "server_alive_at_end": alive, "server_exit": code,
        "errors": result["server_errors"] + result["dropped"]
        + sum(result["unexpected"].values()),
    })
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=0, help="server workers (default: CPUs)")
    ap.add_argument("--questions", type=Path, help="JSONL with a question field per line")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    r = soak(args.corpus, args.clients, args.seconds, args.workers, args.questions)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"soak: {r['clients']} connections x {r['seconds']} s against {r['workers']} "
              f"workers ({os.cpu_count()} CPUs): {r['requests']} requests, "
              f"{r['rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms")
        print(f"statuses: {r['statuses']}")
        print(f"5xx: {r['server_errors']}; dropped connections: {r['dropped']} "
              f"{r['dropped_by_kind'] or ''}; unexpected statuses: {r['unexpected'] or 0}")
        print(f"RSS (server processes): start {r['rss_start_total_mb']} MB "
              f"{r['rss_start_kb']}, end {r['rss_end_total_mb']} MB {r['rss_end_kb']} (KiB)")
    return 1 if r["errors"] or not r["server_alive_at_end"] else 0


if __name__ == "__main__":
    sys.exit(main())
