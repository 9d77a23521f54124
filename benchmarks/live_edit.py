"""An edit seen through a running server, from outside: seconds from a file's write until
every answer comes from the new text.

    .venv/bin/python benchmarks/live_edit.py [--corpus DIR] [--workers 2] [--rounds 3]

Starts ``askfiles serve`` (builder mode, its default poll) on a free loopback
port (``ASKFILES_INDEX_DIR`` and other settings come from the environment, as
for ``load.py``), waits for ``/healthz`` and then ``--settle`` seconds (the
workers' warm-up, the builder lease). Each round appends a sentence naming a
made-up zeppelin to one corpus file (the middle one, as ``store_scale.py``
picks it) and asks where it moored, ``--streak`` times in a row on fresh
connections (any worker may take each), until every answer says "Cardington";
then it puts the file back and waits until every answer comes from the first
index version again. Prints the seconds
per round. The file is restored even when the run fails.

For the 1M cheap-annotation index of ``store_scale.py``::

    ASKFILES_INDEX_DIR=/tmp/askfiles-bench/store-index-1000000 \\
      .venv/bin/python benchmarks/live_edit.py --corpus /tmp/askfiles-bench/store-corpus-1000000
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load import HOST, ROOT, start_server, stop_server  # noqa: E402

QUESTION = "Where did the zeppelin Quixotica moor?"
SENTENCE = "\nThe zeppelin Quixotica moored at Cardington in 1931.\n"


def middle_file(folder: Path) -> Path:
    """The file store_scale.py edits: the middle entry, or the first .txt inside it."""
    entries = sorted(folder.iterdir())
    path = entries[len(entries) // 2]
    return sorted(path.rglob("*.txt"))[0] if path.is_dir() else path


def ask(port: int) -> tuple[bool, str]:
    """Whether this request's best answer names the edit's place, and its index version."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", "/api/ask?" + urlencode({"q": QUESTION, "top_k": 1}))
        body = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    answers = body.get("answers") or []
    return bool(answers) and answers[0]["answer"] == "Cardington", body["index_version"]


def wait_for(port: int, done, streak: int, timeout: float) -> float:
    """Seconds until ``streak`` requests in a row (new connections: any worker may
    answer each) satisfy ``done(named, version)``."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if all(done(*ask(port)) for _ in range(streak)):
            return time.perf_counter() - t0
        time.sleep(0.2)
    raise SystemExit(f"no {streak} answers in a row as expected within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--streak", type=int, default=8,
                    help="answers in a row that must agree (any worker may answer each)")
    ap.add_argument("--settle", type=float, default=10.0,
                    help="seconds to wait after /healthz before the first edit")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args(argv)

    folder = Path(args.corpus)
    path = middle_file(folder)
    original = path.read_bytes()
    log = tempfile.NamedTemporaryFile("w+", prefix="askfiles-edit-", suffix=".log", delete=False)
    proc, port, health = start_server(args.corpus, args.workers, stderr=log)
    rows = []
    try:
        time.sleep(args.settle)
        named, first = ask(port)
        if named:
            raise SystemExit("the corpus already answers the question: pick another corpus")
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            path.write_bytes(original + SENTENCE.encode())
            seen = wait_for(port, lambda named, version: named, args.streak, args.timeout)
            path.write_bytes(original)
            # Back to the first version's id (the same texts): not merely one worker
            # that has not swapped yet.
            gone = wait_for(port, lambda named, version: version == first, args.streak,
                            args.timeout)
            rows.append((seen, gone, time.perf_counter() - t0))
    finally:
        if path.read_bytes() != original:
            path.write_bytes(original)
        stop_server(proc)
    print(f"askfiles serve, {args.workers} workers, on {folder} ({health['documents']} "
          f"documents, {health['passages']} passages); edited {path.relative_to(folder)}; "
          f"server log {log.name}\n")
    print("| round | edit answered s | put back, gone s |")
    print("|---:|---:|---:|")
    for k, (seen, gone, _) in enumerate(rows, 1):
        print(f"| {k} | {seen:.2f} | {gone:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
