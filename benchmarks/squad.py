"""Answer quality on SQuAD v1.1 dev: EM, F1, snippet hits per question type, beside plain BM25.

    .venv/bin/python benchmarks/squad.py                    # per-article, last 24 articles
    .venv/bin/python benchmarks/squad.py --split tune       # first 24 (the only ones tuned on)
    .venv/bin/python benchmarks/squad.py --setting open     # all 2,067 paragraphs as one corpus
    .venv/bin/python benchmarks/squad.py --data ../shared/eval/dev-v2.0-5articles.json --split all

Per-article: each question is asked against a corpus of its own article's
paragraphs. Open: every question against all paragraphs of the file. The
baseline is plain BM25 passage retrieval (the same index): does the top
passage hold a gold answer string?
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import squad_data as sd

from askfiles.evaluate import Tally, normalize_answer, question_type, table

TUNE_ARTICLES = 24


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
    ap.add_argument("--data", type=Path, default=sd.SQUAD)
    ap.add_argument("--split", choices=("tune", "test", "all"), default="test")
    ap.add_argument("--setting", choices=("per-article", "open"), default="per-article")
    ap.add_argument("--limit", type=int, help="questions per article (quick runs)")
    ap.add_argument("--weights", type=Path, help="span scorer weights (default: shipped)")
    ap.add_argument("--threshold", type=float, help="no-answer threshold override")
    args = ap.parse_args()

    arts = sd.articles(args.data)
    if args.split == "tune":
        chosen = arts[:TUNE_ARTICLES]
    elif args.split == "test":
        chosen = arts[-TUNE_ARTICLES:] if len(arts) > TUNE_ARTICLES else arts
    else:
        chosen = arts
    cache = sd.AnnotationCache("squad-" + args.data.stem)
    config = {"no_answer_threshold": args.threshold} if args.threshold is not None else None
    sd.prefetch(arts if args.setting == "open" else chosen, cache)
    tallies: dict[str, Tally] = defaultdict(Tally)
    baseline: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    latencies: list[float] = []
    t0 = time.time()
    if args.setting == "open":
        engine = sd.build_engine([d for a in arts for d in sd.documents(a)], cache, config,
                                 args.weights)
        qs = [q for a in chosen for q in sd.questions(a)]
        run(engine, qs, tallies, baseline, latencies, args.limit)
    else:
        for art in chosen:
            engine = sd.build_engine(sd.documents(art), cache, config, args.weights)
            run(engine, sd.questions(art), tallies, baseline, latencies, args.limit)
    latencies.sort()
    print(f"# {args.data.name}, {args.setting}, {args.split} split: "
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
