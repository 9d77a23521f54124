"""The machine's ceiling for any N-process annotation: N plain spaCy processes at once vs one.

Each child loads the pipeline, warms it up, waits until every child is ready,
then annotates the same ``--passages`` texts (``nlp.pipe_flattened``, nothing
else: no Dask, no index). The aggregate rate of N children at once over the
rate of one alone is the best speed-up ``--cluster local:N`` could reach here:
below N when the cores share a physical core, caches or memory bandwidth.

    ASKFILES_BENCH_OUT=/tmp/x .venv/bin/python benchmarks/parallel_ceiling.py --passages 600
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402


def child(n: int) -> None:
    from askfiles import nlp

    texts = list(make_corpus.read_passages(n))
    pipeline = nlp.get_nlp("")
    list(nlp.pipe_flattened(pipeline, texts[:32], 32))          # warm up
    print("ready", flush=True)
    sys.stdin.readline()                                          # go
    c, t = time.process_time(), time.perf_counter()
    for _ in nlp.pipe_flattened(pipeline, texts, 128):
        pass
    print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                      "n": n}), flush=True)


def together(k: int, n: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, __file__, "--child", str(n)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(k)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    out = [json.loads(p.stdout.readline()) for p in procs]
    for p in procs:
        p.wait()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=600)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child)
    make_corpus.make(max(args.passages, 1000))
    print("| processes at once | wall s (slowest) | CPU s each | passages/s in all "
          "| vs one | load avg before (1/5/15) |")
    print("|---|---|---|---|---|---|")
    base = None
    for k in (1, args.processes, 1):
        load = os.getloadavg()
        rows = together(k, args.passages)
        wall = max(r["wall"] for r in rows)
        rate = k * args.passages / wall
        base = base or rate
        print(f"| {k} | {wall:.1f} | {', '.join(format(r['cpu'], '.1f') for r in rows)} "
              f"| {rate:.1f} | {rate / base:.2f}x | {'/'.join(format(x, '.2f') for x in load)} |",
              flush=True)


if __name__ == "__main__":
    main()
