"""Real spaCy annotation: one process vs ``--cluster local:N`` (Dask), same saved arrays.

For each size, the corpus of ``store_scale.prepare`` (real SQuAD sentences, one
``.txt`` per document) is indexed from scratch by ``askfiles index`` three ways,
each in a fresh process with its own index folder, REAL spaCy annotation:

* ``one``: ``ASKFILES_ANNOTATE_PROCESSES=1``, annotation in the indexer itself;
* ``procs:2``: the built-in ``python -m askfiles.annotator`` processes (2);
* ``local:N``: ``askfiles index --cluster local:N`` (a Dask LocalCluster of N
  worker processes started by the run, its start-up included in the time).

It reports wall time, passages annotated a second, the speed-up over ``one``,
CPU seconds (user+sys) of the indexer process itself ("driver": with
``local:N`` that includes the Dask scheduler and nannies it runs) and of all its
child processes (annotators, Dask workers), the seconds before the first
annotation reached the indexer (corpus walk, cluster start, pipeline loads),
and whether the saved annotation arrays (strings, tokens, sentences, entities,
noun chunks, their row pointers, passages, hashes, terms) are byte for byte
those of ``one`` (or of ``--reference``). The machine's load average is
printed with each run: other work on the same cores slows the parallel runs
most. The corpus and indexes go under ``$ASKFILES_BENCH_OUT`` (default
``/tmp/askfiles-bench``).

    .venv/bin/python benchmarks/cluster_annotation.py --sizes 2000 100000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import store_scale  # noqa: E402

# Runs ``askfiles.cli`` in the indexer process and, at its exit, writes that
# process's own CPU time and when the first and last annotations arrived.
WRAPPER = """
import atexit, json, os, resource, sys, time
T0 = time.perf_counter()
seen = []
def _hook(n):
    now = time.perf_counter()
    if not seen:
        seen.append(now)
    seen[1:] = [now]
from askfiles import nlp
nlp.ANNOTATION_HOOKS.append(_hook)
def _report():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.environ["BENCH_REPORT"], "w") as f:
        json.dump({"driver_cpu": me.ru_utime + me.ru_stime,
                   "driver_main_thread_cpu": time.thread_time(),
                   "reaped_children_cpu": kids.ru_utime + kids.ru_stime,
                   "first_annotation_s": seen[0] - T0 if seen else None,
                   "last_annotation_s": seen[-1] - T0 if seen else None,
                   "exit_s": time.perf_counter() - T0,
                   "threads": {k: os.environ.get(k) for k in (
                       "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}, f)
atexit.register(_report)
sys.argv = ["askfiles"] + sys.argv[1:]
from askfiles.cli import main
sys.exit(main())
"""

FILES = ("strings", "passages", "hashes", "tokens", "tokens_ptr", "sents", "sents_ptr",
         "ents", "ents_ptr", "chunks", "chunks_ptr", "terms")


def saved(index: Path) -> dict[str, bytes]:
    manifest = json.loads((index / "manifest.json").read_text())
    # Each name: the state file, or that file of every segment one after another.
    return {name: b"".join((index / e["path"]).read_bytes() for e in
                           ([manifest["files"][name]] if name in manifest["files"] else
                            [s["files"][name] for s in manifest["segments"]]))
            for name in FILES}


def run(n: int, how: str, src: Path = HERE.parent / "src") -> dict:
    corpus = store_scale.prepare(n)
    tree = src.resolve().parent.name            # which checkout's askfiles
    index = store_scale.OUT / f"cluster-index-{n}-{how.replace(':', '')}-{tree}"
    shutil.rmtree(index, ignore_errors=True)
    env = {**os.environ, "ASKFILES_INDEX_DIR": str(index), "ASKFILES_POLL_SECONDS": "0",
           "PYTHONPATH": os.pathsep.join([str(src),
                                          os.environ.get("PYTHONPATH", "")])}
    report = index.parent / f"{index.name}.report.json"
    env["BENCH_REPORT"] = str(report)
    cmd = [sys.executable, "-c", WRAPPER, "index", "--corpus", str(corpus)]
    if how == "one":
        env["ASKFILES_ANNOTATE_PROCESSES"] = "1"
    elif how.startswith("procs:"):
        env["ASKFILES_ANNOTATE_PROCESSES"] = how.split(":")[1]
    else:
        cmd += ["--cluster", how]
    load = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode:
        raise SystemExit(f"{how} failed:\n{done.stderr[-3000:]}")
    line = done.stdout.splitlines()[0]
    annotated = int(line.split("(")[1].split(" annotated")[0])
    info = json.loads(report.read_text())
    return {"how": how, "passages": annotated, "seconds": secs,
            "rate": annotated / secs, "load_before": load[0], "load_after": os.getloadavg(),
            "load_before_all": load, "tree_cpu": tree, "driver_cpu": info["driver_cpu"],
            "children_cpu": tree - info["driver_cpu"], **info, "index": str(index)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ways", nargs="+", default=None,
                    help="default: one procs:W local:W")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--src", type=Path, default=HERE.parent / "src",
                    help="the askfiles sources to run (e.g. an older commit's, exported)")
    ap.add_argument("--reference", type=Path, default=None,
                    help="compare the saved arrays with this index (default: the 'one' run's)")
    args = ap.parse_args(argv)
    ways = args.ways or ["one", f"procs:{args.workers}", f"local:{args.workers}"]
    results = []
    for n in args.sizes:
        rows = [run(n, how, args.src) for how in ways]
        base = next((r for r in rows if r["how"] == "one"), rows[0])
        ref = saved(args.reference or Path(base["index"]))
        print(f"\n{n} passages in the corpus ({base['passages']} annotated), real spaCy")
        print("| how | seconds | passages/s | speed-up | CPU s driver | CPU s children "
              "| CPU/wall | first annotation s | same saved arrays | load avg before (1/5/15) "
              "| load 1 min after |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            r["speedup"] = base["seconds"] / r["seconds"]
            r["identical"] = saved(Path(r["index"])) == ref
            first = r["first_annotation_s"]
            print(f"| {r['how']} | {r['seconds']:.1f} | {r['rate']:.1f} | "
                  f"{r['speedup']:.2f}x | {r['driver_cpu']:.1f} | {r['children_cpu']:.1f} | "
                  f"{r['tree_cpu'] / r['seconds']:.2f} | "
                  f"{'-' if first is None else format(first, '.1f')} | "
                  f"{'yes' if r['identical'] else 'NO'} | "
                  f"{'/'.join(format(x, '.2f') for x in r['load_before_all'])} | "
                  f"{r['load_after'][0]:.2f} |", flush=True)
        results.append({"size": n, "runs": rows})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
