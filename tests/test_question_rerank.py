"""Pure logic: expected answer types, passage evidence and span scoring (no spaCy)."""

import json
import math

import numpy as np

import pytest

from askfiles.question import expected_types, gap_preposition, is_about_doc, wh_and_head
from askfiles.rerank import (MODEL_DIR, AnswerModel, PassageEvidence, overlap_share,
                             passage_score)


@pytest.mark.parametrize("words, pos, wh, head", [
    ("When did he confess ?", "ADV AUX PRON VERB PUNCT", "when", ""),
    ("How many years did he spy ?", "SCONJ ADJ NOUN AUX PRON VERB PUNCT", "how many", "years"),
    ("Which university did he attend ?", "DET NOUN AUX PRON VERB PUNCT", "which", "university"),
    ("In which city did he confess ?", "ADP DET NOUN AUX PRON VERB PUNCT", "which", "city"),
    ("What is the name of the river ?", "PRON AUX DET NOUN ADP DET NOUN PUNCT", "what", "name"),
    ("Tell me about it", "VERB PRON ADP PRON", "", ""),
])
def test_wh_and_head(words, pos, wh, head):
    # lemmas here are the lowercased words, so the head comes back as written
    w = words.split()
    assert wh_and_head(w, [x.lower() for x in w], pos.split()) == (wh, head)


@pytest.mark.parametrize("wh, head, types", [
    ("who", "", ("PERSON", "ORG", "NORP")),
    ("when", "", ("DATE", "TIME")),
    ("where", "", ("GPE", "LOC", "FAC", "ORG")),
    ("how many", "", ("CARDINAL", "QUANTITY", "DATE")),
    ("how much", "", ("MONEY", "QUANTITY", "CARDINAL", "PERCENT")),
    ("what", "year", ("DATE", "TIME")),
    ("which", "university", ("ORG",)),
    ("which", "city", ("GPE", "LOC", "FAC")),
    ("what", "colour", ()),
    ("why", "", ()),
])
def test_expected_types(wh, head, types):
    assert expected_types(wh, head) == types


def test_passage_evidence_breaks_bm25_ties():
    plain = PassageEvidence(bm25=1.0, expected_entities=0, question_entities=0.0,
                            years=0.0, best_sentence=0.5)
    with_date = PassageEvidence(bm25=1.0, expected_entities=1, question_entities=1.0,
                                years=1.0, best_sentence=0.5)
    assert passage_score(with_date) > passage_score(plain)
    weaker_bm25 = PassageEvidence(bm25=0.5, expected_entities=0, question_entities=0.0,
                                  years=0.0, best_sentence=0.5)
    assert passage_score(plain) > passage_score(weaker_bm25)


def tiny_model(tmp_path):
    """An AnswerModel trained on a toy problem: the right span is the one whose type fits."""
    import lightgbm as lgb

    from askfiles.features import ANSWER_FEATURES, SPAN_FEATURES

    rng = np.random.default_rng(0)
    n, groups = 400, 100
    x = np.zeros((n, len(SPAN_FEATURES)))
    j = SPAN_FEATURES.index("type_match")
    x[:, j] = rng.integers(0, 2, n)
    y = x[:, j].astype(int)
    params = {"objective": "lambdarank", "min_data_in_leaf": 5, "verbose": -1,
              "num_threads": 1, "seed": 1, "deterministic": True}
    ranker = lgb.train(params, lgb.Dataset(x, y, group=[4] * groups,
                                           feature_name=list(SPAN_FEATURES)), 20)
    xa = np.zeros((n, len(ANSWER_FEATURES)))
    k = ANSWER_FEATURES.index("unseen")
    xa[:, k] = rng.random(n)
    conf = lgb.train({"objective": "binary", "min_data_in_leaf": 5, "verbose": -1,
                      "num_threads": 1, "seed": 1, "deterministic": True},
                     lgb.Dataset(xa, (xa[:, k] < 0.5).astype(int),
                                 feature_name=list(ANSWER_FEATURES)), 20)
    ranker.save_model(str(tmp_path / "ranker.txt"))
    conf.save_model(str(tmp_path / "confidence.txt"))
    spec = {"span_features": list(SPAN_FEATURES), "vocab": {"wh": ["who", "what"]},
            "answer_features": list(ANSWER_FEATURES), "answer_vocab": {}, "threshold": 0.4}
    (tmp_path / "model.json").write_text(json.dumps(spec))
    return AnswerModel.load(tmp_path)


def test_answer_model_ranks_confides_and_explains(tmp_path):
    model = tiny_model(tmp_path)
    assert model.threshold == 0.4
    good, bad = model.score([{"type_match": 1.0, "wh": "who"}, {"type_match": 0.0, "wh": "who"}])
    assert good > bad
    conf = model.confidence([{"unseen": 0.0}, {"unseen": 1.0}])
    assert 0.0 <= conf[1] < 0.5 < conf[0] <= 1.0
    top = model.contributions({"type_match": 1.0, "wh": "who"})
    assert top[0][0] == "type_match" and top[0][1] > 0


def test_sentence_model_gives_every_span_its_sentences_verdict(tmp_path):
    import lightgbm as lgb

    from askfiles.features import SENTENCE_FEATURES, SPAN_FEATURES, STACKED

    model = tiny_model(tmp_path)
    # A toy sentence model: the sentence that matches more of the question is right;
    # a toy ranker that trusts it.
    rng = np.random.default_rng(0)
    xs = np.zeros((400, len(SENTENCE_FEATURES)))
    m = SENTENCE_FEATURES.index("sent_match")
    xs[:, m] = rng.random(400)
    params = {"objective": "lambdarank", "min_data_in_leaf": 5, "verbose": -1,
              "num_threads": 1, "seed": 1, "deterministic": True}
    model.sentences = lgb.train(params, lgb.Dataset(xs, (xs[:, m] > 0.5).astype(int),
                                                    group=[4] * 100), 20)
    x = np.zeros((400, len(SPAN_FEATURES)))
    r = SPAN_FEATURES.index("sent_model_rank")
    x[:, r] = rng.integers(0, 3, 400)
    model.ranker = lgb.train(params, lgb.Dataset(x, (x[:, r] == 0).astype(int),
                                                 group=[4] * 100,
                                                 feature_name=list(SPAN_FEATURES)), 20)
    rows = [{"wh": "who", "sent_rank": 0.0, "sent_match": 0.2},
            {"wh": "who", "sent_rank": 1.0, "sent_match": 0.9},
            {"wh": "who", "sent_rank": 1.0, "sent_match": 0.9}]
    weak, strong, strong2 = model.score(rows)
    assert strong > weak and strong == strong2
    assert all(set(STACKED) <= set(row) for row in rows)     # --explain reads them
    assert (rows[1]["sent_model"], rows[1]["sent_model_rank"]) == (0.0, 0.0)
    assert rows[0]["sent_model"] < 0 and rows[0]["sent_model_rank"] == 1.0
    assert rows[1]["sent_share"] == rows[2]["sent_share"] > 0.5 > rows[0]["sent_share"]


def test_shipped_model_is_text_not_pickle():
    spec = json.loads((MODEL_DIR / "model.json").read_text())
    assert 0.0 <= spec["threshold"] <= 1.0
    for name in ("sentence.txt", "ranker.txt", "confidence.txt"):
        head = (MODEL_DIR / name).read_text()[:4]
        assert head == "tree", name      # LightGBM's own text format
    model = AnswerModel.load()
    assert model.span_names == spec["span_features"]
    assert model.sentences is not None and spec["sentence_features"]


def test_overlapping_spans_pool_their_probability():
    places = [(2.0, (0, (3, 6))), (1.0, (0, (4, 6))), (1.0, (0, (8, 9))), (1.0, (1, (3, 6)))]
    total = math.exp(2) + 3 * math.exp(1)
    assert overlap_share(places, 0) == pytest.approx((math.exp(2) + math.exp(1)) / total)
    assert overlap_share(places, 2) == pytest.approx(math.exp(1) / total)


@pytest.mark.parametrize("words, pos, deps, heads, prep", [
    # "In which city did he confess ?": "in" governs the wh-phrase
    ("In which city did he confess ?", "ADP DET NOUN AUX PRON VERB PUNCT",
     "prep det pobj aux nsubj ROOT punct", [5, 2, 0, 5, 5, 5, 5], "in"),
    # "What did he work as at Bletchley Park ?": "as" is stranded, "at" has an object
    ("What did he work as at Bletchley Park ?", "PRON AUX PRON VERB ADP ADP PROPN PROPN PUNCT",
     "dobj aux nsubj ROOT prep prep compound pobj punct", [3, 3, 3, 3, 3, 3, 7, 5, 3], "as"),
    ("Who recruited him ?", "PRON VERB PRON PUNCT", "nsubj ROOT dobj punct", [1, 1, 1, 1], ""),
])
def test_gap_preposition(words, pos, deps, heads, prep):
    assert gap_preposition(words.split(), pos.split(), deps.split(), heads) == prep


@pytest.mark.parametrize("lemmas, pos, about", [
    ("when be the article publish ?", "ADV AUX DET NOUN VERB PUNCT", True),
    ("who write this document ?", "PRON VERB DET NOUN PUNCT", True),
    ("who release the declassify mi5 file ?", "PRON VERB DET VERB PROPN NOUN PUNCT", False),
    ("when do cairncross confess ?", "ADV AUX PROPN VERB PUNCT", False),
])
def test_is_about_doc(lemmas, pos, about):
    assert is_about_doc(lemmas.split(), pos.split()) is about


def test_tree_distances_count_parse_edges_not_words():
    from askfiles.extract import tree_distances
    from askfiles.records import Annotation

    # "Cairncross confessed on 16 February 1964 in Cleveland ."
    heads = [1, 1, 1, 5, 5, 2, 1, 6, 1]
    ann = Annotation(starts=tuple(range(9)), ends=tuple(range(1, 10)), lemmas=("x",) * 9,
                     pos=("X",) * 9, deps=("dep",) * 9, heads=tuple(heads),
                     sents=((0, 9),), ents=(), chunks=())
    dist = tree_distances(ann, (0, 9), (1,))
    assert dist[7] == 2      # Cleveland <- in <- confessed
    assert dist[5] == 2      # 1964 <- on <- confessed
    assert dist[3] == 3
    assert tree_distances(ann, (0, 9), ()) == {}


def test_proper_noun_runs_are_the_names_in_a_question():
    from askfiles.question import proper_noun_runs

    text = "When did Kim Philby defect to Moscow?"
    tokens = [(0, 4, "ADV"), (5, 8, "AUX"), (9, 12, "PROPN"), (13, 19, "PROPN"),
              (20, 26, "VERB"), (27, 29, "ADP"), (30, 36, "PROPN"), (36, 37, "PUNCT")]
    assert [text[a:b] for a, b in proper_noun_runs(tokens)] == ["Kim Philby", "Moscow"]
    assert proper_noun_runs([]) == []


class _Trees:
    """A stand-in booster: tree j's output for a span is ``out[id][j]``, where the
    span's id is its ``n_tokens`` value; records which trees each call summed."""

    def __init__(self, out, id_col):
        self.out, self.id_col, self.calls = np.asarray(out, dtype=float), id_col, []

    def predict(self, x, start_iteration=0, num_iteration=-1, **_):
        stop = self.out.shape[1] if num_iteration <= 0 else start_iteration + num_iteration
        self.calls.append((len(x), start_iteration, stop))
        return self.out[x[:, self.id_col].astype(int), start_iteration:stop].sum(axis=1)


class _Flat:
    def predict(self, x, **_):
        return np.zeros(len(x))


@pytest.mark.parametrize("cascade, calls, scores", [
    # the first tree picks spans 0 and 2; only they get the other two trees
    ([1, 2], [(4, 0, 1), (2, 1, 3)], [-1.0, -2.5, 1.5, -4.0]),
    # a model written before the cascade: every tree over every span
    (None, [(4, 0, 3)], [-1.0, 9.5, 1.5, -1.0]),
])
def test_span_ranker_scores_with_the_cascade_its_model_was_learned_with(cascade, calls, scores):
    spec = json.loads((MODEL_DIR / "model.json").read_text())
    spec["ranked_sentences"] = None
    if cascade is None:
        spec.pop("cascade", None)
    else:
        spec["cascade"] = cascade
    ranker = _Trees([[2.0, -3.0, 0.0], [0.5, 9.0, 0.0], [1.0, 0.0, 0.5], [-1.0, 0.0, 0.0]],
                    spec["span_features"].index("n_tokens"))
    model = AnswerModel(ranker, _Flat(), spec, sentences=_Flat())
    rows = [{"n_tokens": float(i), "sent_rank": float(i // 2), "wh": "who"} for i in range(4)]
    assert model.score(rows).tolist() == scores
    assert ranker.calls == calls


HASHING_PROBE = """
from askfiles.extract import SentenceMatch, _window_features, match_sentences
from askfiles.records import Annotation

toks = ["alpha", "beta", "gamma", "delta", "omega", "", "eta", "theta", "iota", "kappa"]
idf = {"alpha": 0.1, "beta": 0.2, "gamma": 0.3, "delta": 0.7, "omega": 1.1,
       "eta": 0.1, "theta": 0.2, "iota": 0.3, "kappa": 0.7}
n = len(toks)
ann = Annotation(starts=tuple(range(n)), ends=tuple(range(1, n + 1)), lemmas=("x",) * n,
                 pos=("X",) * n, deps=("dep",) * n, heads=(0,) * n, sents=((0, n),),
                 ents=(), chunks=())
sm = next(match_sentences(None, 0, ann, toks, idf))
f = {}
_window_features(f, sm, toks, 5, 6, idf)
print(repr(sm.match), sorted(f.items()))
"""


def test_sentence_evidence_does_not_depend_on_string_hashing():
    # Each process hashes strings with its own seed, and a set of words iterates
    # in that order: sums over one must not follow it, or the same question ranks
    # sentences differently from one server worker to the next (and `make model`
    # learns from a different collection every run).
    import os
    import subprocess
    import sys

    outs = set()
    for seed in range(16):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        run = subprocess.run([sys.executable, "-c", HASHING_PROBE], env=env,
                             capture_output=True, text=True, check=True)
        outs.add(run.stdout)
    assert len(outs) == 1, outs
