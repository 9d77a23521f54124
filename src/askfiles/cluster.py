"""Annotation on a Dask cluster: ``askfiles index --cluster ADDRESS|local:N``.

spaCy annotation is the slow step of indexing (about 50 passages a second per
core with the full small pipeline). With ``--cluster`` the new passages are
sent in batches to the workers of a Dask ``distributed`` cluster, each of which
loads the pipeline once and annotates them there; the annotations come back in
order and are saved exactly as a local build saves them (the same arrays, byte
for byte: the same pipeline on the same texts, interned in the same order).

``ADDRESS`` is a scheduler address (``tcp://10.0.0.5:8786``), or ``local:N``
to start a cluster of N worker processes on this machine for the run. Every
worker needs the same askfiles, spaCy and pipeline version as the indexer
(checked: a worker with another pipeline version fails the build rather than
save annotations that differ). Needs the extra ``askfiles[cluster]``.

Only the texts of the passages travel to the workers, and only their
annotations come back; the corpus and the index stay with the indexer.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
from typing import Any, Iterable, Iterator

from .records import Annotation

log = logging.getLogger(__name__)

BATCH = 128            # passages per task
IN_FLIGHT = 3          # tasks per worker submitted ahead of the results taken

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise RuntimeError("--cluster needs Dask distributed: pip install "
                           "'askfiles[cluster]' (or dask[distributed])") from None
    return distributed


def parse_address(address: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, else ``("remote", address)``; ValueError when bad."""
    address = (address or "").strip()
    if address.startswith("local:"):
        try:
            n = int(address[len("local:"):])
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"--cluster {address!r}: local:N needs N >= 1 worker processes")
        return "local", n
    if not address:
        raise ValueError("--cluster needs a scheduler address or local:N")
    return "remote", address


def client_for(address: str):
    """A Dask client for ``address``, made once per process (a ``local:N`` cluster is
    started with it and stopped when this process exits)."""
    kind, value = parse_address(address)
    with _clients_lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        distributed = _import_distributed()
        if kind == "local":
            # Fresh worker processes (spawned, never forked from a threaded server),
            # one thread each: spaCy's parser uses a core per process. Without
            # Dask's MALLOC_TRIM_THRESHOLD_=65536: glibc then hands freed memory
            # back at once and spaCy faults it in again, 12-18% more CPU a passage.
            import dask

            dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
                             None})
            cluster = distributed.LocalCluster(
                n_workers=int(value), threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.WARNING)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(value, timeout=30)
        _clients[address] = client
        return client


@atexit.register
def close_clients() -> None:
    """Close the clients (and stop the local clusters) this process made."""
    with _clients_lock:
        for client in _clients.values():
            cluster = getattr(client, "cluster", None)
            try:
                client.close()
                if cluster is not None:
                    cluster.close()
            except Exception:  # pragma: no cover - shutting down anyway
                pass
        _clients.clear()


def annotate_batch(texts: list[str], setting: str) -> tuple[dict[str, str], list[dict]]:
    """Runs on a worker: the batch's annotations (as plain lists) and what made them."""
    from . import nlp

    pipeline = nlp.get_nlp(setting)
    rows = [a.to_json() for a in nlp.pipe_flattened(pipeline, texts, len(texts) or 1)]
    return _made_by(pipeline), rows


def _made_by(pipeline) -> dict[str, str]:
    import spacy

    from . import nlp

    return {"spacy": spacy.__version__, "pipeline": str(pipeline.meta.get("name", "")),
            "pipeline_version": str(pipeline.meta.get("version", "")),
            "askfiles_pipeline": str(nlp.PIPELINE_VERSION)}


def workers(address: str) -> int:
    """How many workers the cluster has now."""
    return max(1, len(client_for(address).scheduler_info().get("workers", {})))


def annotate(texts: Iterable[str], setting: str, address: str,
             batch_size: int = BATCH) -> Iterator[Annotation]:
    """Annotations of ``texts``, in order, made on the cluster at ``address``."""
    from . import nlp
    from .store import model_version

    name = nlp.model_name(setting)
    client = client_for(address)
    ahead = IN_FLIGHT * workers(address)
    pending: collections.deque = collections.deque()
    local = {"pipeline_version": model_version(name),
             "askfiles_pipeline": str(nlp.PIPELINE_VERSION)}
    batch: list[str] = []

    def take(future) -> list[dict]:
        made_by, rows = future.result()
        for key, value in local.items():
            if value and made_by.get(key) != value:
                raise RuntimeError(
                    f"a cluster worker annotates with {key} {made_by.get(key)!r}, this "
                    f"indexer with {value!r}: install the same askfiles and spaCy "
                    "pipeline on every worker")
        return rows

    try:
        for text in texts:
            batch.append(text)
            if len(batch) < batch_size:
                continue
            pending.append(client.submit(annotate_batch, batch, name, pure=False))
            batch = []
            while len(pending) >= ahead:
                for row in take(pending.popleft()):
                    yield Annotation.from_json(row)
        if batch:
            pending.append(client.submit(annotate_batch, batch, name, pure=False))
        while pending:
            for row in take(pending.popleft()):
                yield Annotation.from_json(row)
    finally:
        for future in pending:       # a build stopped early: drop its queued work
            future.cancel()
