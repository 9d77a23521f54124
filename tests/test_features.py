"""Pure logic of the answer model's inputs: flattening, feature matrices, picking, datelines."""

import math

import numpy as np
import pytest

from askfiles.extract import dateline_end, resolved_entities
from askfiles.features import matrix
from askfiles.nlp import flatten
from askfiles.records import Annotation, collapse
from askfiles.rerank import answer_rows, pick_answers


def annotation(text, pos=None, ents=(), sents=None):
    """A hand-made Annotation: whitespace tokens, each its own head, given POS and entities."""
    starts, ends = [], []
    i = 0
    for word in text.split():
        i = text.index(word, i)
        starts.append(i)
        ends.append(i + len(word))
        i += len(word)
    n = len(starts)
    pos = pos.split() if pos else ["X"] * n
    return Annotation(tuple(starts), tuple(ends), tuple(text[a:b].lower() for a, b in zip(starts, ends)),
                      tuple(pos), ("dep",) * n, tuple(range(n)), tuple(sents or [(0, n)]),
                      tuple(ents), ())


def test_flatten_joins_wrapped_lines_and_maps_offsets_back():
    text = "the Corporation for National\n       Research Initiatives.\n\nNext  one."
    flat, offsets = flatten(text)
    assert flat == "the Corporation for National Research Initiatives.\n\nNext one."
    assert len(offsets) == len(flat) + 1
    # every kept character maps to the same character of the original
    assert all(flat[i] == text[offsets[i]] or flat[i] == " " for i in range(len(flat)))
    r = flat.index("Research")
    assert text[offsets[r]:offsets[r] + 8] == "Research"


def test_flatten_leaves_plain_text_alone():
    assert flatten("One line, single spaces.") == ("One line, single spaces.", None)


def test_collapse_shows_wrapped_answers_on_one_line():
    assert collapse("the Corporation for National\n       Research") == \
        "the Corporation for National Research"


def test_matrix_codes_categoricals_and_leaves_missing_numbers_at_zero():
    vocab = {"wh": ["what", "who"]}
    x = matrix([{"wh": "who", "a": 2.5}, {"wh": "whence"}], ["wh", "a", "b"], vocab)
    assert x[0].tolist() == [1.0, 2.5, 0.0]
    assert math.isnan(x[1][0]) and x[1][1] == 0.0


def test_span_rows_encode_each_sentence_once_as_the_merged_rows_would_be():
    from askfiles.features import STACKED, Encoder, SpanRows

    names = ["wh", "lab", "n_tokens", "q_terms", "sent_rank", "sent_model", "sent_share"]
    enc = Encoder(names, {"wh": ["who", "when"], "lab": ["DATE", "GPE"]})
    rows = SpanRows([{"lab": "GPE", "n_tokens": 2.0}, {"lab": "ORG", "n_tokens": 1.0},
                     {"n_tokens": 3.0, "not_a_column": 7.0}],
                    [{"wh": "when", "q_terms": 4.0, "sent_rank": 0.0},
                     {"wh": "when", "q_terms": 4.0, "sent_rank": 1.0}], [0, 1, 1])
    merged = [rows[i] for i in range(3)]
    assert merged[1] == {"lab": "ORG", "n_tokens": 1.0, "wh": "when", "q_terms": 4.0,
                         "sent_rank": 1.0}
    x = enc.rows_matrix(rows)
    assert np.array_equal(x, enc.matrix(merged), equal_nan=True)
    assert x[1].tolist()[2:5] == [1.0, 4.0, 1.0] and math.isnan(x[1, 1])  # ORG: unseen
    rows.stacked = np.array([[0.0, 0.7, 0.0], [-1.5, 0.2, 1.0], [-1.5, 0.1, 1.0]])
    assert rows[1]["sent_model"] == -1.5 and rows.get(2, "sent_share") == 0.1
    assert rows.get(0, "wh") == "when" and rows.get(0, "missing", 9.0) == 9.0
    assert enc.rows_matrix(rows)[:, 5:].tolist() == [[0.0, 0.7], [-1.5, 0.2], [-1.5, 0.1]]
    whole = SpanRows.of(merged)
    assert [whole[i] for i in range(3)] == merged
    assert np.array_equal(enc.rows_matrix(whole), enc.matrix(merged), equal_nan=True)
    assert set(STACKED) <= set(names) | {"sent_model_rank"}


def test_pick_answers_takes_one_answer_per_place():
    keys = ["the war office", "war office", "1964", "1964"]
    places = [(0, (3, 6)), (0, (4, 6)), (0, (9, 10)), (2, (1, 2))]
    scores = np.array([2.0, 3.0, 1.0, 0.5])
    order, picked = pick_answers(keys, places, scores, 5)
    assert order.tolist() == [1, 0, 2, 3]
    # "the war office" overlaps the better "war office"; the second "1964" repeats the first
    assert [i for _, i in picked] == [1, 2]


def test_answer_rows_carry_gap_and_share():
    feats = [{"wh": "who", "head_class": "none", "lab": "PERSON", "sent_match": 0.5,
              "q_terms": 3.0, "q_ents": 1.0, "n_tokens": 2.0}] * 2
    places = [(0, (0, 2)), (1, (0, 2))]
    scores = np.array([3.0, 1.0])
    order, picked = pick_answers(["a", "b"], places, scores, 5)
    rows = answer_rows(feats, places, scores, order, picked, 0.0, 7.5)
    assert rows[0]["gap"] == pytest.approx(2.0)
    assert rows[0]["share"] == pytest.approx(math.exp(3) / (math.exp(3) + math.exp(1)))
    assert rows[0]["bm25_raw"] == 7.5 and rows[1]["lab"] == "PERSON"


@pytest.mark.parametrize("text, end", [
    ("WASHINGTON (CNN) -- There are no plans , Obama said .", 3),
    ("LONDON , England (Reuters) — Prices rose .", 5),
    ("There are no plans -- yet , he said .", 0),       # no capitals before the dash
    ("Obama said -- firmly -- no .", 0),
])
def test_dateline_end(text, end):
    assert dateline_end(annotation(text), text) == end


def test_pronoun_stands_for_the_last_person_named():
    text = "Cairncross met Modin . He confessed in 1964 ."
    ann = annotation(text, "PROPN VERB PROPN PUNCT PRON VERB ADP NUM PUNCT",
                     ents=[(0, 1, "PERSON"), (2, 3, "PERSON"), (7, 8, "DATE")],
                     sents=[(0, 4), (4, 9)])
    assert resolved_entities(ann, text, (4, 9)) == ["modin", "cairncross"]
    assert resolved_entities(ann, text, (0, 4)) == []


def test_window_features_weigh_question_words_beside_the_span():
    from askfiles.extract import SentenceMatch, _window_features

    # "Cairncross confessed in Cleveland on a cold Sunday morning after years of denial"
    toks = ["cairncross", "confess", "", "cleveland", "", "", "cold", "sunday", "morn",
            "", "year", "", "denial"]
    idf = {"cairncross": 1.0, "confess": 2.0, "denial": 1.0}
    sm = SentenceMatch(0, (0, 13), 1.0, (0, 1, 12))
    f = {}
    _window_features(f, sm, toks, 3, 4, idf)     # the span "Cleveland"
    assert f["win_l3"] == 3.0 / 4.0          # "Cairncross confessed" within 3 tokens left
    assert f["win_r3"] == 0.0
    assert f["win_r8"] == 0.0                # "denial" is 9 tokens to the right
    assert (f["match_left"], f["match_right"]) == (2.0, 1.0)
    _window_features(f, sm, toks, 10, 11, idf)   # the span "years"
    assert f["win_r3"] == 1.0 / 4.0          # "denial" 2 tokens right of "years"
    assert f["win_l3"] == f["win_l8"] == 0.0  # "confessed" is 9 tokens to the left


def test_up_path_names_the_relations_up_to_a_question_word():
    from askfiles.extract import _up_path

    # "He confessed in Cleveland": Cleveland -pobj-> in -prep-> confessed (ROOT)
    ann = Annotation((0, 3, 13, 16), (2, 12, 15, 25), ("he", "confess", "in", "cleveland"),
                     ("PRON", "VERB", "ADP", "PROPN"), ("nsubj", "ROOT", "prep", "pobj"),
                     (1, 1, 1, 2), ((0, 4),), (), ())
    toks = ["", "confess", "", "cleveland"]
    assert _up_path(ann, toks, ("confess",), frozenset(), 3, 0, 4) == "pobj/prep"
    assert _up_path(ann, toks, ("recruit",), frozenset(), 3, 0, 4) == "-"


@pytest.mark.parametrize("words, deps, heads, rel", [
    ("Who recruited him ?", "nsubj ROOT dobj punct", [1, 1, 1, 1], "nsubj"),
    ("In which city did he confess ?", "prep det pobj aux nsubj ROOT punct",
     [5, 2, 0, 5, 5, 5, 5], "pobj"),
    ("How many years did he spy ?", "advmod amod dobj aux nsubj ROOT punct",
     [1, 2, 5, 5, 5, 5, 5], "dobj"),
    ("Tell me", "ROOT dobj", [0, 0], ""),
])
def test_wh_relation(words, deps, heads, rel):
    from askfiles.question import wh_relation

    assert wh_relation(words.split(), deps.split(), heads) == rel


@pytest.mark.parametrize("surface, kind", [
    ("france", "country"), ("the united states", "country"), ("the soviet union", "country"),
    ("ohio", "region"), ("california", "region"), ("cleveland", ""), ("the war office", ""),
])
def test_place_kind_tells_countries_and_regions_from_towns(surface, kind):
    from askfiles.places import place_kind

    assert place_kind(surface) == kind


def test_children_lists_dependents_inside_the_sentence():
    from askfiles.extract import children

    ann = Annotation((0, 3, 13, 16), (2, 12, 15, 25), ("he", "confess", "in", "cleveland"),
                     ("PRON", "VERB", "ADP", "PROPN"), ("nsubj", "ROOT", "prep", "pobj"),
                     (1, 1, 1, 2), ((0, 4),), (), ())
    assert children(ann, (0, 4)) == {1: (0, 2), 2: (3,)}
    assert children(ann, (2, 4)) == {2: (3,)}


def _span_rows(sent_ranks, **columns):
    """A span matrix in SPAN_FEATURES order: the given sentence of each row, other columns set."""
    from askfiles.features import SPAN_FEATURES

    col = {n: j for j, n in enumerate(SPAN_FEATURES)}
    x = np.zeros((len(sent_ranks), len(SPAN_FEATURES)))
    x[:, col["sent_rank"]] = sent_ranks
    for name, values in columns.items():
        x[:, col[name]] = values
    return x, col


def test_sentence_matrix_gives_one_row_per_sentence_with_its_best_and_count():
    from askfiles.features import SENTENCE_FEATURES, sentence_matrix

    x, col = _span_rows([0, 0, 2, 2, 2], sent_match=[0.5, 0.5, 0.9, 0.9, 0.9],
                        type_match=[1, -1, 0, 1, 1], is_q_entity=[0, 1, 0, 0, 1])
    sid, s = sentence_matrix(x, col)
    assert sid.tolist() == [0, 0, 1, 1, 1]          # spans of one sentence share a row
    names = list(SENTENCE_FEATURES)
    row = dict(zip(names, s[1]))
    assert row["sent_match"] == 0.9 and row["sent_rank"] == 2
    assert row["max_type_match"] == 1 and row["n_type_match"] == 2
    assert row["n_spans"] == 3 and row["n_q_entities"] == 1
    assert dict(zip(names, s[0]))["n_type_match"] == 1


def test_fill_stacked_gives_each_span_its_sentences_verdict():
    from askfiles.features import STACKED, fill_stacked, sentence_matrix

    x, col = _span_rows([0, 1, 1, 3])
    sid, _ = sentence_matrix(x, col)
    fill_stacked(x, col, sid, np.array([0.0, 2.0, 1.0]))
    got = x[:, [col[n] for n in STACKED]]
    assert got[:, 0].tolist() == [-2.0, 0.0, 0.0, -1.0]        # against the best sentence
    assert got[:, 2].tolist() == [2, 0, 0, 1]                  # the sentence's rank
    shares = np.exp([0.0, 2.0, 1.0]) / np.exp([0.0, 2.0, 1.0]).sum()
    assert got[:, 1] == pytest.approx(shares[[0, 1, 1, 2]])     # softmax over sentences


def test_ranker_scores_only_the_best_sentences_spans_and_the_opening_lines():
    from askfiles.features import ranked_rows

    x, col = _span_rows([0, 1, 1, 3, 4], sent_model_rank=[2, 0, 0, 3, 4],
                        doc_header=[0, 0, 0, 0, 1])
    assert ranked_rows(x, col, 3).tolist() == [0, 1, 2, 4]    # rank 3 left out, header kept
    assert ranked_rows(x, col, None).tolist() == [0, 1, 2, 3, 4]


def test_ranked_part_is_the_matrix_itself_when_every_row_is_ranked():
    from askfiles.features import ranked_part

    x, col = _span_rows([0, 1, 1, 3, 4], sent_model_rank=[2, 0, 0, 3, 4],
                        doc_header=[0, 0, 0, 0, 1])
    keep, rows = ranked_part(x, col, None)
    assert rows is x and keep.tolist() == [0, 1, 2, 3, 4]
    keep, rows = ranked_part(x, col, 3)
    assert keep.tolist() == [0, 1, 2, 4] and rows.tolist() == x[[0, 1, 2, 4]].tolist()


def test_spread_scores_puts_unscored_spans_after_every_scored_one_by_sentence_rank():
    from askfiles.features import spread_scores

    x, col = _span_rows([0, 1, 2, 3], sent_model_rank=[0, 5, 1, 4])
    out = spread_scores(x, col, np.array([0, 2]), np.array([0.5, -2.0]))
    assert out.tolist() == [0.5, -8.0, -2.0, -7.0]
    assert np.argsort(-out, kind="stable").tolist() == [0, 2, 3, 1]


def _trees(x, start, count):
    """A stand-in tree model: column j of ``x`` is tree j's output for that row."""
    stop = x.shape[1] if count is None else start + count
    return x[:, start:stop].sum(axis=1)


def test_cascade_scores_the_best_rows_of_the_first_trees_with_every_tree():
    from askfiles.features import cascade_scores

    # four rows, three trees; the first tree picks rows 0 and 2 (2.0 and 1.0)
    x = np.array([[2.0, -3.0, 0.0], [0.5, 9.0, 0.0], [1.0, 0.0, 0.5], [-1.0, 0.0, 0.0]])
    out = cascade_scores(_trees, x, first=1, rows=2)
    assert out[[0, 2]].tolist() == [-1.0, 1.5]            # every tree
    # the others: their first tree plus the lowest remainder (-3.0), below both
    assert out[[1, 3]].tolist() == [-2.5, -4.0]
    assert np.argmax(out) == 2        # row 1's 9.0 in tree 2 is never seen: the trade


@pytest.mark.parametrize("first, rows", [(0, 2), (1, 4), (1, 9)])
def test_cascade_scores_every_row_fully_when_off_or_few(first, rows):
    from askfiles.features import cascade_scores

    x = np.array([[2.0, -3.0, 0.0], [0.5, 9.0, 0.0], [1.0, 0.0, 0.5], [-1.0, 0.0, 0.0]])
    assert cascade_scores(_trees, x, first, rows).tolist() == [-1.0, 9.5, 1.5, -1.0]


def test_a_collection_from_another_feature_set_is_refused_with_a_way_out(tmp_path):
    from askfiles.learn import train

    stale = tmp_path / "old.npz"
    np.savez(stale, x=np.zeros((2, 81), dtype=np.float32), f1=np.zeros(2), em=np.zeros(2),
             sizes=np.array([2]), meta=np.array('{"questions": [], "vocab": {}}'))
    with pytest.raises(ValueError, match="collected by another version. Delete it"):
        train.load_collected(stale)


def _pool(rows):
    """(fold, answerable, confidence) per question: data, table, conf, folds for train."""
    from types import SimpleNamespace

    data = [SimpleNamespace(answerable=a, source="squad1") for _, a, _ in rows]
    table = [[(None, 1.0 if a else 0.0, 1.0 if a else 0.0)] for _, a, _ in rows]
    conf = [np.array([c]) for _, _, c in rows]
    return data, table, conf, np.array([f for f, _, _ in rows])


def test_the_no_answer_threshold_is_the_median_of_what_each_four_folds_would_choose():
    from askfiles.learn import train

    # Folds 0-2 each hold an unanswerable question at 0.3 and a right answer at
    # 0.5; folds 3 and 4 a right answer at 0.2 and one at 0.5.
    rows = [(k, False, 0.3) for k in range(3)] + [(k, True, 0.5) for k in range(5)]
    rows += [(3, True, 0.2), (4, True, 0.2)]
    data, table, conf, folds = _pool(rows)
    # Over the whole pool, abstaining below 0.31 wins by one question (3 + 5 against 7) ...
    assert train.best_threshold(data, table, conf) == 0.31
    # ... but without fold 0, 1 or 2 it is a tie, and the lower threshold is kept:
    # three of the five four-fold parts choose 0.0, so the median is 0.0.
    assert train.choose_threshold(data, table, conf, folds) == 0.0
    # Without the low-confidence right answers, every part agrees on 0.31.
    data, table, conf, folds = _pool(rows[:-2])
    assert train.choose_threshold(data, table, conf, folds) == 0.31


def _sums(squad, squad_thr, news, news_thr, v2):
    return {"squad1 pool": {"f1_always": squad, "f1": squad_thr},
            "newsqa": {"f1_always": news, "f1": news_thr},
            "squad2 (11 articles)": {"combined_f1": v2}}


def test_seed_spread_table_gives_each_run_then_range_and_mean():
    from askfiles.learn.spread import spread_lines

    lines = spread_lines([(7, 0.24, _sums(0.496, 0.425, 0.371, 0.307, 0.407)),
                          (8, 0.26, _sums(0.499, 0.418, 0.383, 0.305, 0.433))])
    assert [line.split() for line in lines[1:]] == [
        ["7", "0.24", "0.496", "0.425", "0.371", "0.307", "0.407"],
        ["8", "0.26", "0.499", "0.418", "0.383", "0.305", "0.433"],
        ["range", "0.02", "0.003", "0.007", "0.012", "0.002", "0.026"],
        ["mean", "0.25", "0.497", "0.421", "0.377", "0.306", "0.420"],
    ]
    assert len(spread_lines([(7, 0.24, _sums(0.5, 0.4, 0.3, 0.2, 0.1))])) == 2  # no range


def test_lightgbm_seed_sets_every_model_and_restores_it():
    from askfiles.learn import models
    from askfiles.learn.spread import lightgbm_seed

    params = (models.RANKER_PARAMS, models.SENTENCE_PARAMS, models.CONF_PARAMS)
    before = [p["seed"] for p in params]
    with pytest.raises(RuntimeError):
        with lightgbm_seed(99):
            assert [p["seed"] for p in params] == [99, 99, 99]
            raise RuntimeError("a failed run")
    assert [p["seed"] for p in params] == before
