"""Observability: request ids, the access log and Prometheus metrics at ``/metrics``.

Metrics go through ``prometheus_client``. Under ``askfiles serve`` (gunicorn,
several worker processes) ``PROMETHEUS_MULTIPROC_DIR`` is set before the first
metric is made, so every process writes its values to files there and
``/metrics`` adds them up across workers. In a single process (tests,
``flask run``) the default registry is used.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, Flask, Response, g, request

log = logging.getLogger(__name__)
access_log = logging.getLogger("askfiles.access")

bp = Blueprint("observe", __name__)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
_lock = threading.Lock()
_metrics: SimpleNamespace | None = None


def metrics() -> SimpleNamespace:
    """The metric objects, made on first use (after ``PROMETHEUS_MULTIPROC_DIR`` is set)."""
    global _metrics
    if _metrics is not None:
        return _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import Counter, Gauge, Histogram

            latest = {"multiprocess_mode": "livemostrecent"}
            _metrics = SimpleNamespace(
                requests=Counter("askfiles_http_requests", "HTTP requests answered",
                                 ["route", "method", "status"]),
                ask_seconds=Histogram(
                    "askfiles_ask_seconds", "Time to answer one question (engine only)",
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)),
                questions=Counter("askfiles_questions", "Questions answered"),
                no_answer=Counter("askfiles_no_answer", "Questions without an answer"),
                documents=Gauge("askfiles_documents", "Documents in the index", **latest),
                passages=Gauge("askfiles_passages", "Passages in the index", **latest),
                skipped=Gauge("askfiles_skipped_files", "Corpus files not indexed", **latest),
                reloads=Counter("askfiles_index_reloads",
                                "Times a changed corpus was swapped in"),
                writes=Counter("askfiles_document_writes",
                               "Documents written or deleted through the API", ["method"]),
                annotated=Counter("askfiles_passages_annotated",
                                  "Passages annotated by spaCy in this server's processes "
                                  "(after start-up; always 0 on a read-only replica)"),
            )
        return _metrics


def multiprocess_dir() -> str | None:
    """The folder shared by the server's processes for their metrics, if any."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def engine_counts(engine: Any) -> None:
    """Set the documents, passages and skipped-files gauges from an engine."""
    m = metrics()
    m.documents.set(len(engine.documents))
    m.passages.set(len(engine.passages))
    m.skipped.set(len(getattr(engine.corpus, "skipped", ()) or ()))


def swapped(old: Any, new: Any) -> None:
    """A holder listener: count the reload and update the gauges."""
    metrics().reloads.inc()
    engine_counts(new)


def asked(result: Any) -> None:
    """Count one answered question and its latency."""
    m = metrics()
    m.questions.inc()
    m.ask_seconds.observe(result.took_ms / 1000.0)
    if result.no_answer:
        m.no_answer.inc()


def describe_change(old: Any, new: Any) -> str:
    """What changed between two engines: documents added, removed and changed."""
    before, after = old.documents, new.documents
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(i for i in set(after) & set(before) if after[i].text != before[i].text)

    def names(ids: list[str]) -> str:
        shown = ", ".join(ids[:5])
        return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")

    parts = [f"{label} {len(ids)} ({names(ids)})"
             for label, ids in (("added", added), ("removed", removed), ("changed", changed))
             if ids]
    skipped = len(getattr(new.corpus, "skipped", ()) or ())
    return (f"index {getattr(old, 'version', '?')} -> {new.version}: "
            f"{'; '.join(parts) or 'no document text changed'}; now {len(after)} documents, "
            f"{len(new.passages)} passages, {skipped} skipped")


def _count_annotated(n: int) -> None:
    metrics().annotated.inc(n)


# New request ids: 128 random bits as 32 hex digits, from a generator seeded from
# os.urandom in each process (again after a fork). uuid4() asks the kernel for
# random bytes on every request; an id needs to be unique, not secret.
_ids = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    return "%032x" % _ids.getrandbits(128)


def _request_id() -> str:
    given = request.environ.get("HTTP_X_REQUEST_ID", "")   # request.headers["X-Request-Id"]
    return given if _REQUEST_ID.match(given) else new_request_id()


_counters: dict[tuple[int, tuple[str, str, str]], Any] = {}


def _requests(rule: str, method: str, status: str):
    """The requests counter of these labels (``labels()`` looked up once per process
    and labels: it validates and locks on every call)."""
    key = (id(metrics()), (rule, method, status))
    counter = _counters.get(key)
    if counter is None:
        counter = _counters[key] = metrics().requests.labels(rule, method, status)
    return counter


def install(app: Flask) -> None:
    """Request ids, the access log and request metrics on ``app``; ``/metrics``."""
    from . import nlp

    if _count_annotated not in nlp.ANNOTATION_HOOKS:
        metrics().annotated.inc(0)   # exported from the start, at 0
        nlp.ANNOTATION_HOOKS.append(_count_annotated)
    holder = app.extensions.get("askfiles")
    if holder is not None:
        engine_counts(holder.engine)
        listeners = getattr(holder, "listeners", None)
        if listeners is not None and swapped not in listeners:
            listeners.append(swapped)
    app.register_blueprint(bp)

    @app.before_request
    def _start():
        g.request_id = _request_id()
        g.started = time.perf_counter()

    @app.after_request
    def _finish(resp: Response) -> Response:
        rid = getattr(g, "request_id", None) or _request_id()
        resp.headers["X-Request-Id"] = rid
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        _requests(rule, request.method, str(resp.status_code)).inc()
        took = (time.perf_counter() - getattr(g, "started", time.perf_counter())) * 1000
        path = json.dumps(request.full_path.rstrip("?")[:300], ensure_ascii=True)[1:-1]
        access_log.info('%s "%s %s" %d %s %.1fms rid=%s', request.remote_addr or "-",
                        request.method, path, resp.status_code,
                        resp.calculate_content_length() or "-", took, rid)
        return resp


@bp.get("/metrics")
def prometheus_metrics():
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, \
        generate_latest

    metrics()
    folder = multiprocess_dir()
    if folder:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                        "Cache-Control": "no-store"})
