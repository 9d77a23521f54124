"""The segment index: an update writes one new segment, deletions hide passages,
merges answer identically, and scores equal a fresh build of the same corpus."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from pathlib import Path

import numpy as np
import pytest

from askfiles import nlp, store
from askfiles.index import terms
from askfiles.records import Annotation
from askfiles.store import derive, merge, open_corpus, search
from docmaker import write

WORDS = ("harbour bridge mill otter lantern river tower abbey bell weaver loom "
         "festival granite quarry ferry beacon orchard cider salmon heron market "
         "chapel canal lock barge kiln pottery smithy forge").split()


def cheap(texts, setting="", batch_size=64, n_process=1, **_):
    """One token per word, one sentence, no entities: annotation is not under test here."""
    for t in texts:
        nlp.ANNOTATED += 1
        spans = [(m.start(), m.end()) for m in __import__("re").finditer(r"\S+", t)]
        n = len(spans)
        yield Annotation(tuple(a for a, _ in spans), tuple(b for _, b in spans),
                         tuple(t[a:b].lower() for a, b in spans), ("X",) * n, ("dep",) * n,
                         tuple(range(n)), ((0, n),) if n else (), (), ())


@pytest.fixture
def cheap_nlp(monkeypatch):
    monkeypatch.setattr(nlp, "annotate", cheap)


def text_of(rng: random.Random, name: str) -> str:
    paras = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))) + "."
             for _ in range(rng.randint(1, 4))]
    return f"{name}\n\n" + "\n\n".join(paras) + "\n"


def folder_digests(index: Path) -> dict[str, dict[str, str]]:
    """Every gen-* folder's files and their sha256."""
    return {g.name: {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in sorted(g.iterdir())}
            for g in index.iterdir() if g.name.startswith("gen-")}


def segments_of(index: Path) -> list[str]:
    return [s["name"] for s in json.loads((index / "manifest.json").read_text())["segments"]]


def same_hits(a, b, questions, k=10) -> None:
    """Same top-k passages (document, n) and scores to 1e-9, and the same idf."""
    for q in questions:
        qt = terms(q)
        ha, hb = a.index.search(qt, k), b.index.search(qt, k)
        assert [(a.passages[i].doc_id, a.passages[i].n) for i, _ in ha] == \
            [(b.passages[i].doc_id, b.passages[i].n) for i, _ in hb], q
        assert np.allclose([s for _, s in ha], [s for _, s in hb], rtol=0, atol=1e-9), q
        assert all(abs(a.index.idf(t) - b.index.idf(t)) < 1e-9 for t in qt)


def top_of_all_scores(sparse, questions, k=10) -> None:
    """top_k (float32 contenders, exact float64 scores) gives the best ``k`` of the
    float64 scores of every passage, the same floats, ties by position."""
    for q in questions:
        qt = terms(q)
        full = sparse.scores(qt)
        order = np.lexsort((np.arange(len(full)), -full))[:k]
        order = order[full[order] > 0]
        ids, vals = sparse.top_k(qt, k)
        assert ids.tolist() == order.tolist(), q
        assert vals.tobytes() == full[order].tobytes(), q


def fresh(folder: Path, tmp_path: Path, cfg: dict) -> store.Built:
    return open_corpus(folder, {**cfg, "index_dir": str(tmp_path / f"fresh{random.random()}")})


def test_an_edit_writes_one_segment_and_leaves_the_others_byte_identical(tmp_path, cheap_nlp,
                                                                         monkeypatch):
    monkeypatch.setattr(derive, "SEGMENT_PASSAGES", 10)
    rng = random.Random(1)
    folder = tmp_path / "corpus"
    for i in range(12):
        write(folder, f"d{i:02}.txt", text_of(rng, f"Doc {i}"))
    index = folder / ".askfiles"
    first = open_corpus(folder, {})
    segs = segments_of(index)
    assert len(segs) >= 2                         # the first build, in batches
    before = folder_digests(index)
    write(folder, "d03.txt", text_of(rng, "Doc 3 again") + "\nThe zeppelin hangar.\n")
    updated = open_corpus(folder, {})
    assert updated.report.files_read == 1
    after = folder_digests(index)
    new = set(segments_of(index)) - set(segs)
    assert len(new) == 1 and set(segments_of(index)) - new == set(segs)
    for name in segs:                             # unchanged segments: not rewritten
        assert after[name] == before[name]
    assert updated.index.search(terms("zeppelin hangar"), 3)[0][0] in \
        [i for i, p in enumerate(updated.passages) if p.doc_id == "d03.txt"]
    assert [d.id for d in updated.documents] == [d.id for d in first.documents]


def test_a_deleted_document_hides_its_passages_without_a_new_segment(tmp_path, cheap_nlp):
    folder = tmp_path / "corpus"
    write(folder, "a.txt", "Alpha\n\nThe zeppelin hangar at Cardington.\n")
    write(folder, "b.txt", "Beta\n\nThe granite quarry at Penryn.\n")
    for name in "cde":                            # (a fifth deleted: no rewrite, see merge)
        write(folder, f"{name}.txt", f"{name}\n\nThe {name} ferry crossing.\n")
    index = folder / ".askfiles"
    open_corpus(folder, {})
    segs = segments_of(index)
    (folder / "a.txt").unlink()
    built = open_corpus(folder, {"sparse_threshold": 0})
    assert segments_of(index) == segs             # only the live list changed
    assert [d.id for d in built.documents] == ["b.txt", "c.txt", "d.txt", "e.txt"]
    assert built.index.search(terms("zeppelin"), 5) == [] and built.index.idf("zeppelin") == 0
    assert [p.doc_id for p in built.passages] == ["b.txt", "c.txt", "d.txt", "e.txt"]
    assert built.index.search(terms("granite quarry"), 5)[0][0] == 0
    (folder / "b.txt").unlink()                   # two of five: the segment is rewritten
    built = open_corpus(folder, {"sparse_threshold": 0})
    [seg] = segments_of(index)
    assert seg not in segs and [d.id for d in built.documents] == ["c.txt", "d.txt", "e.txt"]


# few: terms with up to this many postings are weighed in one pass over all segments
# (SegmentedBM25._weigh_few), more segment by segment; 0 takes the second way always.
@pytest.mark.parametrize("threshold,few", [(0, search.FEW_POSTINGS), (0, 0), (20000, 0)])
def test_segmented_scores_equal_a_fresh_build_through_random_updates(tmp_path, cheap_nlp,
                                                                     monkeypatch, threshold, few):
    monkeypatch.setattr(search, "FEW_POSTINGS", few)
    monkeypatch.setattr(derive, "SEGMENT_PASSAGES", 15)
    monkeypatch.setattr(merge, "FACTOR", 3)       # merges happen within a few updates
    rng = random.Random(threshold + 7)
    folder = tmp_path / "corpus"
    names = [f"f{i:03}.txt" for i in range(30)]
    for name in names:
        write(folder, name, text_of(rng, name))
    cfg = {"sparse_threshold": threshold}
    questions = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
                 for _ in range(25)]
    built = open_corpus(folder, cfg)
    seen_segments, mapped = set(), set()
    for step in range(8):
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(names + [f"new{step}-{rng.randint(0, 99)}.txt"])
            if (folder / name).exists() and rng.random() < 0.3:
                (folder / name).unlink()
            else:
                write(folder, name, text_of(rng, name))
        built = open_corpus(folder, cfg)
        seen_segments |= set(segments_of(folder / ".askfiles"))
        other = fresh(folder, tmp_path, cfg)
        assert [d.id for d in built.documents] == [d.id for d in other.documents]
        assert list(built.passages) == list(other.passages)
        assert list(built.annotations) == list(other.annotations)
        same_hits(built, other, questions)
        again = open_corpus(folder, cfg)          # as loaded from the saved segments
        same_hits(again, other, questions)
        if threshold == 0:
            top_of_all_scores(again.index.sparse, questions, k=3)
            # rank-bm25 (LuceneBM25) over a fresh build: the same scores, bit for bit
            plain = fresh(folder, tmp_path, {"sparse_threshold": 20000})
            for q in questions:
                assert [(again.passages[i].doc_id, again.passages[i].n, s)
                        for i, s in again.index.search(terms(q), 10)] == \
                    [(plain.passages[i].doc_id, plain.passages[i].n, s)
                     for i, s in plain.index.search(terms(q), 10)], q
        offsets = getattr(getattr(again.index, "sparse", None), "offsets", [])
        mapped |= {o is None for o in offsets}   # rows mapped by look-up or by addition
    assert len(seen_segments) > len(segments_of(folder / ".askfiles")) + 3
    # The segmented index (threshold 0) met segments of both kinds.
    assert mapped == ({True, False} if threshold == 0 else set())


def test_a_merge_answers_identically(tmp_path, cheap_nlp, monkeypatch):
    monkeypatch.setattr(derive, "SEGMENT_PASSAGES", 4)
    rng = random.Random(3)
    folder = tmp_path / "corpus"
    for i in range(20):
        write(folder, f"m{i:02}.txt", text_of(rng, f"M {i}"))
    cfg = {"sparse_threshold": 0}
    monkeypatch.setattr(merge, "FACTOR", 1000)    # no merge yet
    before = open_corpus(folder, cfg)
    index = folder / ".askfiles"
    n_before = len(segments_of(index))
    assert n_before > 4
    saved = store._load_saved(index, store.signatures(nlp_cfg()), folder)
    monkeypatch.setattr(merge, "FACTOR", 2)
    monkeypatch.setattr(derive, "SEGMENT_PASSAGES", 1000)  # the segments now count as small
    assert merge.plan(saved.view)
    write(folder, "m05.txt", text_of(rng, "M 5 edited"))
    after = open_corpus(folder, cfg)              # the update, then the merge
    assert len(segments_of(index)) < n_before
    other = fresh(folder, tmp_path, cfg)
    questions = [" ".join(rng.choice(WORDS) for _ in range(3)) for _ in range(20)]
    same_hits(after, other, questions)
    same_hits(open_corpus(folder, cfg), other, questions)
    assert list(after.annotations) == list(other.annotations)
    assert [d.id for d in after.documents] == [d.id for d in before.documents]


def nlp_cfg() -> dict:
    from askfiles.config import load_config

    return load_config({})


def test_a_reader_maps_only_the_segments_it_does_not_have(tmp_path, cheap_nlp, monkeypatch):
    from askfiles.published import load_published

    monkeypatch.setattr(derive, "SEGMENT_PASSAGES", 5)
    rng = random.Random(5)
    folder = tmp_path / "corpus"
    for i in range(10):
        write(folder, f"r{i}.txt", text_of(rng, f"R {i}"))
    open_corpus(folder, {})
    one = load_published(folder, {})
    write(folder, "r4.txt", text_of(rng, "R 4 edited"))
    open_corpus(folder, {})
    two = load_published(folder, {})
    old = {s.name: s for s in one.annotations.segments}
    new = {s.name: s for s in two.annotations.segments}
    kept = set(old) & set(new)
    assert kept and len(new) == len(kept) + 1
    assert all(new[name] is old[name] for name in kept)     # not loaded again
    assert [d.text for d in two.documents] == [d.text for d in open_corpus(folder, {}).documents]


def test_warming_common_terms_changes_no_score_and_keeps_the_cache_bound(tmp_path, cheap_nlp,
                                                                         monkeypatch):
    from askfiles.store import search

    monkeypatch.setattr(derive, "SEGMENT_PASSAGES", 6)
    rng = random.Random(11)
    folder = tmp_path / "corpus"
    for i in range(24):
        write(folder, f"w{i:02}.txt", text_of(rng, f"W {i}"))
    (folder / "w03.txt").unlink()                 # a deletion: live counts, not saved ones
    cfg = {"sparse_threshold": 0}
    questions = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
                 for _ in range(30)]
    cold = open_corpus(folder, cfg)
    expected = {q: cold.index.search(terms(q), 10) for q in questions}
    bm = open_corpus(folder, cfg).index.sparse
    df = {t: int(bm.df[i]) for t, i in bm.term_ids.items()}
    by_df = sorted((t for t in df if df[t]), key=lambda t: -df[t])
    # Room for the two commonest terms' postings (and a third only if as common).
    monkeypatch.setattr(search, "CACHE_POSTINGS", df[by_df[0]] + df[by_df[1]])
    stop = threading.Event()
    stop.set()
    assert bm.warm(stop) == 0 and not bm._cache   # told to stop: nothing weighed
    weighed = bm.warm()
    assert weighed == df[by_df[0]] + df[by_df[1]] == bm._cached
    assert set(bm._cache) == {bm.term_ids[t] for t in by_df[:2]}   # the commonest first
    for q in questions:                           # bit for bit what the first use gives
        assert bm.search(terms(q), 10) == expected[q], q
    assert bm._cached <= search.CACHE_POSTINGS


def bm25_of(weighted, size: int = 10):
    """A SegmentedBM25 over ``size`` passages whose every query weighs as ``weighted``
    ((count, rows, weights) per term): top_k's picking alone under test."""
    from askfiles.store.search import SegmentedBM25

    bm = SegmentedBM25.__new__(SegmentedBM25)
    bm.size, bm._local = size, threading.local()
    bm._weighted = lambda query: weighted
    return bm


def test_top_k_orders_scores_float32_cannot_tell_apart():
    """Contenders are picked in float32; the order comes from the exact float64 sums."""
    from askfiles.store.search import exact_sums

    one, more = 1.0, 1.0 + 2.0 ** -40            # the same float32, different float64
    weighted = [(1, np.array([2, 5, 7]), np.array([more, one, 0.25])),
                (1, np.array([7, 9]), np.array([0.75 + 2.0 ** -41, one]))]
    bm = bm25_of(weighted)
    ids, vals = bm.top_k(["q"], 2)
    assert ids.tolist() == [2, 7]                 # float32 alone: 2, 5 (all four 1.0)
    assert vals.tolist() == [more, 0.25 + (0.75 + 2.0 ** -41)]
    ids, vals = bm.top_k(["q"], 3)
    assert ids.tolist() == [2, 7, 5]              # 5 and 9 tie exactly: by position
    assert exact_sums([(g, w) for _, g, w in weighted], np.array([9, 7, 3])).tolist() == \
        [one, 0.25 + (0.75 + 2.0 ** -41), 0.0]


def test_top_k_keeps_a_passage_float32_rounding_puts_below_the_cut():
    """Passage 2's exact score is the higher, but its float32 sum rounds down twice and
    passage 1's rounds up: the margin below the cut keeps 2 a contender."""
    ulp = 2.0 ** -23                              # float32's step just above 1.0
    weighted = [(1, np.array([1, 2]), np.array([1.0, 1.0])),
                (1, np.array([1]), np.array([ulp / 2 + 2.0 ** -30])),  # 1 -> 1 + ulp
                (1, np.array([2]), np.array([0.49 * ulp])),            # 1 -> 1
                (1, np.array([2]), np.array([0.49 * ulp]))]            # 1 -> 1
    bm = bm25_of(weighted)
    ids, vals = bm.top_k(["q"], 1)
    assert ids.tolist() == [2]
    assert vals.tolist() == [1.0 + 0.49 * ulp + 0.49 * ulp]
