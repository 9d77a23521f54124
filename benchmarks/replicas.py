"""One builder and two read-only replicas at 10k .. 1M passages: start-up, memory,
one file edited, on loopback.

The corpus and its index are those of ``store_scale.py`` (built in CHEAP
ANNOTATION MODE once, reused; see there). Then, per size:

1. two ``askfiles serve --read-only --workers 1`` replicas start from the saved
   index (time to ``/healthz``, resident memory of master + worker);
2. ``askfiles index --watch`` starts as the builder (its first look finds the
   corpus unchanged: time to "watching");
3. one document is edited (a sentence appended): time until BOTH replicas
   answer a question about the new sentence, the bytes the builder wrote for
   the new version, and the replicas' resident memory after the swap;
4. the edit is undone and the builder publishes again (so the benchmark
   corpus and index are as before), then everything stops.

The builder annotates the edited document with real spaCy. The replicas'
``askfiles_passages_annotated_total`` is checked to stay 0.

    .venv/bin/python benchmarks/replicas.py --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import store_scale  # noqa: E402

FACT = "\n\nThe benchmark beacon at Zorvath Point was lit in 1999.\n"
QUESTION = "When was the benchmark beacon at Zorvath Point lit?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        return None, str(exc)


def answer(base: str) -> str | None:
    status, text = get(base + "/api/ask", {"question": QUESTION, "top_k": 1})
    if status != 200:
        return None
    out = json.loads(text)
    return out["answers"][0]["answer"] if out["answers"] else None


def tree_rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and all its descendants (children of every thread), in MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in
                         Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return total / 1e3


def dir_bytes(paths) -> int:
    return sum(f.stat().st_size for p in paths for f in p.rglob("*") if f.is_file())


def run(n: int, poll: float) -> dict:
    corpus = store_scale.prepare(n)
    index = store_scale.index_dir(n)
    info_path = store_scale.OUT / f"store-index-{n}.build.json"
    if not info_path.exists():
        info_path.write_text(json.dumps(store_scale._child(["--build", str(n)])))
    env = {**os.environ, "ASKFILES_INDEX_DIR": str(index), "ASKFILES_POLL_SECONDS": str(poll),
           "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    logs = store_scale.OUT / "replica-logs"
    logs.mkdir(exist_ok=True)
    procs, out = [], {"size": n}
    doc = sorted(corpus.rglob("*.txt"))[len(list(corpus.rglob("*.txt"))) // 2]
    original = doc.read_bytes()
    try:
        bases, replicas = [], []
        t0 = time.perf_counter()
        for k in range(2):
            port = free_port()
            bases.append(f"http://127.0.0.1:{port}")
            p = subprocess.Popen([sys.executable, "-m", "askfiles.cli", "serve", "--read-only",
                                  "--corpus", str(corpus), "--port", str(port),
                                  "--workers", "1"], env=env,
                                 stdout=open(logs / f"replica{k}-{n}.log", "wb"),
                                 stderr=subprocess.STDOUT)
            procs.append(p)
            replicas.append(p)
        ready = {}
        while len(ready) < 2 and time.perf_counter() - t0 < 600:
            for k, base in enumerate(bases):
                if k not in ready and get(base + "/healthz")[0] == 200:
                    ready[k] = time.perf_counter() - t0
            time.sleep(0.05)
        out["replica_startup_s"] = max(ready.values())
        out["replica_rss_mb"] = [tree_rss_mb(p.pid) for p in replicas]
        t1 = time.perf_counter()
        builder_log = logs / f"builder-{n}.log"
        builder = subprocess.Popen([sys.executable, "-m", "askfiles.cli", "index", "--watch",
                                    "--corpus", str(corpus)], env=env,
                                   stdout=open(builder_log, "wb"), stderr=subprocess.STDOUT)
        procs.append(builder)
        while "watching" not in builder_log.read_text() and time.perf_counter() - t1 < 600:
            time.sleep(0.1)
        out["builder_ready_s"] = time.perf_counter() - t1
        gens = {p.name for p in index.iterdir() if p.name.startswith("gen-")}
        time.sleep(poll * 2)
        t2 = time.perf_counter()
        doc.write_bytes(original + FACT.encode())
        seen = {}
        while len(seen) < 2 and time.perf_counter() - t2 < 120:
            for k, base in enumerate(bases):
                if k not in seen and answer(base) == "1999":
                    seen[k] = time.perf_counter() - t2
            time.sleep(0.05)
        out["edit_answered_by_both_s"] = max(seen.values()) if len(seen) == 2 else None
        out["replicas_apart_s"] = abs(seen.get(0, 0) - seen.get(1, 0))
        new = [p for p in index.iterdir() if p.name.startswith("gen-") and p.name not in gens]
        out["edit_bytes_written_mb"] = dir_bytes(new) / 1e6
        out["replica_rss_after_swap_mb"] = [tree_rss_mb(p.pid) for p in replicas]
        out["replica_annotated"] = []
        for base in bases:
            text = get(base + "/metrics")[1]
            line = next((x for x in text.splitlines()
                         if x.startswith("askfiles_passages_annotated_total")), "x -1")
            out["replica_annotated"].append(float(line.split()[-1]))
        out["load_avg"] = os.getloadavg()[0]
    finally:
        doc.write_bytes(original)
        builder_alive = len(procs) == 3 and procs[2].poll() is None
        if builder_alive:   # let the builder publish the original again
            t3 = time.perf_counter()
            while time.perf_counter() - t3 < 120 and answer(bases[0]) == "1999":
                time.sleep(0.2)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--poll", type=float, default=1.0, help="ASKFILES_POLL_SECONDS")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    rows = [run(n, args.poll) for n in args.sizes]
    print(f"one builder + two read-only replicas on loopback, poll {args.poll:g} s "
          "(index built in CHEAP ANNOTATION MODE; the edit annotated with real spaCy)\n")
    print("| passages | replica start-up s | replica RSS MB (master+worker) | builder ready s "
          "| edit answered by both s | replicas apart s | written for the edit MB "
          "| RSS after swap MB | replicas annotated | load avg |")
    print("|---:|---:|---|---:|---:|---:|---:|---|---|---:|")
    for r in rows:
        print(f"| {r['size']:,} | {r['replica_startup_s']:.2f} "
              f"| {' / '.join(f'{x:.0f}' for x in r['replica_rss_mb'])} "
              f"| {r['builder_ready_s']:.1f} | {r['edit_answered_by_both_s']:.2f} "
              f"| {r['replicas_apart_s']:.2f} | {r['edit_bytes_written_mb']:.1f} "
              f"| {' / '.join(f'{x:.0f}' for x in r['replica_rss_after_swap_mb'])} "
              f"| {' / '.join(f'{x:.0f}' for x in r['replica_annotated'])} "
              f"| {r['load_avg']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
