"""Answer quality on SQuAD v1.1 dev through ``Engine.ask``: EM, F1, snippet hits per question type.

    .venv/bin/python benchmarks/squad.py                    # per-article, articles 25-48 (held out)
    .venv/bin/python benchmarks/squad.py --threshold 0      # always answering
    .venv/bin/python benchmarks/squad.py --setting open     # all 2,067 paragraphs as one corpus
    .venv/bin/python benchmarks/squad.py --split pool       # articles 1-24 (learned from: not a result)

Per-article: each question is asked against a corpus of its own article's
paragraphs. Open: every question against all paragraphs of the file. The
baseline is plain BM25 passage retrieval (the same index): does the top
passage hold a gold answer string? The cross-validated pool numbers (NewsQA,
SQuAD 2.0) come from ``make model`` (``python -m askfiles.learn.train``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from askfiles.evaluate import Tally, normalize_answer, question_type, table  # noqa: E402
from askfiles.learn import pool  # noqa: E402
from askfiles.learn.cache import AnnotationCache, build_engine, prefetch  # noqa: E402


def run(engine, qs, tallies, baseline, latencies, limit=None):
    for rec in qs[:limit]:
        t0 = time.perf_counter()
        result = engine.ask(rec["question"], 1)
        latencies.append((time.perf_counter() - t0) * 1000)
        top = result.answers[0] if result.answers else None
        for key in ("all", question_type(rec)):
            tallies[key].add(rec["answers"], result.no_answer,
                             top.answer if top else "", top.snippet if top else "")
        # Plain BM25: the top passage by BM25 alone, does it hold a gold string?
        q = engine.analyse(rec["question"])
        hits = engine.index.search(q.terms, 1)
        text = engine.passages[hits[0][0]].text if hits else ""
        hit = any(normalize_answer(g) in normalize_answer(text) for g in rec["answers"])
        for key in ("all", question_type(rec)):
            baseline[key][0] += int(hit)
            baseline[key][1] += 1 if rec["answers"] else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("eval", "pool", "all"), default="eval")
    ap.add_argument("--setting", choices=("per-article", "open"), default="per-article")
    ap.add_argument("--limit", type=int, help="questions per article (quick runs)")
    ap.add_argument("--threshold", type=float, help="no-answer threshold override")
    args = ap.parse_args()

    chosen = pool.squad1(args.split)
    cache = AnnotationCache()
    config = {"no_answer_threshold": args.threshold} if args.threshold is not None else None
    everything = pool.squad1("all")
    prefetch([d for a in (everything if args.setting == "open" else chosen)
              for d in a.documents], cache)
    tallies: dict[str, Tally] = defaultdict(Tally)
    baseline: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    latencies: list[float] = []
    t0 = time.time()
    if args.setting == "open":
        engine = build_engine([d for a in everything for d in a.documents], cache, config)
        run(engine, [q for a in chosen for q in a.questions], tallies, baseline, latencies,
            args.limit)
    else:
        for art in chosen:
            engine = build_engine(art.documents, cache, config)
            run(engine, art.questions, tallies, baseline, latencies, args.limit)
    latencies.sort()
    print(f"# SQuAD v1.1 dev, {args.setting}, {args.split} articles: "
          f"{len(chosen)} articles, {tallies['all'].n} questions, "
          f"{time.time() - t0:.0f}s, ask p50 {latencies[len(latencies) // 2]:.1f} ms")
    lines = table(tallies).splitlines()
    lines[0] += "  BM25 top passage"
    for i, line in enumerate(lines[1:], 1):
        key = line.split()[0]
        hit, n = baseline[key]
        lines[i] += f"  {hit / n:.3f}" if n else "  -"
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
