"""Pure logic: expected answer types, passage evidence and span scoring (no spaCy)."""

import math

import pytest

from askfiles.question import expected_types, wh_and_head
from askfiles.rerank import PassageEvidence, SpanScorer, passage_score


@pytest.mark.parametrize("words, pos, wh, head", [
    ("When did he confess ?", "ADV AUX PRON VERB PUNCT", "when", ""),
    ("How many years did he spy ?", "SCONJ ADJ NOUN AUX PRON VERB PUNCT", "how many", ""),
    ("Which university did he attend ?", "DET NOUN AUX PRON VERB PUNCT", "which", "university"),
    ("In which city did he confess ?", "ADP DET NOUN AUX PRON VERB PUNCT", "which", "city"),
    ("What is the name of the river ?", "PRON AUX DET NOUN ADP DET NOUN PUNCT", "what", "name"),
    ("Tell me about it", "VERB PRON ADP PRON", "", ""),
])
def test_wh_and_head(words, pos, wh, head):
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
    high = scorer.confidence(3.0, [3.0, 0.0], coverage=1.0)
    low = scorer.confidence(3.0, [3.0, 0.0], coverage=0.0)
    assert 0.0 < low < high < 1.0
    share = math.exp(3) / (math.exp(3) + 1)
    assert high == pytest.approx(1 / (1 + math.exp(-(-1 + share + 2))))


def test_shipped_weights_load():
    scorer = SpanScorer.load()
    assert scorer.weights and "bias" in scorer.calibration
