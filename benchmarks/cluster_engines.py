"""Dask against Ray for the cluster annotation: the same batches, real spaCy, one machine.

``askfiles index --cluster`` runs on Dask distributed. This measures what Ray
would have given for the same job, so that the choice rests on a measurement:
the first ``--passages`` passages of ``store_scale``'s corpus (real SQuAD
sentences), split as askfiles splits them, annotated by
``askfiles.cluster.annotate_batch`` in batches of ``cluster.BATCH`` with
``cluster.IN_FLIGHT`` batches per worker submitted ahead, three ways, each in a
fresh process:

* ``one``: the batches one after another in the process itself;
* ``dask``: ``cluster.client_for("local:N")`` (the LocalCluster ``--cluster
  local:N`` starts), the tasks as ``annotate_columns`` submits them;
* ``ray``: ``ray.init(num_cpus=N)``, ``annotate_batch`` as a remote function
  of one CPU, submitted and taken in the same order.

Per way: seconds to start the cluster and load the pipeline on every worker,
seconds to annotate, passages a second while annotating, CPU seconds of the
driver process, resident memory of the driver and its workers at the end, and
whether the columns are byte for byte those of ``one``.

Ray is not a dependency of askfiles; to run the ``ray`` way, install it apart
and put it on the path, e.g.::

    .venv/bin/python -m pip install --target /tmp/raypkgs ray
    PYTHONPATH=/tmp/raypkgs .venv/bin/python benchmarks/cluster_engines.py --passages 4000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import store_scale  # noqa: E402
from replicas import tree_rss_mb  # noqa: E402

CORPUS_SIZE = 10_000   # store_scale's corpus of this many passages (made once, reused)


def texts(n: int) -> list[str]:
    """The first ``n`` passage texts of the corpus, split as askfiles splits documents."""
    from askfiles import split
    from askfiles.records import Document

    folder = store_scale.prepare(max(n, CORPUS_SIZE))
    out: list[str] = []
    for path in sorted(folder.rglob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for p in split.split_document(Document(path.name, path.stem, text, {})):
            out.append(p.text)
            if len(out) == n:
                return out
    return out


def _digest(results: list) -> str:
    h = hashlib.sha256()
    for _, strings, cols in results:
        h.update(json.dumps(strings).encode())
        for k in sorted(cols):
            h.update(k.encode())
            h.update(cols[k].tobytes())
    return h.hexdigest()


def _ordered(submit, get, batches: list[list[str]], ahead: int) -> list:
    """Submit batches ``ahead`` in front of the results taken, take them in order."""
    pending: deque = deque()
    out = []
    for b in batches:
        pending.append(submit(b))
        while len(pending) >= ahead:
            out.append(get(pending.popleft()))
    while pending:
        out.append(get(pending.popleft()))
    return out


def worker(how: str, n: int, workers: int) -> dict:
    from askfiles import cluster, nlp

    items = texts(n)
    batches = [items[i:i + cluster.BATCH] for i in range(0, len(items), cluster.BATCH)]
    name = nlp.model_name("")
    t0 = time.perf_counter()
    if how == "one":
        cluster.load_pipeline(name)
        started = time.perf_counter()
        results = [cluster.annotate_batch(b, name) for b in batches]
    elif how == "dask":
        client = cluster.client_for(f"local:{workers}")
        ws = list(client.scheduler_info()["workers"])
        client.gather([client.submit(cluster.load_pipeline, name, workers=[w], pure=False)
                       for w in ws])
        started = time.perf_counter()
        results = _ordered(lambda b: client.submit(cluster.annotate_batch, b, name, pure=False),
                           lambda f: f.result(), batches, cluster.IN_FLIGHT * workers)
    elif how == "ray":
        import ray

        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        annotate = ray.remote(num_cpus=1)(cluster.annotate_batch)
        load = ray.remote(num_cpus=1)(cluster.load_pipeline)
        # One load per worker process: as many one-CPU tasks at once as there are CPUs.
        ray.get([load.remote(name) for _ in range(workers)])
        started = time.perf_counter()
        results = _ordered(lambda b: annotate.remote(b, name), ray.get, batches,
                           cluster.IN_FLIGHT * workers)
    else:
        raise ValueError(how)
    done = time.perf_counter()
    me = resource.getrusage(resource.RUSAGE_SELF)
    out = {"how": how, "passages": len(items), "workers": workers if how != "one" else 1,
           "start_s": started - t0, "annotate_s": done - started,
           "per_s": len(items) / (done - started), "driver_cpu_s": me.ru_utime + me.ru_stime,
           "rss_mb": tree_rss_mb(os.getpid()), "digest": _digest(results),
           "load_avg": os.getloadavg()[0]}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ways", nargs="+", default=["one", "dask", "ray"])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.passages, args.workers)))
        return
    texts(args.passages)   # the corpus made before any timing
    rows = []
    for how in args.ways:
        proc = subprocess.run([sys.executable, __file__, "--worker", how, "--passages",
                               str(args.passages), "--workers", str(args.workers)],
                              capture_output=True, text=True)
        if proc.returncode:
            print(f"{how}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"  {how}: {rows[-1]['per_s']:.1f} passages/s", file=sys.stderr, flush=True)
    one = next((r for r in rows if r["how"] == "one"), None)
    print("REAL spaCy annotation, the same batches each way\n")
    print("| way | workers | passages | start + pipeline loads s | annotate s | passages/s "
          "| x one | driver CPU s | RSS, driver + workers MB | same columns as one | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        speed = f"{r['per_s'] / one['per_s']:.2f}" if one else "-"
        same = ("yes" if r["digest"] == one["digest"] else "NO") if one else "-"
        print(f"| {r['how']} | {r['workers']} | {r['passages']:,} | {r['start_s']:.1f} "
              f"| {r['annotate_s']:.1f} | {r['per_s']:.1f} | {speed} | {r['driver_cpu_s']:.1f} "
              f"| {r['rss_mb']:.0f} | {same} | {r['load_avg']:.1f} |")


if __name__ == "__main__":
    main()
