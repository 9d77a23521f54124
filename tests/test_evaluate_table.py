"""``askfiles eval``'s question file and table: rates over the answerable questions only."""

from __future__ import annotations

import pytest

from askfiles.evaluate import Tally, read_questions, table


def test_rates_count_only_answerable_questions_and_say_so():
    tallies = {"all": Tally(), "when": Tally(), "unanswerable": Tally()}
    for key in ("all", "when"):
        tallies[key].add(["1964"], False, "1964", "in 1964")
    for key in ("all", "unanswerable"):
        tallies[key].add([], True, "", "")
    rows = {line.split()[0]: line.split() for line in table(tallies).splitlines()}
    assert rows["type"] == ["type", "n", "answerable", "EM", "F1", "snippet", "false",
                            "abst.", "correct", "abst."]
    assert rows["all"] == ["all", "2", "1", "1.000", "1.000", "1.000", "0", "1/1"]
    assert rows["unanswerable"] == ["unanswerable", "1", "0", "-", "-", "-", "0", "1/1"]


@pytest.mark.parametrize("content, message", [
    ('{"question": "When?"}\n', ':1: each line needs an "answers" list'),
    ('{"question": "When?", "answers": "1964"}\n', ':1: each line needs an "answers" list'),
    ('{"question": "When?", "answers": []}\n{"answers": []}\n',
     ':2: each line needs a "question" string'),
    ("", ": no questions"),
    ("\n\n", ": no questions"),
])
def test_a_bad_question_file_is_refused_with_its_line(tmp_path, content, message):
    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(ValueError) as err:
        read_questions(path)
    assert message in str(err.value)
