"""Pure logic: expected answer types, passage evidence and span scoring (no spaCy)."""

import math

import pytest

from askfiles.question import expected_types, gap_preposition, is_about_doc, wh_and_head
from askfiles.rerank import PassageEvidence, SpanScorer, overlap_share, passage_score


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


def test_span_scorer_is_linear_and_confidence_is_a_probability():
    scorer = SpanScorer({"type_match": 2.0, "q_overlap": -1.0},
                        {"bias": -1.0, "share": 1.0, "coverage": 2.0, "score": 0.0})
    assert scorer.score({"type_match": 1.0, "q_overlap": 0.5, "unknown": 9.0}) == 1.5
    share = math.exp(3) / (math.exp(3) + 1)
    high = scorer.confidence(3.0, share, coverage=1.0)
    low = scorer.confidence(3.0, share, coverage=0.0)
    assert 0.0 < low < high < 1.0
    assert high == pytest.approx(1 / (1 + math.exp(-(-1 + share + 2))))


def test_overlapping_spans_pool_their_probability():
    places = [(2.0, (0, (3, 6))), (1.0, (0, (4, 6))), (1.0, (0, (8, 9))), (1.0, (1, (3, 6)))]
    total = math.exp(2) + 3 * math.exp(1)
    assert overlap_share(places, 0) == pytest.approx((math.exp(2) + math.exp(1)) / total)
    assert overlap_share(places, 2) == pytest.approx(math.exp(1) / total)


def test_shipped_weights_load():
    scorer = SpanScorer.load()
    assert scorer.weights and "bias" in scorer.calibration


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


def test_questions_mostly_about_unseen_things_lose_confidence():
    scorer = SpanScorer({}, {"bias": 1.0, "share": 0.0, "coverage": 0.0, "score": 0.0})
    seen = scorer.confidence(0.0, 1.0, 1.0, unseen=0.25)
    assert seen == pytest.approx(1 / (1 + math.exp(-1)))
    assert scorer.confidence(0.0, 1.0, 1.0, unseen=0.5) == pytest.approx(seen * 0.5)
    assert scorer.confidence(0.0, 1.0, 1.0, unseen=1.0) == 0.0


def test_proper_noun_runs_are_the_names_in_a_question():
    from askfiles.question import proper_noun_runs

    text = "When did Kim Philby defect to Moscow?"
    tokens = [(0, 4, "ADV"), (5, 8, "AUX"), (9, 12, "PROPN"), (13, 19, "PROPN"),
              (20, 26, "VERB"), (27, 29, "ADP"), (30, 36, "PROPN"), (36, 37, "PUNCT")]
    assert [text[a:b] for a, b in proper_noun_runs(tokens)] == ["Kim Philby", "Moscow"]
    assert proper_noun_runs([]) == []
