"""The saved index: reuse on restart, incremental updates, atomic writes, damage recovery."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from askfiles import cli, nlp, store
from askfiles.store import corpus_changed, open_corpus
from docmaker import write

DOC_A = """Otters of the Tamar

The river otter returned to the Tamar valley in 1994, after decades of absence.
Surveyors counted forty holts along the upper river.

Their main prey is eel and trout, taken mostly at dusk.
"""
DOC_B = """The Lantern Festival

The lantern festival of Hoi An is held on the fourteenth day of each lunar month.
Shops turn off their electric lights and the old town glows with silk lanterns.
"""
DOC_C = """Mill history

The Ashworth cotton mill closed in 1968. It had employed six hundred weavers.
"""


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    write(folder, "otters.txt", DOC_A)
    write(folder, "lanterns/hoi-an.md", DOC_B)
    write(folder, "mill.txt", DOC_C)
    return folder


def age(path: Path, seconds: float = 10.0) -> None:
    """Move a file's mtime into the past, out of the 'racy' window."""
    st = path.stat()
    t = st.st_mtime_ns - int(seconds * 1e9)
    os.utime(path, ns=(t, t))


def age_all(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file() and ".askfiles" not in p.parts:
            age(p)


def test_restart_on_unchanged_corpus_annotates_and_reads_nothing(tmp_path):
    folder = corpus(tmp_path)
    age_all(folder)
    first = open_corpus(folder, {})
    r = first.report
    assert r.documents == 3 and r.passages_annotated == r.passages > 0
    assert r.files_read == 3 and r.saved and r.rebuilt == "no saved index yet"
    before = nlp.ANNOTATED
    again = open_corpus(folder, {})
    assert nlp.ANNOTATED == before                 # spaCy ran on nothing
    r2 = again.report
    assert (r2.passages_annotated, r2.files_read, r2.files_reused) == (0, 0, 3)
    assert r2.passages_reused == r.passages and not r2.saved and r2.rebuilt is None
    assert [d.text for d in again.documents] == [d.text for d in first.documents]
    assert again.passages == first.passages
    assert list(again.annotations) == list(first.annotations)


def test_saved_annotations_equal_fresh_ones(tmp_path):
    folder = corpus(tmp_path)
    built = open_corpus(folder, {})
    fresh = list(nlp.annotate(p.text for p in built.passages))
    reopened = open_corpus(folder, {})
    assert isinstance(reopened.annotations, store.view.SegmentedAnnotations)
    assert [reopened.annotations[i] for i in range(len(fresh))] == fresh
    assert reopened.annotations[-1] == fresh[-1]
    assert reopened.annotations[1:3] == fresh[1:3]
    with pytest.raises(IndexError):
        reopened.annotations[len(fresh)]


def test_only_changed_files_are_annotated_and_removed_ones_dropped(tmp_path):
    folder = corpus(tmp_path)
    age_all(folder)
    base = open_corpus(folder, {})
    n_b = sum(1 for p in base.passages if p.doc_id == "lanterns/hoi-an.md")
    # Edit one paragraph of otters.txt, delete mill.txt, add a new file.
    write(folder, "otters.txt", DOC_A.replace("forty holts", "fifty-two holts"))
    (folder / "mill.txt").unlink()
    write(folder, "new.txt", "Tide tables\n\nHigh tide at Plymouth is at 6:40 on Sunday.\n")
    before = nlp.ANNOTATED
    built = open_corpus(folder, {})
    r = built.report
    assert {d.id for d in built.documents} == {"otters.txt", "lanterns/hoi-an.md", "new.txt"}
    assert not any(p.doc_id == "mill.txt" for p in built.passages)
    assert r.files_read == 2 and r.files_reused == 1 and r.files_removed == 1
    # Only the edited paragraph's passage and the new file's passage are new text.
    assert r.passages_annotated == nlp.ANNOTATED - before == 2
    assert sum(1 for p in built.passages if p.doc_id == "lanterns/hoi-an.md") == n_b
    fresh = list(nlp.annotate(p.text for p in built.passages))
    assert list(built.annotations) == fresh
    for p in built.passages:
        doc = next(d for d in built.documents if d.id == p.doc_id)
        assert doc.text[p.start:p.end] == p.text


def test_same_size_edit_within_the_same_mtime_is_noticed(tmp_path):
    folder = corpus(tmp_path)
    path = folder / "mill.txt"
    open_corpus(folder, {})
    st = path.stat()
    path.write_text(DOC_C.replace("1968", "1971"))          # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))     # same mtime
    assert path.stat().st_size == st.st_size
    built = open_corpus(folder, {})
    mill = next(d for d in built.documents if d.id == "mill.txt")
    assert "1971" in mill.text and built.report.passages_annotated == 1


def test_touched_but_identical_file_is_not_annotated(tmp_path):
    folder = corpus(tmp_path)
    open_corpus(folder, {})
    os.utime(folder / "otters.txt")
    built = open_corpus(folder, {})
    assert built.report.files_read == 1 and built.report.passages_annotated == 0


def _data_file(folder: Path, name: str) -> Path:
    """A state file of the manifest, else the file of its first segment."""
    manifest = json.loads((folder / ".askfiles" / "manifest.json").read_text())
    entry = manifest["files"].get(name) or manifest["segments"][0]["files"][name]
    return folder / ".askfiles" / entry["path"]


@pytest.mark.parametrize("damage", ["truncate-tokens", "garbage-manifest", "garbage-strings",
                                    "empty-manifest", "missing-file", "garbage-npy"])
def test_damaged_index_is_rebuilt_with_a_warning(tmp_path, caplog, damage):
    folder = corpus(tmp_path)
    first = open_corpus(folder, {})
    first_annotations = list(first.annotations)   # read before the files are damaged
    if damage == "truncate-tokens":
        p = _data_file(folder, "tokens")
        p.write_bytes(p.read_bytes()[:200])
    elif damage == "garbage-manifest":
        (folder / ".askfiles" / "manifest.json").write_bytes(os.urandom(300))
    elif damage == "garbage-strings":
        p = _data_file(folder, "strings")
        p.write_bytes(b"x" * p.stat().st_size)
    elif damage == "empty-manifest":
        (folder / ".askfiles" / "manifest.json").write_text("")
    elif damage == "missing-file":
        _data_file(folder, "documents").unlink()
    elif damage == "garbage-npy":
        p = _data_file(folder, "ents_ptr")
        p.write_bytes(os.urandom(p.stat().st_size))
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        built = open_corpus(folder, {})
    assert "unusable" in caplog.text and "rebuilding" in caplog.text
    assert built.report.rebuilt and built.report.passages_annotated == len(built.passages)
    assert list(built.annotations) == first_annotations
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        again = open_corpus(folder, {})                       # and it is healthy again
    assert "unusable" not in caplog.text and again.report.passages_annotated == 0


def test_incompatible_index_is_rebuilt(tmp_path, caplog):
    folder = corpus(tmp_path)
    open_corpus(folder, {})
    mpath = folder / ".askfiles" / "manifest.json"
    manifest = json.loads(mpath.read_text())
    assert manifest["version"] == store.VERSION
    assert manifest["spacy_model"] == nlp.model_name()
    manifest["spacy_model"] = "xx_other_pipeline"
    mpath.write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        built = open_corpus(folder, {})
    assert "spacy_model" in caplog.text
    assert built.report.passages_annotated == len(built.passages)


def test_crash_while_writing_leaves_the_previous_index(tmp_path, monkeypatch, caplog):
    folder = corpus(tmp_path)
    open_corpus(folder, {})
    mpath = folder / ".askfiles" / "manifest.json"
    old_manifest = mpath.read_bytes()
    write(folder, "new.txt", "Bell ringing\n\nThe tenor bell of the abbey weighs two tons.\n")
    calls = {"n": 0}
    real = store._write_npy

    def dying(path, arr):
        calls["n"] += 1
        if calls["n"] == 3:
            path.write_bytes(b"\x93NUMPY half")     # a partial file, then the 'crash'
            raise OSError(28, "No space left on device")
        real(path, arr)

    monkeypatch.setattr(store, "_write_npy", dying)
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        built = open_corpus(folder, {})
    assert "could not save" in caplog.text
    assert any(d.id == "new.txt" for d in built.documents)     # served from memory
    assert mpath.read_bytes() == old_manifest                  # the old index stands
    monkeypatch.undo()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        again = open_corpus(folder, {})
    assert "unusable" not in caplog.text
    assert again.report.passages_annotated == 1               # only new.txt
    gens = {p.name for p in (folder / ".askfiles").iterdir() if p.name.startswith("gen-")}
    manifest = json.loads(mpath.read_text())                   # the half-written one is gone
    assert gens == store.layout.referenced(manifest) and len(manifest["segments"]) == 2


def test_index_files_are_json_and_plain_numpy(tmp_path):
    folder = corpus(tmp_path)
    open_corpus(folder, {})
    gen = _data_file(folder, "tokens").parent
    names = sorted(str(p.relative_to(gen)) for p in gen.rglob("*") if p.is_file())
    assert all(n.endswith((".json", ".npy")) or n == "texts.txt" for n in names)
    assert {"terms.npy", "post_rows.npy", "post_tf.npy", "documents.json"} <= set(names)
    for p in gen.rglob("*.npy"):
        arr = np.load(p, allow_pickle=False)
        assert arr.dtype != object
    for p in gen.rglob("*.json"):
        json.loads(p.read_text())
    (gen / "texts.txt").read_text("utf-8")


def test_index_dir_setting_and_off(tmp_path, caplog):
    folder = corpus(tmp_path)
    elsewhere = tmp_path / "idx"
    built = open_corpus(folder, {"index_dir": str(elsewhere)})
    assert (elsewhere / "manifest.json").exists() and not (folder / ".askfiles").exists()
    assert built.report.index_dir == str(elsewhere)
    assert open_corpus(folder, {"index_dir": str(elsewhere)}).report.passages_annotated == 0
    # Another corpus pointed at the same index folder does not reuse the wrong documents.
    other = tmp_path / "other"
    write(other, "x.txt", "Just one line about kites.")
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        b2 = open_corpus(other, {"index_dir": str(elsewhere)})
    assert [d.id for d in b2.documents] == ["x.txt"] and "built for corpus" in caplog.text
    off = open_corpus(folder, {"index_dir": "off"})
    assert off.report.index_dir is None and off.report.passages_annotated > 0


def _segment_names(folder: Path) -> list[str]:
    manifest = json.loads((folder / ".askfiles" / "manifest.json").read_text())
    return [s["name"] for s in manifest["segments"]]


@pytest.mark.parametrize("how", ["mv", "cp -r"])
def test_a_moved_or_copied_corpus_reuses_its_saved_index(tmp_path, caplog, capsys, how):
    """The index records its corpus folder; opened elsewhere it was rebuilt and every
    passage annotated again. Now its files are compared by content, and kept."""
    import shutil

    folder = corpus(tmp_path)
    age_all(folder)
    first = open_corpus(folder, {})
    segments = _segment_names(folder)
    moved = tmp_path / "elsewhere" / "docs"
    moved.parent.mkdir()
    if how == "mv":
        folder.rename(moved)
    else:   # cp -r: new modification times
        shutil.copytree(folder, moved, copy_function=shutil.copy)
        assert (moved / "mill.txt").stat().st_mtime_ns != (folder / "mill.txt").stat().st_mtime_ns
    before = nlp.ANNOTATED
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        assert cli.main(["index", "--corpus", str(moved)]) == 0
    out = capsys.readouterr().out
    assert nlp.ANNOTATED == before
    n = first.report.passages
    assert out.startswith(f"3 documents, {n} passages (0 annotated now, {n} reused); ")
    assert f"moved: the index was built for {folder.resolve()}; files were compared by " \
           "content, and unchanged ones reused" in out
    assert "rebuilt:" not in out
    assert f"was built for corpus {str(folder.resolve())!r}, not {moved.resolve()} " \
           "(moved or copied?)" in caplog.text
    assert _segment_names(moved) == segments                 # no segment written again
    # The manifest now names the new folder: the next start reads nothing.
    built = open_corpus(moved, {})
    r = built.report
    assert (r.files_read, r.passages_annotated, r.moved_from) == (0, 0, None)
    assert r.version == first.report.version                 # the same documents
    assert [d.text for d in built.documents] == [d.text for d in first.documents]
    assert built.passages == first.passages
    assert list(built.annotations) == list(first.annotations)
    if how == "cp -r":   # the original keeps its own index
        orig = open_corpus(folder, {}).report
        assert (orig.files_read, orig.passages_annotated, orig.moved_from) == (0, 0, None)


def test_a_moved_corpus_is_compared_by_content_not_size_and_time(tmp_path):
    folder = corpus(tmp_path)
    age_all(folder)
    open_corpus(folder, {})
    moved = tmp_path / "moved"
    folder.rename(moved)
    path = moved / "mill.txt"
    st = path.stat()
    path.write_text(DOC_C.replace("six hundred", "two hundred"))   # same size, same time
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    before = nlp.ANNOTATED
    built = open_corpus(moved, {})
    assert built.report.passages_annotated == nlp.ANNOTATED - before == 1
    assert "two hundred weavers" in next(d.text for d in built.documents if d.id == "mill.txt")


def test_unusable_index_folder_falls_back_to_memory(tmp_path, caplog):
    folder = corpus(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        built = open_corpus(folder, {"index_dir": str(blocker / "idx")})
    assert "in memory only" in caplog.text and built.report.documents == 3


def test_skipped_files_are_reported_and_not_reread(tmp_path):
    folder = corpus(tmp_path)
    write(folder, "broken.md", b"\xff\xfe\x00bad")
    write(folder, "slides.pptx", b"PK")
    age_all(folder)
    first = open_corpus(folder, {})
    assert {s.path for s in first.skipped} == {"broken.md", "slides.pptx"}
    again = open_corpus(folder, {})
    assert {s.path: s.reason for s in again.skipped} == {s.path: s.reason for s in first.skipped}
    assert again.report.files_read == 0


def test_engine_from_folder_goes_through_the_store(tmp_path):
    from askfiles.engine import Engine

    folder = corpus(tmp_path)
    e1 = Engine.from_folder(folder, {"poll_seconds": 0})
    before = nlp.ANNOTATED
    e2 = Engine.from_folder(folder, {"poll_seconds": 0})
    assert nlp.ANNOTATED == before and e2.corpus.report.passages_annotated == 0
    assert e1.version == e2.version
    r = e2.ask("When did the Ashworth cotton mill close?")
    assert "1968" in r.answers[0].answer and r.index_version == e2.version


def test_cli_index_prints_a_summary(tmp_path, capsys):
    from askfiles.cli import main

    folder = corpus(tmp_path)
    write(folder, "photo.jpg", b"\xff\xd8\xff")
    assert main(["index", "--corpus", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "3 documents" in out and "annotated now" in out
    assert "skipped photo.jpg: unsupported file type '.jpg'" in out
    assert main(["index", "--corpus", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "(0 annotated now" in out


def test_progress_line_reports_passages_per_second():
    import io

    from askfiles.cli import _ProgressLine

    buf = io.StringIO()
    line = _ProgressLine(buf)
    line.tty = True
    line({"phase": "annotate", "passages": 50, "total_passages": 200, "rate": 48.7,
          "processes": 2})
    line.close()
    text = buf.getvalue()
    assert "50/200 passages" in text and "49 passages/s" in text and "2 processes" in text


def test_parallel_annotation_above_threshold(monkeypatch):
    assert store._n_process({}, store.PARALLEL_MIN - 1) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert store._n_process({}, store.PARALLEL_MIN) == 2
    assert store._n_process({"annotate_processes": 1}, 10**6) == 1


# -- the compact saved corpus: passage table, saved BM25, memory maps ---------

def test_passage_table_is_a_sequence_with_exact_values():
    from askfiles.records import Document, Passage

    docs = (Document("a.txt", "A", "Alpha one.\n\nAlpha two."),
            Document("b.txt", "B", "Beta \U0001F600 only."))
    rows = np.array([[0, 0, 10], [0, 12, 22], [1, 0, 12]])
    table = store.PassageTable.of_rows(docs, rows)
    expected = [Passage("a.txt", 0, 0, 10, "Alpha one."), Passage("a.txt", 1, 12, 22, "Alpha two."),
                Passage("b.txt", 0, 0, 12, "Beta \U0001F600 only.")]
    assert len(table) == 3
    assert [table[i] for i in range(3)] == expected == list(table)
    assert table[-1] == expected[-1] and table[1:] == expected[1:]
    assert table == expected and table == tuple(expected)
    assert table.text(1) == "Alpha two." and table.rows().tolist() == rows.tolist()
    with pytest.raises(IndexError):
        table[3]
    with pytest.raises(IndexError):
        table[-4]
    assert list(store.PassageTable.of_rows(docs, np.zeros((0, 3), np.int64))) == []


def _mapped(a) -> bool:
    """True when the array's memory is a file mapping (possibly through views)."""
    import mmap

    while a is not None:
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = getattr(a, "base", None)
    return False


def test_built_corpus_is_compact_and_memory_mapped(tmp_path):
    folder = corpus(tmp_path)
    first = open_corpus(folder, {})
    assert isinstance(first.passages, store.PassageTable)
    for built in (first, open_corpus(folder, {})):
        assert all(_mapped(a) for a in built.annotations.arrays.values())
        for p in built.passages:
            doc = next(d for d in built.documents if d.id == p.doc_id)
            assert p.text == doc.text[p.start:p.end]


def _hits(index, questions):
    from askfiles.index import terms

    return [index.search(terms(q), 8) for q in questions] + \
        [index.scores(terms(q)).tolist() for q in questions] + \
        [[index.idf(t) for t in terms(q)] for q in questions]


QUESTIONS = ["When did the otter return to the Tamar?", "What do otters eat?",
             "When is the lantern festival held in Hoi An?", "When did the mill close?",
             "How many weavers did the Ashworth mill employ?", "zebra unknownword"]


@pytest.mark.parametrize("threshold", [20000, 0])
def test_saved_bm25_gives_the_hits_of_a_fresh_index(tmp_path, threshold):
    from askfiles.index import PassageIndex, terms

    folder = corpus(tmp_path)
    cfg = {"sparse_threshold": threshold}
    first = open_corpus(folder, cfg)
    again = open_corpus(folder, cfg)
    fresh = PassageIndex([terms(p.text) for p in again.passages], threshold)
    assert again.index.kind == fresh.kind == ("rank-bm25" if threshold else "sparse")
    assert _hits(first.index, QUESTIONS) == _hits(again.index, QUESTIONS) \
        == _hits(fresh, QUESTIONS)
    # an update: one file changed, one removed, one added; BM25 rebuilt from saved terms
    write(folder, "mill.txt", DOC_C.replace("1968", "1971") + "\nThe looms went to Oldham.\n")
    (folder / "otters.txt").unlink()
    write(folder, "bells.txt", "Bell ringing\n\nThe tenor bell of the abbey weighs two tons.\n")
    before = store.TOKENIZED
    updated = open_corpus(folder, cfg)
    assert store.TOKENIZED - before == updated.report.passages_annotated == 2
    fresh = PassageIndex([terms(p.text) for p in updated.passages], threshold)
    qs = QUESTIONS + ["How heavy is the tenor bell?", "Where did the looms go?"]
    assert _hits(updated.index, qs) == _hits(fresh, qs)
    assert _hits(open_corpus(folder, cfg).index, qs) == _hits(fresh, qs)
    assert updated.index.idf("otter") == 0.0      # gone with its document


def test_warm_restart_annotates_and_tokenizes_nothing(tmp_path, monkeypatch):
    from askfiles import index as index_mod
    from askfiles.engine import Engine

    folder = corpus(tmp_path)
    e1 = Engine.from_folder(folder, {"poll_seconds": 0})
    calls = {"terms": 0, "annotate": 0}
    real_terms, real_annotate = index_mod.terms, nlp.annotate

    def counting_terms(text):
        calls["terms"] += 1
        return real_terms(text)

    def counting_annotate(*a, **k):
        calls["annotate"] += 1
        return real_annotate(*a, **k)

    for mod in (index_mod, store.derive, __import__("askfiles.engine", fromlist=["terms"])):
        monkeypatch.setattr(mod, "terms", counting_terms)
    monkeypatch.setattr(nlp, "annotate", counting_annotate)
    before = store.TOKENIZED
    e2 = Engine.from_folder(folder, {"poll_seconds": 0})
    assert calls == {"terms": 0, "annotate": 0} and store.TOKENIZED == before
    assert e2.corpus.report.passages_annotated == 0
    q = "When did the Ashworth cotton mill close?"
    assert e2.ask(q).answers == e1.ask(q).answers


def test_index_of_the_previous_format_is_rebuilt(tmp_path, caplog):
    """A version-1 index (one whole generation, no segments) is rebuilt with a warning."""
    folder = corpus(tmp_path)
    first = open_corpus(folder, {})
    mpath = folder / ".askfiles" / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest["version"] = 1
    mpath.write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="askfiles.store"):
        again = open_corpus(folder, {})
    assert "version=1" in caplog.text and again.report.rebuilt
    assert again.report.passages_annotated == len(again.passages)
    assert [d.text for d in again.documents] == [d.text for d in first.documents]
    assert _hits(again.index, QUESTIONS) == _hits(first.index, QUESTIONS)


def test_index_version_is_saved_and_a_warm_start_hashes_no_text(tmp_path, monkeypatch):
    """``index_version`` is kept in the manifest: an unchanged restart (and a reader of
    the published index) takes it from there instead of hashing every document."""
    import json

    from askfiles import records
    from askfiles.engine import Engine
    from askfiles.published import published_engine

    folder = corpus(tmp_path)
    for p in folder.rglob("*.*"):
        age(p)
    e1 = Engine.from_folder(folder, {"poll_seconds": 0})
    assert e1.version == records.corpus_version(e1.corpus.documents)
    manifest = json.loads((folder / ".askfiles" / "manifest.json").read_text())
    assert manifest["index_version"] == e1.version
    real = records.corpus_version
    calls = []

    def counting(docs):
        calls.append(len(docs))
        return real(docs)

    monkeypatch.setattr(__import__("askfiles.engine", fromlist=["x"]), "corpus_version",
                        counting)
    e2 = Engine.from_folder(folder, {"poll_seconds": 0})
    e3 = published_engine(folder, {"poll_seconds": 0})
    assert calls == [] and e2.version == e3.version == e1.version
    write(folder, "mill.txt", DOC_C + "\n\nThe mill reopened in 1990.\n")
    e4 = Engine.from_folder(folder, {"poll_seconds": 0})
    # An update works the version out from the texts' hashes saved in the segments.
    assert calls == [] and e4.version != e1.version
    assert e4.version == real(e4.corpus.documents)


def test_a_file_gone_between_the_walk_and_its_read_is_not_skipped(tmp_path, monkeypatch,
                                                                  caplog):
    """An editor's temporary file (sed -i's sedXXXXXX, vim's 4913) or a file deleted
    during a long build is listed by the walk and gone when read: it is simply not
    there. (Before: 'skipped sedAb12Cd: unreadable (No such file or directory)' was
    warned, and /healthz counted it as skipped until the next change.)"""
    from askfiles.store import build

    (tmp_path / "good.txt").write_text("Harbour\n\nThe harbour was rebuilt in 1887.\n")
    (tmp_path / "sedAb12Cd").write_text("Harbour\n\nThe harbour was rebuilt in 1888.\n")
    (tmp_path / "4913").write_text("")
    real = build.corpus_paths

    def walk_then_remove(root, *args, **kwargs):
        paths = real(root, *args, **kwargs)
        (tmp_path / "4913").unlink()               # gone before its lstat
        return paths

    real_read = build.read_file

    def read_after_removal(path, *args, **kwargs):
        if path.name == "sedAb12Cd":
            path.unlink()                          # gone after its lstat, before its read
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(build, "corpus_paths", walk_then_remove)
    monkeypatch.setattr(build, "read_file", read_after_removal)
    with caplog.at_level(logging.WARNING, logger="askfiles"):
        built = open_corpus(tmp_path)
    assert [d.id for d in built.documents] == ["good.txt"]
    assert built.skipped == () and not caplog.records, caplog.text
    assert sorted(built.report.files) == ["good.txt"]
    assert not corpus_changed(tmp_path, built.report.files)
