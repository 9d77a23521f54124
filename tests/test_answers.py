"""Failure classes of answer extraction, each on a small fixture document written here.

Each test asks what a user would ask and checks what the user sees: the
answer (whitespace collapsed), its citation offsets into the original text,
and whether askfiles admits it has no answer.
"""

from __future__ import annotations

import pytest

from askfiles.evaluate import normalize_answer
from askfiles.records import collapse

DOCS = {
    "git-readme.txt": """Git - fast, scalable, distributed revision control system
=========================================================

Git is a fast, scalable, distributed revision control system with an
unusually rich command set that provides both high-level operations
and full access to internals.

Git is an Open Source project covered by the GNU General Public
License version 2. It was originally written by Linus Torvalds
with help of a group of hackers around the net.
""",
    "python-man.txt": """PYTHON(1)                 General Commands Manual                PYTHON(1)

NAME
       python - an interpreted, interactive, object-oriented programming
       language

HISTORY
       Python was created in the early 1990s by Guido van Rossum at
       Stichting Mathematisch Centrum in the Netherlands. In 1995, Guido
       continued his work on Python at the Corporation for National
       Research Initiatives in Reston, Virginia, where he released
       several versions of the software.
""",
    "bc.txt": """bc

bc is an arbitrary precision numeric processing language. Its syntax
is similar to C, and it supports interactive execution of statements.
""",
    "deal.txt": """The toy company announced the deal on Monday. Shares rose sharply.

Rival maker Blocko acquired the company in 2019 after a long battle. The buyer paid the
founders for their remaining stake. The sum was $45 million, most of it in cash.

The archive of old designs is about 3700 kB in size.

At the border the courier met a tall man called Viktor, who took the package.
""",
    "mill.txt": """The old mill stood empty for a decade after the flood. Its first owner was Anna
Berg, who built it in 1887.

In 1921 it was bought by Henrik Dahl, a timber merchant from Bergen. He turned it into a
museum of the valley's trades.
""",
    "orchestra.txt": """Maria Lopez joined the city orchestra in 2004 after years of touring with a
folk band. She plays the cello, and her brother Tomas runs the orchestra's office.
""",
    "news.txt": """WASHINGTON (CNN) -- The senator resigned on Tuesday after weeks of pressure, aides said.

The resignation followed a report that he had used campaign money for travel.
""",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from askfiles.engine import Engine

    folder = tmp_path_factory.mktemp("failure-classes")
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Engine.from_folder(folder, {"poll_seconds": 0, "index_dir": "off"})


def top(engine, question):
    result = engine.ask(question, top_k=3)
    assert result.answers, question
    a = result.answers[0]
    text = engine.documents[a.citation.document].text
    # offsets index the original text, in the JSON too
    assert text[a.citation.start:a.citation.end] == a.answer == a.to_json()["answer"]
    return result, a


def test_hard_wrapped_span_crosses_the_line_break(engine):
    result, a = top(engine, "Where did Guido continue his work on Python in 1995?")
    assert collapse(a.answer) in ("the Corporation for National Research Initiatives",
                                  "Corporation for National Research Initiatives")
    assert "\n" in a.answer                      # the original text is wrapped
    assert a.citation.document == "python-man.txt"


def test_wrapped_answers_are_shown_on_one_line(engine, capsys):
    from askfiles.cli import _print_answer

    result = engine.ask("Where did Guido continue his work on Python in 1995?", top_k=1)
    _print_answer(result, False)
    out = capsys.readouterr().out
    assert "Corporation for National Research Initiatives" in out
    assert "National\n" not in out


def test_in_what_year_is_answered_with_a_year(engine):
    _, a = top(engine, "In what year did Blocko acquire the company?")
    assert a.answer == "2019"


def test_answer_in_the_next_sentence(engine):
    _, a = top(engine, "How much did the buyer pay the founders?")
    assert a.answer == "$45 million"


def test_number_keeps_its_unit(engine):
    _, a = top(engine, "How big is the archive of old designs?")
    assert collapse(a.answer) in ("about 3700 kB", "3700 kB")


@pytest.mark.xfail(strict=True, reason="known: 'a tall man' outranks the name it is given, "
                   "'Viktor' (which spaCy labels PRODUCT); the naming cues lost in "
                   "cross-validation (issue 9, not fixed)")
def test_naming_pattern(engine):
    _, a = top(engine, "Who did the courier meet at the border?")
    assert a.answer == "Viktor"


def test_question_in_other_words(engine):
    # "purchased" asked, "bought" written (WordNet: one meaning); the sentence that
    # repeats "old mill" names the first owner instead
    _, a = top(engine, "Who purchased the old mill?")
    assert a.answer == "Henrik Dahl"


def test_what_kind_of_thing(engine):
    # "What instrument": the cello is one (WordNet), the city orchestra is not
    _, a = top(engine, "What instrument does Maria Lopez play?")
    assert normalize_answer(a.answer) == "cello"


def test_definition(engine):
    _, a = top(engine, "What is bc?")
    # Exact match as SQuAD scores it: "an" or not, the definition is the answer.
    assert normalize_answer(a.answer) == "arbitrary precision numeric processing language"


def test_dateline_does_not_answer_questions_about_the_story(engine):
    _, a = top(engine, "When did the senator resign?")
    assert a.answer.startswith("Tuesday")      # (the span may run on: "Tuesday after weeks")
    result = engine.ask("Where did the senator resign?", top_k=3)
    assert all(x.answer != "WASHINGTON" or x.score < engine.threshold for x in result.answers)


def test_subject_missing_from_the_corpus_is_not_answered(engine):
    # git's README names its author; nothing here says who wrote bzip2
    result = engine.ask("Who wrote bzip2?", top_k=1)
    assert result.no_answer, result.answers[0].answer


@pytest.mark.xfail(strict=True, reason="known: the ranker puts 'Open Source' before 'Linus "
                   "Torvalds' (spaCy tags him ORG here) and abstains (issue 9, not fixed)")
def test_subject_present_in_the_corpus_is_answered(engine):
    answered = engine.ask("Who wrote Git?", top_k=1)
    assert not answered.no_answer and answered.answers[0].answer == "Linus Torvalds"


def test_explain_names_the_evidence_that_weighed_most(engine):
    from askfiles.features import SPAN_FEATURES

    result = engine.ask("In what year did Blocko acquire the company?", top_k=1, explain=True)
    top = result.answers[0].explain["top_features"]
    assert top, "no evidence named"
    weights = [abs(t["weight"]) for t in top]
    assert weights == sorted(weights, reverse=True)
    assert all(t["feature"].split("=")[0] in SPAN_FEATURES for t in top)
