"""In-process ``Engine.ask`` latency on the seed corpus (issue 2 target: median <= 10 ms).

Builds the engine once over ``corpus/`` (spaCy annotation, or the saved index),
asks every seed question (``../shared/eval/seed_dev_questions.jsonl``) once to
warm up, then ``--repeats`` times more, and prints p50 / p99 / mean of the
wall time of each ``ask`` (and its CPU time: on a busy shared machine the wall
time includes waiting for a core), and of two of its parts, timed inside it:
question analysis (spaCy on the question) and BM25 retrieval.

    .venv/bin/python benchmarks/ask_latency.py --repeats 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from benchlib import time_asks  # noqa: E402

SEED_QUESTIONS = ROOT.parent / "shared" / "eval" / "seed_dev_questions.jsonl"


def stats(ms: list[float]) -> str:
    a = np.asarray(ms)
    return (f"| {len(a)} | {np.percentile(a, 50):.2f} | {np.percentile(a, 99):.2f} "
            f"| {a.mean():.2f} | {a.max():.2f} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--questions", type=Path, default=SEED_QUESTIONS)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--top-k", type=int, default=3)
    args = ap.parse_args(argv)

    from askfiles.engine import Engine
    from askfiles.rerank import AnswerModel

    t0 = time.perf_counter()
    AnswerModel.load()
    model_load = time.perf_counter() - t0

    qs = [json.loads(line)["question"] for line in
          args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    t0 = time.perf_counter()
    engine = Engine.from_folder(args.corpus, {"poll_seconds": 0})
    build = time.perf_counter() - t0
    for q in qs:  # warm-up: spaCy loaded, caches filled
        engine.ask(q, args.top_k)
    ask, cpu, analyse, retrieve = time_asks(engine, qs * args.repeats, args.top_k)
    print(f"corpus {args.corpus.name}/: {len(engine.passages)} passages, "
          f"{engine.index.kind} retrieval; engine ready in {build:.1f} s; "
          f"{len(qs)} questions x {args.repeats}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(f"answer model (LightGBM text files) loads in {model_load * 1000:.0f} ms\n")
    print("| step | calls | p50 ms | p99 ms | mean ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print("| Engine.ask (whole) " + stats(ask))
    print("| Engine.ask, CPU time of the thread " + stats(cpu))
    print("| question analysis (spaCy) " + stats(analyse))
    print("| BM25 retrieval " + stats(retrieve))
    target = float(np.percentile(ask, 50)) <= 10.0
    print(f"\nmedian ask {np.percentile(ask, 50):.2f} ms: target <= 10 ms "
          f"{'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()
