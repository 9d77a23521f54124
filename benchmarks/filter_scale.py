"""What asking within some documents costs at 100k passages, against an unrestricted ask.

The corpus is ``make_corpus.py``'s (SQuAD paragraphs mixed into documents with
ids ``<article>/<n>.txt``), built in memory: the sparse BM25 index (as served
above ``ASKFILES_SPARSE_THRESHOLD``) over the passages' terms, and the CHEAP
ANNOTATION MODE of ``ask_scale.py`` instead of spaCy (time only, never quality).
For the same SQuAD questions it times ``Engine.ask`` and the BM25 retrieval
alone (``engine.index.search``) for each scope:

- all passages (no filter);
- one document: the one the unrestricted best answer came from (the usual case:
  "ask this document"), and a random one;
- one folder (``<article>/``), and about half the corpus (a glob);

with the patterns resolved through ``askfiles.select`` (cached per engine, as the
server does; the first, uncached resolution is reported on its own). Each scope
runs once untimed right before it is timed, so every scope is timed with its own
passages' (cheap) annotations made and in the engine's caches.

    .venv/bin/python benchmarks/filter_scale.py --passages 100000 --queries 200
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
from ask_scale import CheapAnnotations, questions_text  # noqa: E402
from retrieval_speed import pct  # noqa: E402

from askfiles import select  # noqa: E402
from askfiles.engine import Corpus, Engine  # noqa: E402
from askfiles.index import PassageIndex, terms  # noqa: E402
from askfiles.records import Document  # noqa: E402
from askfiles.sparse import SparseBM25  # noqa: E402
from askfiles.store import PassageTable  # noqa: E402


def build(n: int) -> Engine:
    """An engine over ``n`` passages of the benchmark corpus (sparse BM25, cheap annotations)."""
    docs, rows = [], []
    for k, d in enumerate(make_corpus.documents(n)):
        text, starts = "", []
        for j, p in enumerate(d["passages"]):
            if j:
                text += "\n\n"
            starts.append((len(text), len(text) + len(p)))
            text += p
        docs.append(Document(d["id"], d["title"], text))
        rows += [(k, a, z) for a, z in starts]
    passages = PassageTable.of_rows(tuple(docs), np.asarray(rows, dtype=np.int64))
    index = PassageIndex.from_sparse(SparseBM25.build(terms(passages.text(i))
                                                      for i in range(len(passages))))
    return Engine(Corpus(tuple(docs), passages, CheapAnnotations(passages)),
                  {"poll_seconds": 0}, index=index)


def timed(engine: Engine, questions: list[str], scope) -> dict:
    """Ask each question within its scope (a list of patterns, or None): times in ms."""
    ask, retrieve, searched = [], [], []
    depth = engine.config["retrieve_depth"]
    for q in questions:
        patterns = scope(q) if callable(scope) else scope
        t = time.perf_counter_ns()
        allowed = select.allowed_passages(engine, patterns)
        engine.ask(q, 3, False, allowed)
        ask.append((time.perf_counter_ns() - t) / 1e6)
        parsed = engine.analyse(q)
        t = time.perf_counter_ns()
        allowed = select.allowed_passages(engine, patterns)
        engine.index.search(parsed.terms, depth, allowed)
        retrieve.append((time.perf_counter_ns() - t) / 1e6)
        searched.append(len(engine.passages) if allowed is None else len(allowed))
    return {"passages_searched": int(np.median(searched)),
            "ask_p50_ms": pct(ask, 50), "ask_p99_ms": pct(ask, 99),
            "retrieval_p50_ms": pct(retrieve, 50), "retrieval_p99_ms": pct(retrieve, 99)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    engine = build(args.passages)
    print(f"built {len(engine.documents)} documents, {len(engine.passages)} passages "
          f"({engine.index.kind} BM25, cheap annotations) in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    qs = questions_text(args.queries + 30)
    warm, qs = qs[args.queries:], qs[:args.queries]
    for q in warm:
        engine.ask(q)
    ids = select.selector(engine).ids
    rng = random.Random(5)
    best_doc = {}
    for q in qs:
        r = engine.ask(q, 1)
        best_doc[q] = r.answers[0].citation.document if r.answers else ids[0]
    random_doc = {q: rng.choice(ids) for q in qs}
    folder = ids[len(ids) // 2].split("/")[0] + "/"
    half = "[a-m]*/*"
    t = time.perf_counter_ns()
    select.Selector(engine).resolve([half])
    resolve_ms = (time.perf_counter_ns() - t) / 1e6
    scopes = [
        ("all passages", None),
        ("one document (the best answer's)", lambda q: [best_doc[q]]),
        ("one random document", lambda q: [random_doc[q]]),
        (f"one folder ({folder})", [folder]),
        (f"about half ({half})", [half]),
    ]
    rows = []
    for name, scope in scopes:
        timed(engine, qs, scope)   # warm-up: this scope's passages annotated and cached
        rows.append({"scope": name, **timed(engine, qs, scope)})
    print(f"\n{len(engine.passages)} passages, {len(engine.documents)} documents, "
          f"{len(qs)} questions; a glob over all ids resolved uncached in {resolve_ms:.1f} ms\n")
    print("| scope | passages searched | ask p50 ms | ask p99 ms | retrieval p50 ms "
          "| retrieval p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scope']} | {r['passages_searched']} | {r['ask_p50_ms']:.2f} | "
              f"{r['ask_p99_ms']:.2f} | {r['retrieval_p50_ms']:.3f} | "
              f"{r['retrieval_p99_ms']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps({"passages": len(engine.passages),
                                         "documents": len(engine.documents),
                                         "resolve_uncached_ms": resolve_ms, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
