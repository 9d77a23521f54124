"""WordNet look-ups (askfiles.wordnet) and the table builder (askfiles.learn.wordnet_table).

Pure: no spaCy. The builder is run on a tiny hand-written WordNet database in
WordNet's own file format, with exact expected arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from askfiles import wordnet
from askfiles.learn import wordnet_table


@pytest.mark.parametrize("word, relative", [
    ("buy", "purchase"),       # the same meaning
    ("invent", "inventor"),    # derived
    ("invent", "invention"),
])
def test_related_words(word, relative):
    assert relative in wordnet.related(word)


def test_related_words_leave_out_the_word_and_unknown_words():
    assert "buy" not in wordnet.related("buy")
    assert wordnet.related("blorptastic") == frozenset()
    assert wordnet.related("") == frozenset()
    assert wordnet.related("x" * 500) == frozenset()


@pytest.mark.parametrize("word, kind, expected", [
    ("guitar", "instrument", True),
    ("paris", "city", True),       # an instance, not only a kind
    ("malaria", "infection", True),
    ("guitar", "city", False),
    ("city", "city", False),       # a word is not a kind of itself
])
def test_kinds(word, kind, expected):
    assert (kind in wordnet.kinds(word)) is expected


def test_kinds_are_of_nouns_only():
    # "run" as a verb is a kind of "travel"; as a noun it is a kind of "score" etc.
    assert "travel" not in wordnet.kinds("run")


# A WordNet database of three nouns and one verb, in WordNet's own format:
# offset lex_filenum ss_type w_cnt(hex) word lex_id ... p_cnt ptr... | gloss
DATA_NOUN = """  1 This software and database is being provided to you, the LICENSEE
00000100 03 n 01 device 0 000 | a thing made for a purpose
00000200 06 n 02 instrument 0 tool 0 001 @ 00000100 n 0000 | a device for a job
00000300 06 n 01 guitar 0 002 @ 00000200 n 0000 + 00000400 v 0101 | a stringed instrument
"""
DATA_VERB = """00000400 36 v 01 strum 0 001 + 00000300 n 0101 01 + 08 00 | play a guitar
"""
INDEX_NOUN = """  1 This software and database is being provided to you, the LICENSEE
device n 1 0 1 0 00000100
guitar n 1 2 @ + 1 0 00000300
instrument n 1 1 @ 1 0 00000200
tool n 1 1 @ 1 0 00000200
"""
INDEX_VERB = "strum v 1 1 + 1 0 00000400\n"


@pytest.fixture
def tiny_wordnet(tmp_path):
    for name, text in {"data.noun": DATA_NOUN, "data.verb": DATA_VERB,
                       "index.noun": INDEX_NOUN, "index.verb": INDEX_VERB,
                       "data.adj": "", "data.adv": "", "index.adj": "", "index.adv": ""
                       }.items():
        (tmp_path / name).write_text(text, encoding="latin-1")
    return tmp_path


def test_table_builder_on_a_tiny_wordnet(tiny_wordnet):
    a = wordnet_table.build(tiny_wordnet)
    assert a["words"].tolist() == [b"device", b"guitar", b"instrument", b"strum", b"tool"]
    # meanings in key order: n00000100 device, n00000200 instrument/tool, n00000300
    # guitar, v00000400 strum
    assert a["pos"].tolist() == [0, 0, 0, 1]
    assert a["member_ptr"].tolist() == [0, 1, 3, 4, 5]
    assert a["member"].tolist() == [0, 2, 4, 1, 3]
    assert a["hyp_ptr"].tolist() == [0, 0, 1, 2, 2]
    assert a["hyp"].tolist() == [0, 1]
    assert a["der"].tolist() == [3, 2]     # guitar <-> strum
    assert a["sense_ptr"].tolist() == [0, 1, 2, 3, 4, 5]
    assert a["senses"].tolist() == [0, 2, 1, 3, 1]
    # per word, every meaning its noun senses are kinds of: guitar -> instrument ->
    # device; the verb "strum" has none
    assert a["above_ptr"].tolist() == [0, 0, 2, 3, 3, 4]
    assert a["above"].tolist() == [0, 1, 0, 0]


def test_table_builder_is_byte_for_byte_repeatable(tiny_wordnet, tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    wordnet_table.save(wordnet_table.build(tiny_wordnet), one)
    wordnet_table.save(wordnet_table.build(tiny_wordnet), two)
    assert one.read_bytes() == two.read_bytes()
    with np.load(one, allow_pickle=False) as z:
        assert z["words"].tolist()[0] == b"device"


def test_table_builder_refuses_a_folder_without_wordnet(tmp_path, capsys):
    assert wordnet_table.main([str(tmp_path), "--out", str(tmp_path / "x.npz")]) == 2
    assert "index.noun" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_question_words_expanded_with_their_relatives():
    from askfiles.question import expansions

    got = dict(expansions(["Who", "purchased", "the", "mill", "Bergen", "?"],
                          ["who", "purchase", "the", "mill", "Bergen", "?"],
                          ["PRON", "VERB", "DET", "NOUN", "PROPN", "PUNCT"]))
    # keyed by the index term (the retrieval stem); names and function words are not
    # expanded: WordNet knows "Bergen" only as a cheese-maker's town and "who" as WHO
    assert set(got) == {"purchas", "mill"}
    assert "buy" in got["purchas"] and "purchase" not in got["purchas"]
    assert "factory" in got["mill"]
