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
from typing import Any, Callable, Iterable, Iterator

import numpy as np

log = logging.getLogger(__name__)

BATCH = 128            # passages per task
CONNECT_TIMEOUT = 30   # seconds to reach a scheduler (Dask retries until then)
IN_FLIGHT = 3          # tasks per worker submitted ahead of the results taken
# The string columns of ``columns_of``'s tables: lemma, POS, dependency; entity label.
STRING_COLUMNS = {"tokens": [3, 4, 5], "ents": [2]}

# Dask settings for a ``local:N`` cluster (its workers get them too). Without
# MALLOC_TRIM_THRESHOLD_=65536 glibc keeps freed memory instead of handing it
# back and faulting it in again: 12-18% less CPU a passage for spaCy. The rest
# quiets monitors no one reads here (no dashboard): an idle LocalCluster(2)
# took 5% of a core in the indexer and 3.4% in each worker, 0.9% and 0.4% so.
LOCAL_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "500ms",
}

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
_warming: dict[str, list] = {}     # address -> its workers' pipeline-load futures
_failed: dict[str, str] = {}       # address -> why this build's warm-up could not reach it


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise RuntimeError("--cluster needs Dask distributed: pip install "
                           "'askfiles[cluster]' (or dask[distributed])") from None
    return distributed


def parse_address(address: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, else ``("remote", "tcp://HOST:PORT")``; or ValueError."""
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
    # Checked here: Dask fails on 'bogus' only once it connects, then hangs 60 s at exit.
    host, port = _host_port(address[len("tcp://"):] if address.startswith("tcp://")
                            else address)
    if not host or port is None:
        raise ValueError(f"--cluster {address!r} is not a scheduler address; use "
                         "tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786) or local:N for N "
                         "worker processes on this machine")
    return "remote", f"tcp://{host}:{port}"


def _host_port(text: str) -> tuple[str, int | None]:
    """``HOST`` and ``PORT`` of ``HOST:PORT`` or ``[IPv6]:PORT``; "" or None for a bad part."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        host = host if inner and ":" in inner else ""
    elif ":" in host:
        host = ""                       # an IPv6 address needs its brackets
    if any(c.isspace() or c in "/@?#[]" for c in host.strip("[]")):
        host = ""
    return host, int(port) if port.isdigit() and 1 <= int(port) <= 65535 else None


def client_for(address: str):
    """A Dask client for ``address``, made once per process (a ``local:N`` cluster is
    started with it and stopped when this process exits)."""
    kind, value = parse_address(address)
    with _clients_lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        failed = _failed.pop(address, None)
        if failed:   # this build's warm-up just failed to reach it: say so, not wait again
            raise RuntimeError(failed)
        distributed = _import_distributed()
        if kind == "local":
            # Fresh worker processes (spawned, never forked from a threaded server),
            # one thread each: spaCy's parser uses a core per process.
            import dask

            dask.config.set(LOCAL_CONFIG)
            cluster = distributed.LocalCluster(
                n_workers=int(value), threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.WARNING,
                memory_limit=0)   # no 100 ms memory polls: a batch's annotations are small
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(value, timeout=CONNECT_TIMEOUT)
            except OSError as exc:   # refused, timed out, no such host
                # Recorded under the lock: a build waiting on it sees this failure at
                # once rather than connecting (and waiting) a second time.
                _failed[address] = _unreachable(str(value), exc)
                raise RuntimeError(_failed[address]) from None
        _clients[address] = client
        return client


def _unreachable(address: str, exc: BaseException) -> str:
    """What to do when no scheduler answers at ``address`` (``exc``: Dask's error)."""
    reason, cause = "", exc
    while cause is not None:   # Dask wraps the reason: "Connection refused", a bad name
        reason = getattr(cause, "strerror", None) or reason
        cause = cause.__cause__
    return (f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT} s"
            + (f" ({reason})" if reason else "")
            + "; start one there (dask scheduler --port 8786, with dask workers connected "
            "to it), check the address and that this machine can reach it, or pass "
            "--cluster local:N to annotate on N processes here")


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


def annotate_batch(texts: list[str], setting: str
                   ) -> tuple[dict[str, str], list[str], dict[str, Any]]:
    """Runs on a worker: what made the annotations, and the batch as columns over its own strings.

    The columns are ``columns_of``'s (NumPy, cheap to send and to take in) with
    string ids into the batch's own table; that table lists the strings in the
    order ``columns_of`` first meets them, so the indexer interning it in order
    gives every string the id a local build gives it.
    """
    from . import nlp
    from .store.tables import columns_of

    pipeline = nlp.get_nlp(setting)
    table: dict[str, int] = {}
    cols = columns_of(list(nlp.pipe_flattened(pipeline, texts, len(texts) or 1)),
                      lambda s: table.setdefault(s, len(table)))
    return _made_by(pipeline), list(table), cols


def load_pipeline(setting: str) -> dict[str, str]:
    """Runs on a worker: load the pipeline now (while the indexer still walks the corpus)."""
    from . import nlp

    return _made_by(nlp.get_nlp(setting))


def _made_by(pipeline) -> dict[str, str]:
    import spacy

    from . import nlp

    return {"spacy": spacy.__version__, "pipeline": str(pipeline.meta.get("name", "")),
            "pipeline_version": str(pipeline.meta.get("version", "")),
            "askfiles_pipeline": str(nlp.PIPELINE_VERSION)}


def workers(address: str) -> int:
    """How many workers the cluster has now."""
    return max(1, len(client_for(address).scheduler_info().get("workers", {})))


def warm_up(address: str, setting: str) -> None:
    """Start the cluster and load the pipeline on its workers in the background.

    Called when a build first meets a new document: the cluster's start and the
    workers' pipeline loads (10 s or so) then overlap the rest of the corpus walk.
    """
    from . import nlp

    name = nlp.model_name(setting)
    # A new build tries again (no lock: a warm-up still connecting must not hold the walk).
    _failed.pop(address, None)

    def start() -> None:
        try:
            client = client_for(address)
            with _clients_lock:   # kept: a future dropped before it runs is forgotten
                _warming[address] = [
                    client.submit(load_pipeline, name, workers=[w], pure=False)
                    for w in client.scheduler_info().get("workers", {})]
        except RuntimeError as exc:   # unreachable: annotate_columns() says so, at once
            with _clients_lock:
                _failed[address] = str(exc)
            log.info("could not start the cluster at %s early: %s", address, exc)
        except Exception as exc:  # annotate_columns() starts it again, or says why not
            log.warning("could not start the cluster at %s early: %s", address, exc)

    threading.Thread(target=start, name="askfiles-cluster-start", daemon=True).start()


def annotate_columns(texts: Iterable[str], setting: str, address: str,
                     intern: Callable[[str], int], batch_size: int = 0
                     ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """``(passages, columns)`` of ``texts`` a batch at a time, in order, made on the cluster.

    The columns are ``store.tables.columns_of``'s for the batch, strings through
    ``intern``: the indexer only maps each batch's string table, it never
    handles a token."""
    from . import nlp
    from .store import model_version

    name = nlp.model_name(setting)
    batch_size = batch_size or BATCH
    client = client_for(address)
    ahead = IN_FLIGHT * workers(address)
    pending: collections.deque = collections.deque()
    local = {"pipeline_version": model_version(name),
             "askfiles_pipeline": str(nlp.PIPELINE_VERSION)}
    batch: list[str] = []

    def take(future) -> tuple[int, dict[str, np.ndarray]]:
        made_by, strings, cols = future.result()
        for key, value in local.items():
            if value and made_by.get(key) != value:
                raise RuntimeError(
                    f"a cluster worker annotates with {key} {made_by.get(key)!r}, this "
                    f"indexer with {value!r}: install the same askfiles and spaCy "
                    "pipeline on every worker")
        ids = np.fromiter(map(intern, strings), dtype=np.int32, count=len(strings))
        for col, at in STRING_COLUMNS.items():
            if len(cols[col]):          # (received arrays may be read-only: a copy)
                cols[col] = np.array(cols[col])
                cols[col][:, at] = ids[cols[col][:, at]]
        return len(cols["tokens_ptr"]) - 1, cols

    try:
        for text in texts:
            batch.append(text)
            if len(batch) < batch_size:
                continue
            pending.append(client.submit(annotate_batch, batch, name, pure=False))
            batch = []
            while len(pending) >= ahead:
                yield take(pending.popleft())
        if batch:
            pending.append(client.submit(annotate_batch, batch, name, pure=False))
        while pending:
            yield take(pending.popleft())
    finally:
        for future in pending:       # a build stopped early: drop its queued work
            future.cancel()
        with _clients_lock:
            _warming.pop(address, None)
