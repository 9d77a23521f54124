"""``askfiles index --cluster local:2``: annotation on a Dask cluster, saved byte for
byte as a local build saves it (issue 11, item 2). Needs ``askfiles[cluster]``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "cairncross-mi5-confession.txt"
ANNOTATION_FILES = ("strings", "passages", "hashes", "tokens", "tokens_ptr", "sents",
                    "sents_ptr", "ents", "ents_ptr", "chunks", "chunks_ptr", "terms")


def _saved(index: Path) -> dict[str, bytes]:
    manifest = json.loads((index / "manifest.json").read_text())
    [segment] = manifest["segments"]
    return {name: (index / (manifest["files"].get(name) or segment["files"][name])["path"])
            .read_bytes() for name in ANNOTATION_FILES}


def test_cluster_build_saves_the_same_annotations_as_a_local_build(tmp_path):
    from askfiles.store import open_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = SEED.read_text()
    for i in range(4):
        (corpus / f"copy{i}.txt").write_text(text.replace("Cairncross", f"Cairncross{i}"))
    (corpus / "wrapped.txt").write_text("Mill\n\nThe mill at\nArdmore closed   in 1923,\n"
                                        "said the Ardmore\nHistorical Society.\n")
    local = open_corpus(corpus, {"corpus": str(corpus), "index_dir": str(tmp_path / "local"),
                                 "annotate_processes": 1})
    assert local.report.passages_annotated > 40
    env = {**os.environ, "ASKFILES_INDEX_DIR": str(tmp_path / "cluster")}
    done = subprocess.run([sys.executable, "-m", "askfiles.cli", "index", "--corpus",
                           str(corpus), "--cluster", "local:2"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{local.report.passages_annotated} annotated now" in done.stdout
    a, b = _saved(tmp_path / "local"), _saved(tmp_path / "cluster")
    for name in ANNOTATION_FILES:
        assert a[name] == b[name], f"{name} differs between the local and the cluster build"


def test_many_small_batches_intern_strings_in_the_local_order(tmp_path, monkeypatch):
    """Each batch comes back with its own string table: mapped in order, batch after
    batch, the saved strings and ids are still a local build's."""
    from askfiles import cluster
    from askfiles.store import open_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(SEED.read_text())
    local = open_corpus(corpus, {"corpus": str(corpus), "index_dir": str(tmp_path / "local"),
                                 "annotate_processes": 1})
    monkeypatch.setattr(cluster, "BATCH", 5)
    try:
        built = open_corpus(corpus, {"corpus": str(corpus), "cluster": "local:2",
                                     "index_dir": str(tmp_path / "cluster")})
        assert "local:2" in cluster._clients          # annotated there, not here
    finally:
        cluster.close_clients()
    assert built.report.passages_annotated == local.report.passages_annotated > 10
    a, b = _saved(tmp_path / "local"), _saved(tmp_path / "cluster")
    for name in ANNOTATION_FILES:
        assert a[name] == b[name], f"{name} differs between the local and the cluster build"


def test_cluster_addresses_are_checked():
    from askfiles.cluster import parse_address

    assert parse_address("local:2") == ("local", 2)
    assert parse_address("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", ""):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_an_unreachable_scheduler_stops_the_build_with_one_clean_paragraph(
        tmp_path, monkeypatch, capsys):
    """Exit 2 and what to do, no traceback; one connect timeout, not the warm-up's and
    then the build's own (60 s in all with the default 30 s)."""
    import socket

    import distributed

    from askfiles import cli, cluster

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Mill\n\nThe old mill closed in 1911 after a fire.\n")
    with socket.socket() as s:     # a port nothing listens on once this closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tries = []

    def client(*args, **kwargs):
        tries.append(args)
        return real(*args, **kwargs)

    real = distributed.Client
    monkeypatch.setattr(distributed, "Client", client)
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    monkeypatch.setenv("ASKFILES_INDEX_DIR", str(tmp_path / "index"))
    assert cli.main(["index", "--corpus", str(corpus), "--cluster",
                     f"tcp://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    # The reason is there when Dask passes it on: its retries within the timeout may
    # end on "Connection refused" or on a bare time-out.
    assert re.fullmatch(
        rf"askfiles: no Dask scheduler answered at tcp://127\.0\.0\.1:{port} within "
        r"2 s( \(Connection refused\))?; start one there \(dask scheduler --port 8786, "
        r"with dask workers connected to it\), check the address and that this "
        r"machine can reach it, or pass --cluster local:N to annotate on N "
        r"processes here\n", err), err
    assert len(tries) == 1
