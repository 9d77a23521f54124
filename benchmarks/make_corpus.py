"""Build large passage corpora (1k .. 1M passages) from real SQuAD text, for the speed benchmarks.

Every passage is made of real sentences: the 10,741 sentences of the 2,067
SQuAD v1.1 dev paragraphs (``../shared/eval/dev-v1.1.json``), recombined with a
fixed seed. A document takes one article; each of its ten passages draws 3-7
sentences of that article in a new order, and each sentence is swapped, with
probability 0.1, for a sentence of another article. Passages therefore read
like the article they come from (its names and terms cluster, as in a real
folder), but no two are alike.

What this is not: a corpus with the vocabulary of a million real passages. All
text comes from 2,067 paragraphs (about 18k distinct index terms), so a term's
passage list is far longer than in a natural corpus of the same size: retrieval
here is slower than it would be on real data (a pessimistic benchmark).

Output, one file per size, under ``--out`` (default /tmp/askfiles-bench):
``corpus-N.jsonl``, one document a line: ``{"id", "title", "passages": [...]}``;
a document's text is its passages joined by a blank line. The corpus of N
passages is the first N passages of any larger one made with the same seed.

    .venv/bin/python benchmarks/make_corpus.py --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from askfiles.split import sentences  # noqa: E402

SQUAD = ROOT.parent / "shared" / "eval" / "dev-v1.1.json"
# ASKFILES_BENCH_OUT: another folder, so that two checkouts do not share one.
OUT = Path(os.environ.get("ASKFILES_BENCH_OUT", "/tmp/askfiles-bench"))
SIZES = (1_000, 10_000, 100_000, 1_000_000)
SEED = 20240605
PASSAGES_PER_DOC = 10
SWAP = 0.1


def articles(squad: Path = SQUAD) -> list[tuple[str, list[str]]]:
    """(title, sentences) of every SQuAD article in file order."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    out = []
    for a in data:
        sents = []
        for p in a["paragraphs"]:
            text = p["context"]
            sents += [" ".join(text[s:e].split()) for s, e in sentences(text, 0, len(text))]
        out.append((a["title"].replace("_", " "), [s for s in sents if s]))
    return out


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def documents(n_passages: int, seed: int = SEED, squad: Path = SQUAD):
    """Documents ({"id", "title", "passages"}) holding ``n_passages`` passages in all."""
    arts = articles(squad)
    rng = random.Random(seed)
    weights = [len(s) for _, s in arts]
    made = 0
    n_doc = 0
    while made < n_passages:
        a = rng.choices(range(len(arts)), weights)[0]
        title, pool = arts[a]
        passages = []
        for _ in range(min(PASSAGES_PER_DOC, n_passages - made)):
            picked = rng.sample(pool, min(rng.randint(3, 7), len(pool)))
            for j in range(len(picked)):
                if rng.random() < SWAP:
                    other = arts[rng.randrange(len(arts))][1]
                    picked[j] = other[rng.randrange(len(other))]
            passages.append(" ".join(picked))
        made += len(passages)
        yield {"id": f"{slug(title)}/{n_doc:06d}.txt", "title": f"{title} ({n_doc})",
               "passages": passages}
        n_doc += 1


def corpus_path(n: int, out: Path = OUT) -> Path:
    return out / f"corpus-{n}.jsonl"


def make(n: int, out: Path = OUT, seed: int = SEED, force: bool = False) -> dict:
    """Write the corpus of ``n`` passages (unless there already) and describe it."""
    path = corpus_path(n, out)
    t0 = time.perf_counter()
    if force or not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for doc in documents(n, seed):
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        tmp.replace(path)
    docs = passages = words = chars = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            docs += 1
            passages += len(doc["passages"])
            words += sum(len(p.split()) for p in doc["passages"])
            chars += sum(len(p) for p in doc["passages"])
    return {"passages": passages, "documents": docs, "words": words,
            "words_per_passage": words / max(passages, 1), "mb": path.stat().st_size / 1e6,
            "seconds": time.perf_counter() - t0, "path": str(path)}


def read_passages(n: int, out: Path = OUT):
    """The first ``n`` passages of the smallest corpus file holding at least ``n``."""
    sizes = sorted(int(p.stem.split("-")[1]) for p in out.glob("corpus-*.jsonl"))
    have = [s for s in sizes if s >= n]
    if not have:
        raise FileNotFoundError(f"no corpus of {n} passages under {out}: run make_corpus.py")
    count = 0
    with corpus_path(have[0], out).open(encoding="utf-8") as f:
        for line in f:
            for p in json.loads(line)["passages"]:
                if count == n:
                    return
                yield p
                count += 1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--force", action="store_true", help="rebuild files already there")
    args = ap.parse_args(argv)
    if not SQUAD.exists():
        sys.exit(f"{SQUAD} not found: the corpora are built from SQuAD v1.1 dev")
    print(f"source: {SQUAD.name}, seed {args.seed}, out {args.out}")
    print(f"| passages | documents | words/passage | file MB | seconds |")
    print(f"|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        r = make(n, args.out, args.seed, args.force)
        print(f"| {r['passages']:,} | {r['documents']:,} | {r['words_per_passage']:.1f} "
              f"| {r['mb']:.1f} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
