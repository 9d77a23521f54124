"""The loaded spaCy pipeline: the lemmatizer's word lists are sets, its lemmas unchanged."""

from __future__ import annotations

import spacy

from askfiles import nlp

TEXTS = [
    "Which studies were carried out by the better-known geese in 1995?",
    "The wolves had been hiding; the mice ran faster than the oxen.",
    "How many children did the Cairncrosses' neighbours say were born there?",
    "She was bearing gifts, he bore none, and they have borne worse.",
]


def test_lemma_index_is_sets_and_lemmas_match_spacys_own():
    pipeline = nlp.get_nlp()
    table = pipeline.get_pipe("lemmatizer").lookups.get_table("lemma_index")
    assert table and all(isinstance(v, frozenset) for v in table.values())
    plain = spacy.load(nlp.model_name(), exclude=list(nlp.EXCLUDE))  # lists, as shipped
    assert any(isinstance(v, list) for v in
               plain.get_pipe("lemmatizer").lookups.get_table("lemma_index").values())
    ours = [[t.lemma_ for t in d] for d in nlp.parse_many(TEXTS)]
    theirs = [[t.lemma_ for t in plain(x)] for x in TEXTS]
    assert ours == theirs
    assert ours[1][:7] == ["the", "wolf", "have", "be", "hide", ";", "the"]  # (index words)
