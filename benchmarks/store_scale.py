"""Start-up and ``ask`` at 10k .. 1M passages THROUGH ``askfiles.store``, CHEAP ANNOTATION MODE.

Unlike ``ask_scale.py`` (which saves its own text + offset files and stands in
lazy tables), this builds the real saved index with ``askfiles.store`` and
starts the real ``Engine.from_folder``: documents from ``texts.txt``, passages
as a ``PassageTable``, annotations memory-mapped, BM25 loaded as saved.

CHEAP ANNOTATION MODE: spaCy annotates about 50 passages a second per core
(hours at 1M), so while *building* the index ``askfiles.nlp.annotate`` is
replaced by ``ask_scale.cheap_annotation`` (regex tokens, the splitter's
sentences, capitalised runs as entities). The saved index then holds those
stand-in annotations: **answers are meaningless, use the numbers for time and
memory only.** Questions are still parsed by spaCy at ask time.

Per size, each step in a fresh process:

1. ``prepare``: one ``.txt`` file per document of ``make_corpus.py``'s corpus
   (title line, then the passages as paragraphs) under
   ``/tmp/askfiles-bench/store-corpus-<n>/``.
2. ``build`` (once; not start-up): ``store.open_corpus`` with the cheap
   annotation; the index goes to ``/tmp/askfiles-bench/store-index-<n>/``.
3. ``start``: ``Engine.from_folder`` from the saved index (nothing may be
   annotated or tokenized), one warm-up ``ask``; wall time and RSS. Then
   ``Engine.ask`` over SQuAD dev questions (p50/p99, CPU p50) after the
   background weighing of the commonest terms a serving process starts with
   (``Engine.warm_up``, waited for and timed; ``--no-warm``: without), and its question
   analysis and retrieval steps timed inside it (retrieval's first use of the
   question's terms); anonymous (RssAnon) and total resident memory after them.
   Then the same questions parsed alone, one after another: the machine's speed
   in that hour, to read the ask against (its p50 moved 20-50% within an hour).
4. ``edit`` (after start): one file of the corpus gets a new sentence; the
   builder's update (``Engine.from_folder``, as the watcher runs it) until a
   question about the new sentence is answered from that file: seconds, bytes
   written to the index folder (new files) and by the process (``/proc/self/io``
   ``wchar``), segments before and after. The file is then put back (a second
   update, also timed).

    .venv/bin/python benchmarks/store_scale.py --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
from ask_scale import cheap_annotation, questions_text  # noqa: E402
from benchlib import time_asks  # noqa: E402
from retrieval_speed import pct, peak_rss_mb, rss_mb  # noqa: E402

OUT = make_corpus.OUT


def corpus_dir(n: int) -> Path:
    return OUT / f"store-corpus-{n}"


def index_dir(n: int) -> Path:
    return OUT / f"store-index-{n}"


def config(n: int) -> dict:
    return {"index_dir": str(index_dir(n)), "poll_seconds": 0}


def prepare(n: int) -> Path:
    """One text file per document (title, blank line, passages as paragraphs)."""
    folder = corpus_dir(n)
    if (folder.parent / f"store-corpus-{n}.done").exists():
        return folder
    make_corpus.make(n)
    count = 0
    with make_corpus.corpus_path(n).open(encoding="utf-8") as f:
        for line in f:
            if count >= n:
                break
            doc = json.loads(line)
            ps = doc["passages"][:n - count]
            count += len(ps)
            path = folder / doc["id"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc["title"] + "\n\n" + "\n\n".join(ps) + "\n", encoding="utf-8")
    (folder.parent / f"store-corpus-{n}.done").write_text(str(count))
    time.sleep(2.5)  # out of the store's 'racy mtime' window before the build
    return folder


def cheap_mode() -> None:
    """CHEAP ANNOTATION MODE: the store annotates with the rule-based stand-in."""
    from askfiles import nlp

    def annotate(texts, setting="", batch_size=64, n_process=1, **_):
        for t in texts:
            nlp.ANNOTATED += 1
            yield cheap_annotation(t)

    nlp.annotate = annotate


def build(n: int) -> dict:
    from askfiles import store

    cheap_mode()
    t0 = time.perf_counter()
    built = store.open_corpus(corpus_dir(n), config(n))
    r = built.report
    secs = time.perf_counter() - t0
    disk = sum(f.stat().st_size for f in index_dir(n).rglob("*") if f.is_file()) / 1e6
    return {"passages": r.passages, "documents": r.documents, "build_s": secs,
            "annotated": r.passages_annotated, "tokenized": store.TOKENIZED,
            "build_peak_rss_mb": peak_rss_mb(), "saved_mb": disk}


def worker(n: int, n_queries: int, warm: bool = True) -> dict:
    from askfiles import nlp, store
    from askfiles.engine import Engine

    cheap_mode()  # would only be used if something had to be annotated (asserted below)
    base = rss_mb()
    t0 = time.perf_counter()
    engine = Engine.from_folder(corpus_dir(n), config(n))
    t_open = time.perf_counter() - t0
    engine.ask("When was the first benchmark run?")  # loads spaCy for questions
    gc.collect()
    out = {"startup_s": time.perf_counter() - t0, "open_s": t_open,
           "startup_rss_mb": rss_mb(), "data_mb": rss_mb() - base,
           "annotated_at_start": engine.corpus.report.passages_annotated,
           "tokenized_at_start": store.TOKENIZED, "annotate_calls": nlp.ANNOTATED,
           "index_kind": engine.index.kind, "passages": len(engine.passages)}
    assert engine.corpus.index is not None, "the engine built BM25 from text"
    assert out["annotated_at_start"] == 0 and out["tokenized_at_start"] == 0, out
    out["warm_s"] = 0.0
    if warm:
        # As a serving process does after start-up (askfiles.warmup), here waited for
        # (a server answers meanwhile), so that the questions are timed after it.
        t0 = time.perf_counter()
        engine.warm_up().join()
        out["warm_s"] = time.perf_counter() - t0
    qs = questions_text(n_queries + 50)
    for q in qs[n_queries:]:  # warm-up on other questions
        engine.ask(q)
    qs = qs[:n_queries]
    ask, cpu, analyse, retr = time_asks(engine, qs)
    # The machine's own speed this hour: the same questions parsed alone, one after
    # another (no retrieval, no 1M reads between them), for reading the ask against.
    bare = []
    for q in qs:
        t = time.perf_counter_ns()
        engine.analyse(q)
        bare.append((time.perf_counter_ns() - t) / 1e6)
    out["bare_analyse_p50_ms"] = pct(bare, 50)
    out.update(queries=len(qs), ask_p50_ms=pct(ask, 50), ask_p99_ms=pct(ask, 99),
               ask_cpu_p50_ms=pct(cpu, 50), retrieval_p50_ms=pct(retr, 50),
               retrieval_p99_ms=pct(retr, 99), analyse_p50_ms=pct(analyse, 50),
               rss_mb=rss_mb(), peak_rss_mb=peak_rss_mb(), load_avg=os.getloadavg()[0],
               **rss_parts_mb())
    return out


def rss_parts_mb() -> dict:
    """RssAnon and RssFile of this process now (MB): mapped index pages are RssFile."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:", "VmRSS:")):
                key, val = line.split(":")
                out[key] = int(val.split()[0]) / 1e3
    return {"rss_anon_mb": out.get("RssAnon", 0.0), "rss_file_mb": out.get("RssFile", 0.0),
            "rss_total_mb": out.get("VmRSS", 0.0)}


def _wchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))


def _index_files(n: int) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in index_dir(n).rglob("*") if p.is_file()}


def edit(n: int) -> dict:
    """One file edited: seconds until a question about it is answered, bytes written."""
    from askfiles.engine import Engine

    cheap_mode()
    folder = corpus_dir(n)
    path = sorted(folder.iterdir())[len(list(folder.iterdir())) // 2]
    if path.is_dir():
        path = sorted(p for p in path.rglob("*.txt"))[0]
    original = path.read_text(encoding="utf-8")
    out = {"edited": path.relative_to(folder).as_posix()}
    try:
        for label, text in (("edit", original + "\nThe zeppelin Quixotica moored at "
                                                 "Cardington in 1931.\n"), ("restore", original)):
            before, w0 = _index_files(n), _wchar()
            segs0 = len(json.loads((index_dir(n) / "manifest.json").read_text())["segments"])
            t0 = time.perf_counter()
            path.write_text(text, encoding="utf-8")
            engine = Engine.from_folder(folder, config(n))
            if label == "edit":
                hit = engine.index.search(["quixotica"], 1)
                doc_id = path.relative_to(folder).as_posix()
                assert hit and engine.passages[hit[0][0]].doc_id == doc_id, hit
            secs = time.perf_counter() - t0
            after = _index_files(n)
            new_bytes = sum(v for k, v in after.items() if before.get(k) != v)
            segs = len(json.loads((index_dir(n) / "manifest.json").read_text())["segments"])
            out.update({f"{label}_s": secs, f"{label}_written_mb": new_bytes / 1e6,
                        f"{label}_wchar_mb": (_wchar() - w0) / 1e6,
                        f"{label}_segments": f"{segs0} -> {segs}",
                        f"{label}_annotated": engine.corpus.report.passages_annotated})
            del engine
    finally:
        if path.read_text(encoding="utf-8") != original:
            path.write_text(original, encoding="utf-8")
    out["load_avg_edit"] = os.getloadavg()[0]
    return out


def replica(n: int) -> dict:
    """A read-only replica's start: ``published_engine`` (no corpus walk) and a first ask."""
    from askfiles.published import published_engine

    cheap_mode()
    t0 = time.perf_counter()
    engine = published_engine(corpus_dir(n), config(n))
    t_open = time.perf_counter() - t0
    engine.ask("When was the first benchmark run?")  # loads spaCy for questions
    return {"replica_startup_s": time.perf_counter() - t0, "replica_open_s": t_open,
            "load_avg_replica": os.getloadavg()[0]}


def _child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--rebuild", action="store_true",
                    help="remove the saved index and build it again")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-warm", action="store_true",
                    help="time the questions without the background warm-up of common terms")
    ap.add_argument("--build", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--edit", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--replica", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.build:
        print(json.dumps(build(args.build)))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args.queries, not args.no_warm)))
        return
    if args.edit:
        print(json.dumps(edit(args.edit)))
        return
    if args.replica:
        print(json.dumps(replica(args.replica)))
        return
    rows = []
    for n in sorted(args.sizes):
        prepare(n)
        info_path = OUT / f"store-index-{n}.build.json"
        if args.rebuild or not info_path.exists():
            # A first build: the saved index is removed (else the build reuses it all).
            shutil.rmtree(index_dir(n), ignore_errors=True)
            info = _child(["--build", str(n)])
            info_path.write_text(json.dumps(info))
        info = json.loads(info_path.read_text())
        r = {**info, **_child(["--worker", str(n), "--queries", str(args.queries)]
                              + (["--no-warm"] if args.no_warm else [])),
             **_child(["--replica", str(n)]), **_child(["--edit", str(n)]), "size": n}
        rows.append(r)
        print(f"  {n:>9,}: build {info['build_s']:.0f} s, start-up {r['startup_s']:.2f} s, "
              f"RSS {r['startup_rss_mb']:.0f} MB, ask p50 {r['ask_p50_ms']:.2f} ms",
              file=sys.stderr, flush=True)
    print("CHEAP ANNOTATION MODE (rule-based stand-in for spaCy while building; timing and "
          "memory only, answers meaningless)\n")
    print("| passages | documents | build s (cheap annotation) | saved MB | start-up s "
          "| (open_corpus s) | RSS after start MB | ask p50 ms | ask p99 ms | ask CPU p50 ms "
          "| retrieval p50 ms | retrieval p99 ms | question analysis p50 ms | index "
          "| warm-up s | load avg |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['passages']:,} | {r['documents']:,} | {r['build_s']:.0f} | {r['saved_mb']:.0f} "
              f"| {r['startup_s']:.2f} | {r['open_s']:.2f} | {r['startup_rss_mb']:.0f} "
              f"| {r['ask_p50_ms']:.2f} | {r['ask_p99_ms']:.2f} | {r['ask_cpu_p50_ms']:.2f} "
              f"| {r['retrieval_p50_ms']:.3f} | {r['retrieval_p99_ms']:.3f} "
              f"| {r['analyse_p50_ms']:.2f} | {r['index_kind']} | {r['warm_s']:.2f} "
              f"| {r['load_avg']:.1f} |")
    print("\nSame-hour reference: the same questions parsed alone, one after another.\n")
    print("| passages | bare question analysis p50 ms | ask p50 / bare analysis p50 |")
    print("|---:|---:|---:|")
    for r in rows:
        print(f"| {r['passages']:,} | {r['bare_analyse_p50_ms']:.2f} "
              f"| {r['ask_p50_ms'] / r['bare_analyse_p50_ms']:.2f} |")
    print("\n| passages | build peak RSS MB | replica start-up s | (load_published s) "
          "| RssAnon after questions MB | RSS total MB "
          "| questions | edit: answerable s | written MB (new files) | wchar MB | segments "
          "| restore s | load avg |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['passages']:,} | {r['build_peak_rss_mb']:.0f} "
              f"| {r['replica_startup_s']:.2f} | {r['replica_open_s']:.2f} | {r['rss_anon_mb']:.0f} "
              f"| {r['rss_total_mb']:.0f} | {r['queries']} | {r['edit_s']:.2f} "
              f"| {r['edit_written_mb']:.1f} | {r['edit_wchar_mb']:.1f} | {r['edit_segments']} "
              f"| {r['restore_s']:.2f} | {r['load_avg_edit']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
