"""Load test: ``askfiles serve`` on a corpus, N concurrent clients, /api/ask versus /healthz.

    .venv/bin/python benchmarks/load.py [--corpus corpus] [--clients 32] [--seconds 20]

Starts the production server (gunicorn) as a subprocess on a free 127.0.0.1
port, waits for ``/healthz``, then runs two phases of ``--seconds`` each with
``--clients`` threads on keep-alive connections: a mix of ``/api/ask``
questions (GET and POST), then the trivial ``/healthz``. Prints requests/s,
p50 and p99 latency, errors (any status other than 200, or a dropped
connection) and the server's CPU time per request (all its processes, from
``/proc``; Linux only). Only ever talks to 127.0.0.1. The clients share the
machine with the server, so on a small machine they take some of its CPU, and
requests/s moves with whatever else runs there; the CPU per request moves much
less, so compare versions by it too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
SEED_QUESTIONS = ROOT.parent / "shared" / "eval" / "seed_dev_questions.jsonl"
HOST = "127.0.0.1"
# Used when no question file is given or found: generic shapes of question.
FALLBACK_QUESTIONS = [
    "When was it published?", "Who wrote the report?", "Where did it happen?",
    "What is this document about?", "How many people were involved?",
    "Who won the World Cup?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def load_questions(path: Path | None) -> list[str]:
    path = path or (SEED_QUESTIONS if SEED_QUESTIONS.exists() else None)
    if path is None:
        return FALLBACK_QUESTIONS
    out = [json.loads(line)["question"] for line in path.read_text().splitlines()
           if line.strip()]
    return out or FALLBACK_QUESTIONS


def requests_for(target: str, questions: list[str]) -> list[tuple[str, str, bytes | None]]:
    """(method, path, body) to cycle through for a phase."""
    if target == "/healthz":
        return [("GET", "/healthz", None)]
    out = []
    for i, q in enumerate(questions):
        if i % 2:
            out.append(("GET", "/api/ask?" + urlencode({"q": q}), None))
        else:
            out.append(("POST", "/api/ask", json.dumps({"question": q}).encode()))
    return out


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors = 0
        self.statuses: dict[str, int] = {}

    def add(self, latency: float | None, status: str) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if latency is None or status != "200":
                self.errors += 1
            else:
                self.latencies.append(latency)


def client(port: int, plan: list, offset: int, stop: float, tally: Tally) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    i = offset
    while time.perf_counter() < stop:
        method, path, body = plan[i % len(plan)]
        i += 1
        headers = {"Content-Type": "application/json"} if body is not None else {}
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            tally.add(time.perf_counter() - t0, str(resp.status))
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            tally.add(None, type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.close()


def run_clients(client, port: int, plan: list, clients: int, seconds: float, tally
                ) -> float:
    """``clients`` threads running ``client(port, plan, offset, stop, tally)`` until
    ``seconds`` have passed; the elapsed time in s. (Shared with soak.py.)"""
    stop = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(port, plan, k * 7, stop, tally))
               for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def percentile_ms(lat: list[float], p: float, empty: float) -> float:
    """Nearest-rank ``p`` quantile (0 to 1) of sorted latencies in s, in ms;
    ``empty`` when there are none."""
    return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else empty


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` and its children (gunicorn's
    workers) so far, from ``/proc``; None where that cannot be read."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, todo = 0.0, [pid]
    try:
        while todo:
            p = todo.pop()
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    except (OSError, ValueError, IndexError):
        return None
    return total


def phase(port: int, plan: list, clients: int, seconds: float, server: int | None = None
          ) -> dict:
    """One phase; ``server``: the server's pid, to measure its CPU per request."""
    tally = Tally()
    cpu0 = cpu_seconds(server) if server is not None else None
    elapsed = run_clients(client, port, plan, clients, seconds, tally)
    cpu1 = cpu_seconds(server) if server is not None else None
    lat = sorted(tally.latencies)

    def pct(p: float) -> float:
        return percentile_ms(lat, p, float("nan"))

    total = len(lat) + tally.errors
    cpu_ms = (1000 * (cpu1 - cpu0) / total
              if cpu0 is not None and cpu1 is not None and total else float("nan"))
    return {"requests": total, "rps": total / elapsed, "p50_ms": pct(0.50),
            "p99_ms": pct(0.99), "errors": tally.errors, "statuses": tally.statuses,
            "server_cpu_ms": cpu_ms}


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"askfiles serve exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            if resp.status == 200:
                return json.loads(resp.read())
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit("askfiles serve did not answer /healthz in time")


def start_server(corpus: str, workers: int, env: dict | None = None,
                 stderr=subprocess.DEVNULL) -> tuple[subprocess.Popen, int, dict]:
    """``askfiles serve`` on a free loopback port, ready; (process, port, /healthz).
    ``env`` is added to this process's environment."""
    port = free_port()
    cmd = [sys.executable, "-m", "askfiles.cli", "serve", "--corpus", corpus,
           "--host", HOST, "--port", str(port)]
    if workers:   # 0: askfiles' own default, one per CPU (it refuses --workers 0)
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=dict(os.environ, **(env or {})),
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    try:
        health = wait_ready(port, proc)
    except BaseException:
        stop_server(proc)
        raise
    return proc, port, health


def stop_server(proc: subprocess.Popen) -> int:
    """SIGTERM, then SIGKILL after 30 s; the exit status."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=0, help="server workers (default: CPUs)")
    ap.add_argument("--questions", type=Path, help="JSONL with a question field per line")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args(argv)

    env = {"ASKFILES_POLL_SECONDS": os.environ.get("ASKFILES_POLL_SECONDS", "0")}
    # The server's log (one access line per request) goes to a file: a pipe that
    # nobody reads fills up and blocks the server mid-benchmark.
    log = tempfile.NamedTemporaryFile("w+", prefix="askfiles-load-", suffix=".log", delete=False)
    proc, port, health = start_server(args.corpus, args.workers, env, stderr=log)
    try:
        questions = load_questions(args.questions)
        print(f"askfiles serve on {HOST}:{port}: {health['documents']} documents, "
              f"{health['passages']} passages; {args.clients} clients x {args.seconds:g} s; "
              f"{len(questions)} questions; {os.cpu_count()} CPUs", flush=True)
        results = {}
        for target in ("/api/ask", "/healthz"):
            plan = requests_for(target, questions)
            phase(port, plan, 2, 1.0)  # warm up connections and caches
            results[target] = phase(port, plan, args.clients, args.seconds, proc.pid)
    finally:
        stop_server(proc)

    print("\n| endpoint | requests | requests/s | p50 ms | p99 ms | errors "
          "| server CPU ms/request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for target, r in results.items():
        print(f"| {target} | {r['requests']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | "
              f"{r['p99_ms']:.1f} | {r['errors']} | {r['server_cpu_ms']:.2f} |")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if any(r["errors"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
