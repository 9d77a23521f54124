"""Retrieval speed: rank-bm25 against the sparse-matrix BM25, 1k to 1M passages.

For each corpus size and each retrieval path, in a fresh process (so memory is
measured alone): build the index from the passages' terms, then time
``search(question_terms, 8)`` (8 = the engine's ``retrieve_depth``) for real
SQuAD v1.1 dev questions tokenized with ``askfiles.index.terms``. The sparse
index is also saved, and loaded again in another fresh process (start-up).

Paths:
- ``rank-bm25``: ``PassageIndex`` below the threshold (rank-bm25 BM25Okapi with
  Lucene's idf), what askfiles uses for small corpora;
- ``sparse``: ``PassageIndex`` above the threshold (``askfiles.sparse``);
- ``bm25s``: bm25s 0.3 (``method="lucene"``, NumPy backend), for reference
  only, where it is installed. Its "lucene" scores are ours / (k1 + 1) in
  float32, so its ranking matches up to near-ties.

rank-bm25 scores every passage for every query term (~1 s a query at 1M), so
it runs fewer queries on large corpora (``--slow-queries``, default 200 at
100k, 20 at 1M); the table says how many. The corpora come from
``make_corpus.py`` (built if missing) and are tokenized once into
``/tmp/askfiles-bench/tokens-N`` (NumPy + JSON).

    .venv/bin/python benchmarks/retrieval_speed.py                 # 1k..1M, all paths
    .venv/bin/python benchmarks/retrieval_speed.py --sizes 1000 10000

Prints a Markdown table, writes ``benchmarks/retrieval_speed.json`` and the
log-log plot ``benchmarks/retrieval_latency.png`` (needs matplotlib: the
``bench`` extra).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
from askfiles.index import PassageIndex, terms  # noqa: E402

OUT = make_corpus.OUT
SIZES = (1_000, 10_000, 100_000, 1_000_000)
PATHS = ("rank-bm25", "sparse", "bm25s")
DEPTH = 8
SEED = 7


# -- measuring -----------------------------------------------------------------

def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def questions(n: int, seed: int = SEED) -> list[list[str]]:
    """``n`` SQuAD dev questions (a fixed shuffle), as index terms; empty ones left out."""
    data = json.loads(make_corpus.SQUAD.read_text(encoding="utf-8"))["data"]
    qs = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    random.Random(seed).shuffle(qs)
    out = [t for t in (terms(q) for q in qs) if t]
    return out[:n]


# -- the token cache -----------------------------------------------------------

def token_dir(n: int) -> Path:
    return OUT / f"tokens-{n}"


def tokenize(n: int) -> dict:
    """Tokenize the corpus of ``n`` passages once into ``tokens-n`` (ids, lengths, vocab)."""
    d = token_dir(n)
    if (d / "vocab.json").exists():
        return json.loads((d / "stats.json").read_text())
    make_corpus.make(n)
    t0 = time.perf_counter()
    vocab: dict[str, int] = {}
    new = vocab.setdefault
    ids, lengths = [], []
    from array import array
    flat = array("i")
    for p in make_corpus.read_passages(n):
        toks = terms(p)
        lengths.append(len(toks))
        flat.extend([new(t, len(vocab)) for t in toks])
    secs = time.perf_counter() - t0
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "ids.npy", np.frombuffer(flat, dtype=np.int32), allow_pickle=False)
    np.save(d / "doc_len.npy", np.asarray(lengths, dtype=np.int64), allow_pickle=False)
    stats = {"passages": n, "terms": len(vocab), "tokens": len(flat), "seconds": secs,
             "passages_per_s": n / secs}
    (d / "stats.json").write_text(json.dumps(stats))
    (d / "vocab.json").write_text(json.dumps(list(vocab), ensure_ascii=False))
    del ids
    return stats


def passage_terms(n: int) -> list[list[str]]:
    """The terms of the first ``n`` passages, from the smallest token cache holding them."""
    have = sorted(int(p.name.split("-")[1]) for p in OUT.glob("tokens-*")
                  if (p / "vocab.json").exists())
    size = next(s for s in have if s >= n)
    d = token_dir(size)
    vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
    doc_len = np.load(d / "doc_len.npy")[:n]
    ids = np.load(d / "ids.npy", mmap_mode="r")[:int(doc_len.sum())]
    words = np.asarray(vocab, dtype=object)[ids]  # shares the vocab's str objects
    bounds = np.concatenate(([0], np.cumsum(doc_len))).tolist()
    return [words[a:z].tolist() for a, z in zip(bounds[:-1], bounds[1:])]


# -- one path at one size, in its own process -----------------------------------

class Bm25sPath:
    """bm25s (method "lucene", NumPy backend) behind the PassageIndex interface."""

    def __init__(self, docs: list[list[str]]):
        import bm25s

        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in d] for d in docs]
        self.vocab = vocab
        self.model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        self.model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab),
                         show_progress=False)

    def search(self, query, k):
        q = [t for t in query if t in self.vocab]
        if not q:
            return []
        s = self.model.get_scores(q)
        top = np.argpartition(-s, min(k, len(s) - 1))[:k]
        top = top[np.lexsort((top, -s[top]))]
        return [(int(i), float(s[i]) * 2.2) for i in top if s[i] > 0]


def worker(path: str, n: int, n_queries: int, index_dir: Path) -> dict:
    base = rss_mb()
    docs = passage_terms(n)
    qs = questions(n_queries)
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    if path == "rank-bm25":
        index = PassageIndex(docs)
    elif path == "sparse":
        index = PassageIndex(docs, threshold=0)
    else:
        index = Bm25sPath(docs)
    build = time.perf_counter() - t0
    del docs
    gc.collect()
    index_mb = rss_mb() - before
    for q in qs[:3]:  # warm caches; the sparse index warmed itself when built
        index.search(q, DEPTH)
    times, cpu, hits = [], [], []
    for q in qs:
        c, t = time.thread_time_ns(), time.perf_counter_ns()
        h = index.search(q, DEPTH)
        times.append((time.perf_counter_ns() - t) / 1e6)
        cpu.append((time.thread_time_ns() - c) / 1e6)
        hits.append(h)
    out = {"path": path, "passages": n, "queries": len(qs), "build_s": build,
           "p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "mean_ms": float(np.mean(times)),
           "cpu_p50_ms": pct(cpu, 50), "load_avg": os.getloadavg()[0],
           "index_mb": index_mb, "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb(),
           "base_rss_mb": base, "hits": hits}
    if path == "sparse":
        shutil.rmtree(index_dir, ignore_errors=True)
        t0 = time.perf_counter()
        index.sparse.save(index_dir)
        out["save_s"] = time.perf_counter() - t0
        out["disk_mb"] = sum(f.stat().st_size for f in index_dir.iterdir()) / 1e6
        loaded = json.loads(subprocess.run(
            [sys.executable, __file__, "--load-worker", str(index_dir), "--queries",
             str(min(n_queries, 200))], check=True, capture_output=True, text=True).stdout)
        out.update(loaded)
    return out


def load_worker(index_dir: Path, n_queries: int) -> dict:
    """Start-up from a saved sparse index in a fresh process, and the first queries."""
    from askfiles.sparse import SparseBM25

    qs = questions(n_queries)
    base = rss_mb()
    t0 = time.perf_counter()
    index = PassageIndex.from_sparse(SparseBM25.load(index_dir))
    load = time.perf_counter() - t0
    t = time.perf_counter_ns()
    index.search(qs[0], DEPTH)
    first = (time.perf_counter_ns() - t) / 1e6
    times = []
    for q in qs:
        t = time.perf_counter_ns()
        index.search(q, DEPTH)
        times.append((time.perf_counter_ns() - t) / 1e6)
    return {"load_s": load, "first_query_ms": first, "loaded_p50_ms": pct(times, 50),
            "loaded_rss_mb": rss_mb(), "loaded_index_mb": rss_mb() - base}


# -- the table and the plot ------------------------------------------------------

def agreement(results: list[dict]) -> dict[int, str]:
    """Per size: do the sparse path's top-8 lists equal rank-bm25's (ids and scores)?"""
    out = {}
    by = {(r["path"], r["passages"]): r for r in results}
    for (path, n), r in by.items():
        ref = by.get(("rank-bm25", n))
        if path != "sparse" or not ref:
            continue
        m = min(len(ref["hits"]), len(r["hits"]))
        same = sum(a == b for a, b in zip(ref["hits"][:m], r["hits"][:m]))
        out[n] = f"{same}/{m} identical"
    return out


def table(results: list[dict], tokens: dict[int, dict]) -> str:
    agree = {r["passages"]: r["agreement"] for r in results if r.get("agreement")}
    rows = ["| passages | path | queries | p50 ms | p99 ms | CPU p50 ms | load avg | build s | index MB | peak RSS MB "
            "| save s | disk MB | load s (fresh process) | RSS after load MB | same top-8 as rank-bm25 |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results, key=lambda r: (r["passages"], PATHS.index(r["path"]))):
        def f(key, fmt):
            return format(r[key], fmt) if key in r else ""
        rows.append(
            f"| {r['passages']:,} | {r['path']} | {r['queries']} | {r['p50_ms']:.3f} "
            f"| {r['p99_ms']:.3f} | {f('cpu_p50_ms', '.3f')} | {f('load_avg', '.1f')} | {r['build_s']:.2f} | {r['index_mb']:.0f} "
            f"| {r['peak_rss_mb']:.0f} | {f('save_s', '.2f')} | {f('disk_mb', '.0f')} "
            f"| {f('load_s', '.2f')} | {f('loaded_rss_mb', '.0f')} | {agree.get(r['passages'], '') if r['path'] == 'sparse' else ''} |")
    lines = ["\n".join(rows), "", "Tokenizing (askfiles.index.terms, once per corpus):", ""]
    lines += [f"- {n:,} passages: {t['tokens']:,} tokens, {t['terms']:,} distinct terms, "
              f"{t['seconds']:.1f} s ({t['passages_per_s']:,.0f} passages/s)"
              for n, t in sorted(tokens.items())]
    return "\n".join(lines)


def plot(results: list[dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for path, style in zip(PATHS, ("o-", "s-", "^--")):
        rs = sorted((r for r in results if r["path"] == path), key=lambda r: r["passages"])
        if not rs:
            continue
        xs = [r["passages"] for r in rs]
        line, = ax.plot(xs, [r["p50_ms"] for r in rs], style, label=f"{path} p50")
        ax.plot(xs, [r["p99_ms"] for r in rs], style[0] + ":", color=line.get_color(),
                alpha=0.6, label=f"{path} p99")
    ax.axhline(5, color="grey", lw=0.8, ls="--")
    ax.text(1.1e3, 5.6, "5 ms target (1M passages)", color="grey", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages")
    ax.set_ylabel("search latency per query, ms (top 8)")
    ax.set_title("askfiles BM25 retrieval latency vs corpus size (SQuAD questions)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--slow-queries", type=int, nargs=2, default=(200, 20),
                    metavar=("AT_100K", "AT_1M"),
                    help="queries for rank-bm25 at >=100k and >=1M passages")
    ap.add_argument("--json", type=Path, default=HERE / "retrieval_speed.json")
    ap.add_argument("--merge", action="store_true",
                    help="keep the rows of --json for paths and sizes not run now")
    ap.add_argument("--png", type=Path, default=HERE / "retrieval_latency.png")
    ap.add_argument("--worker", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--load-worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.load_worker:
        print(json.dumps(load_worker(args.load_worker, args.queries)))
        return
    if args.worker:
        path, n = args.worker[0], int(args.worker[1])
        print(json.dumps(worker(path, n, args.queries, OUT / f"sparse-index-{n}")))
        return

    if "bm25s" in args.paths:
        try:
            import bm25s  # noqa: F401
        except ImportError:
            args.paths.remove("bm25s")
    tokens = {}
    biggest = max(args.sizes)
    tokens[biggest] = tokenize(biggest)
    results = []
    for n in sorted(args.sizes):
        for path in args.paths:
            q = args.queries
            if path != "sparse":
                if n >= 1_000_000:
                    q = min(q, args.slow_queries[1])
                elif n >= 100_000:
                    q = min(q, args.slow_queries[0])
            proc = subprocess.run([sys.executable, __file__, "--worker", path, str(n),
                                   "--queries", str(q)], capture_output=True, text=True)
            if proc.returncode:
                print(f"{path} at {n}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"  {path:9} {n:>9,}: p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms, "
                  f"build {r['build_s']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"({r['queries']} queries)", file=sys.stderr, flush=True)
    agree = agreement(results)  # compares the hits, then they are dropped
    if args.merge and args.json.exists():  # keep earlier rows of paths/sizes not rerun
        done = {(r["path"], r["passages"]) for r in results}
        old = json.loads(args.json.read_text())
        for r in old["results"]:
            if r.get("agreement") and r["passages"] not in agree:
                agree[r["passages"]] = r["agreement"]
        results += [r for r in old["results"] if (r["path"], r["passages"]) not in done]
        for r in results:
            if r["path"] == "sparse" and r["passages"] not in agree and r.get("agreement"):
                agree[r["passages"]] = r["agreement"]
    for r in results:
        if r["path"] == "sparse" and r["passages"] in agree:
            r["agreement"] = agree[r["passages"]]
    summary = table(results, tokens)
    for r in results:
        r.pop("hits", None)
    args.json.write_text(json.dumps({"results": results, "tokens": tokens,
                                     "machine": machine()}, indent=1))
    print(summary)
    try:
        plot(results, args.png)
        print(f"\nplot: {args.png}")
    except ImportError:
        print("\n(no plot: pip install -e '.[bench]' for matplotlib)")


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) / 1e6 for line in open("/proc/meminfo")
                if line.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem, 1),
            "python": sys.version.split()[0], "numpy": np.__version__}


if __name__ == "__main__":
    main()
