"""Full ``Engine.ask`` at 10k .. 1M passages, with a CHEAP ANNOTATION MODE (not spaCy).

spaCy annotates about 50 passages a second per core: a million passages would
take hours. So this benchmark replaces the passage annotations by a cheap,
rule-based stand-in (:class:`CheapAnnotations`: regex tokens, sentences from
``askfiles.split.sentences``, capitalised runs as entities, years as dates,
every token its own head). It exercises the whole answer pipeline (question
analysis with spaCy, sparse BM25 retrieval, rerank, sentence match, span
scoring, citations) with the same amount of work per passage, but its answers
mean nothing: use it for time and memory only, never for quality.

What is measured, per corpus size, in a fresh process:

1. ``prepare`` (once, not timed as start-up): the corpus of ``make_corpus.py``
   is saved as one UTF-8 text file of all documents plus NumPy arrays of
   document (byte) and passage (character) offsets, and the sparse BM25 index is built and saved
   (``SparseBM25.save``).
2. start-up from the saved files: documents read, passages as a compact table
   (``PassageTable``: one Passage made on access), cheap annotations made on
   access, ``SparseBM25.load``, ``Engine(corpus, index=...)``, one warm-up ask
   (loads spaCy for the question). Wall time and resident memory (RSS).
3. ``Engine.ask`` over SQuAD dev questions: p50 / p99, and the retrieval step
   alone (``engine.index.search``) for the same questions.

The lazy passage and annotation tables stand in for the compact saved corpus
of ``askfiles.store``; ``benchmarks/store_scale.py`` measures the real one
(``askfiles.store`` + ``Engine.from_folder``, same cheap annotation mode). ``--eager`` instead holds every Passage and
cheap Annotation as Python objects, as ``Engine`` does with ``build_corpus``,
to show what that costs per passage (run it at 10k/100k, not 1M).

    .venv/bin/python benchmarks/ask_scale.py --sizes 10000 100000 1000000
    .venv/bin/python benchmarks/ask_scale.py --sizes 10000 100000 --eager
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
from benchlib import time_asks  # noqa: E402
from retrieval_speed import pct, peak_rss_mb, questions, rss_mb  # noqa: E402

from askfiles.index import STOPWORDS  # noqa: E402
from askfiles.records import Annotation, Document, Passage  # noqa: E402
from askfiles.split import sentences  # noqa: E402

OUT = make_corpus.OUT

# -- the cheap annotation mode (benchmark only, NOT spaCy) -----------------------

_TOKEN = re.compile(r"\w+(?:[-.']\w+)*|\S")
_YEAR = re.compile(r"1[0-9]{3}|20[0-9]{2}")
_FUNCTION = {"the": "DET", "a": "DET", "an": "DET", "and": "CCONJ", "or": "CCONJ",
             "but": "CCONJ", "of": "ADP", "in": "ADP", "on": "ADP", "at": "ADP",
             "by": "ADP", "for": "ADP", "with": "ADP", "from": "ADP", "to": "ADP",
             "is": "AUX", "was": "AUX", "were": "AUX", "are": "AUX", "be": "AUX"}


def cheap_annotation(text: str) -> Annotation:
    """A rule-based stand-in for spaCy's analysis of a passage (benchmarks only)."""
    toks = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    starts = tuple(s for s, _ in toks)
    ends = tuple(e for _, e in toks)
    words = [text[s:e] for s, e in toks]
    pos = []
    for i, w in enumerate(words):
        lw = w.lower()
        if not w[0].isalnum():
            pos.append("PUNCT")
        elif w[0].isdigit():
            pos.append("NUM")
        elif lw in _FUNCTION:
            pos.append(_FUNCTION[lw])
        elif lw in STOPWORDS:
            pos.append("PRON")
        elif w[0].isupper():
            pos.append("PROPN")
        elif lw.endswith("ed") or lw.endswith("ing"):
            pos.append("VERB")
        else:
            pos.append("NOUN")
    # sentences: the splitter's character ranges as token ranges
    sents, t = [], 0
    for a, b in sentences(text, 0, len(text)):
        first = t
        while t < len(toks) and toks[t][0] < b:
            t += 1
        if t > first:
            sents.append((first, t))
    if t < len(toks):
        sents.append((t, len(toks)))
    # entities: years as DATE, other numbers as CARDINAL, capitalised runs as ORG
    ents, chunks, i = [], [], 0
    while i < len(words):
        if pos[i] == "NUM":
            ents.append((i, i + 1, "DATE" if _YEAR.fullmatch(words[i]) else "CARDINAL"))
            i += 1
        elif pos[i] == "PROPN":
            j = i
            while j < len(words) and pos[j] == "PROPN":
                j += 1
            ents.append((i, j, "ORG"))
            chunks.append((i, j))
            i = j
        elif pos[i] in ("NOUN", "VERB"):
            j = i
            while j < len(words) and pos[j] == "NOUN":
                j += 1
            if j > i:
                chunks.append((i, j))
            i = max(j, i + 1)
        else:
            i += 1
    n = len(words)
    return Annotation(starts=starts, ends=ends, lemmas=tuple(w.lower() for w in words),
                      pos=tuple(pos), deps=("dep",) * n, heads=tuple(range(n)),
                      sents=tuple(sents), ents=tuple(ents), chunks=tuple(chunks))


class CheapAnnotations(Sequence):
    """Cheap annotations made on access from the passage text (and cached)."""

    def __init__(self, passages: Sequence[Passage]):
        self.passages = passages
        self._get = lru_cache(maxsize=4096)(lambda i: cheap_annotation(passages[i].text))

    def __len__(self) -> int:
        return len(self.passages)

    def __getitem__(self, i):
        return self._get(int(i))


class PassageTable(Sequence):
    """Passages as NumPy columns (document, number, start, end); a Passage made on access."""

    def __init__(self, documents: Sequence[Document], cols: np.ndarray):
        self.documents = documents
        self.cols = cols  # int64 [n, 4]: document index, passage number, start, end

    def __len__(self) -> int:
        return len(self.cols)

    def __getitem__(self, i):
        d, n, s, e = self.cols[int(i)].tolist()
        doc = self.documents[d]
        return Passage(doc.id, n, s, e, doc.text[s:e])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


# -- prepare, start, ask -----------------------------------------------------------

def saved_dir(n: int) -> Path:
    return OUT / f"ask-saved-{n}"


def prepare(n: int) -> dict:
    """Save the corpus of ``n`` passages as text + offsets, and its sparse index."""
    d = saved_dir(n)
    if (d / "done").exists():
        if not (d / "doc_byte_offsets.npy").exists():  # saved by an earlier version
            _byte_offsets(d)
        return json.loads((d / "done").read_text())
    from retrieval_speed import passage_terms, tokenize

    from askfiles.sparse import SparseBM25

    make_corpus.make(n)
    d.mkdir(parents=True, exist_ok=True)
    meta, doc_off, cols, parts, pos = [], [0], [], [], 0
    count = 0
    path = make_corpus.corpus_path(n)
    with path.open(encoding="utf-8") as f:
        for line in f:
            if count == n:
                break
            doc = json.loads(line)
            ps = doc["passages"][:n - count]
            text, start = "", 0
            for k, p in enumerate(ps):
                if k:
                    text += "\n\n"
                start = len(text)
                text += p
                cols.append((len(meta), k, start, start + len(p)))
            count += len(ps)
            meta.append([doc["id"], doc["title"]])
            parts.append(text)
            pos += len(text)
            doc_off.append(pos)
    (d / "texts.txt").write_text("".join(parts), encoding="utf-8")
    (d / "documents.json").write_text(json.dumps(meta, ensure_ascii=False))
    np.save(d / "doc_offsets.npy", np.asarray(doc_off, dtype=np.int64), allow_pickle=False)
    np.save(d / "passages.npy", np.asarray(cols, dtype=np.int64), allow_pickle=False)
    _byte_offsets(d)
    t0 = time.perf_counter()
    have = [int(p.name.split("-")[1]) for p in OUT.glob("tokens-*") if (p / "vocab.json").exists()]
    if not any(s >= n for s in have):
        tokenize(n)
    SparseBM25.build(passage_terms(n)).save(d / "bm25")
    info = {"passages": n, "documents": len(meta), "index_build_s": time.perf_counter() - t0,
            "disk_mb": sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) / 1e6}
    (d / "done").write_text(json.dumps(info))
    return info


def _byte_offsets(d: Path) -> None:
    """Document offsets in bytes of texts.txt, from the character offsets."""
    text = (d / "texts.txt").read_text(encoding="utf-8")
    off = np.load(d / "doc_offsets.npy").tolist()
    pos, out = 0, [0]
    for a, z in zip(off[:-1], off[1:]):
        pos += len(text[a:z].encode("utf-8"))
        out.append(pos)
    np.save(d / "doc_byte_offsets.npy", np.asarray(out, dtype=np.int64), allow_pickle=False)


def start(n: int, eager: bool = False):
    """Engine over the saved corpus of ``n`` passages; returns it and the start-up numbers."""
    from askfiles.engine import Corpus, Engine
    from askfiles.index import PassageIndex
    from askfiles.sparse import SparseBM25

    d = saved_dir(n)
    base = rss_mb()
    t0 = time.perf_counter()
    # each document decoded on its own: an ASCII one stays 1 byte a character
    raw = (d / "texts.txt").read_bytes()
    off = np.load(d / "doc_byte_offsets.npy").tolist()
    meta = json.loads((d / "documents.json").read_text(encoding="utf-8"))
    docs = tuple(Document(i, title, raw[a:z].decode("utf-8"))
                 for (i, title), a, z in zip(meta, off[:-1], off[1:]))
    del raw
    passages = PassageTable(docs, np.load(d / "passages.npy"))
    anns = CheapAnnotations(passages)
    if eager:
        passages = tuple(passages)
        anns = tuple(cheap_annotation(p.text) for p in passages)
    t_docs = time.perf_counter() - t0
    index = PassageIndex.from_sparse(SparseBM25.load(d / "bm25"))
    t_index = time.perf_counter() - t0 - t_docs
    engine = Engine(Corpus(docs, passages, anns), {"poll_seconds": 0}, index=index)
    engine.ask("When was the first benchmark run?")  # loads spaCy for questions
    gc.collect()
    return engine, {"startup_s": time.perf_counter() - t0, "docs_s": t_docs,
                    "index_load_s": t_index, "startup_rss_mb": rss_mb(),
                    "data_mb": rss_mb() - base}


def worker(n: int, n_queries: int, eager: bool) -> dict:
    engine, out = start(n, eager)
    qs = questions_text(n_queries + 50)
    for q in qs[n_queries:]:  # warm-up on other questions: spaCy, stem cache
        engine.ask(q)
    qs = qs[:n_queries]
    ask, cpu, analyse, retr = time_asks(engine, qs)
    out.update(passages=n, queries=len(qs), mode="eager" if eager else "lazy",
               ask_p50_ms=pct(ask, 50), ask_p99_ms=pct(ask, 99), ask_cpu_p50_ms=pct(cpu, 50),
               load_avg=os.getloadavg()[0],
               retrieval_p50_ms=pct(retr, 50), retrieval_p99_ms=pct(retr, 99),
               analyse_p50_ms=pct(analyse, 50), rss_mb=rss_mb(), peak_rss_mb=peak_rss_mb())
    return out


def questions_text(n: int, seed: int = 7) -> list[str]:
    import random

    data = json.loads(make_corpus.SQUAD.read_text(encoding="utf-8"))["data"]
    qs = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    random.Random(seed).shuffle(qs)
    return qs[:n]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--eager", action="store_true",
                    help="hold every Passage and Annotation as Python objects")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.queries, args.eager)))
        return
    rows = []
    for n in sorted(args.sizes):
        info = prepare(n)
        cmd = [sys.executable, __file__, "--worker", str(n), "--queries", str(args.queries)]
        proc = subprocess.run(cmd + (["--eager"] if args.eager else []),
                              capture_output=True, text=True)
        if proc.returncode:
            print(f"{n}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["saved_disk_mb"] = info["disk_mb"]
        rows.append(r)
        print(f"  {n:>9,}: ask p50 {r['ask_p50_ms']:.2f} ms, start-up {r['startup_s']:.1f} s, "
              f"RSS {r['startup_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    print("CHEAP ANNOTATION MODE (rule-based stand-in for spaCy; timing only, answers "
          "meaningless)\n")
    print("| passages | mode | questions | ask p50 ms | ask p99 ms | ask CPU p50 ms | retrieval p50 ms "
          "| retrieval p99 ms | question analysis p50 ms | start-up s | (index load s) "
          "| RSS after start MB | peak RSS MB | saved MB | load avg |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['passages']:,} | {r['mode']} | {r['queries']} | {r['ask_p50_ms']:.2f} "
              f"| {r['ask_p99_ms']:.2f} | {r['ask_cpu_p50_ms']:.2f} | {r['retrieval_p50_ms']:.3f} "
              f"| {r['retrieval_p99_ms']:.3f} | {r['analyse_p50_ms']:.2f} "
              f"| {r['startup_s']:.2f} | {r['index_load_s']:.2f} | {r['startup_rss_mb']:.0f} "
              f"| {r['peak_rss_mb']:.0f} | {r['saved_disk_mb']:.0f} | {r['load_avg']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
