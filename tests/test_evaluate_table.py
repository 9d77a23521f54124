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


EXAMPLE = '{"question": "When did Cairncross confess?", "answers": ["16 February 1964"]}'
ONE_A_LINE = "; askfiles eval reads one JSON object a line, e.g. " + EXAMPLE
FIX = "give the gold answers as a list of strings, [] for a question the corpus cannot answer"


@pytest.mark.parametrize("content, message", [
    ('{"question": "When?"}\n', ':1: no "answers" (the line has "question"); ' + FIX),
    ('{"question": "When?", "answer": "1964"}\n',
     ':1: no "answers" (the line has "question", "answer"); ' + FIX),
    ('{"question": "When?", "answers": "1964"}\n',
     ':1: "answers" is a string; make it a list: ["1964"]'),
    ('{"question": "When?", "answers": null}\n', ':1: "answers" is null; ' + FIX),
    ('{"question": "When?", "answers": [1964]}\n',
     ':1: answer 1 is a number (1964); write it as a string: "1964"'),
    ('{"question": "When?", "answers": [{"answer_start": 3}]}\n',
     ':1: answer 1 is an object ({"answer_start": 3}); ' + FIX),
    ('{"question": "When?", "answers": []}\n{"answers": []}\n',
     ':2: no "question" (the line has "answers"); each line needs the question as a '
     'string: ' + EXAMPLE),
    ('{"question": 7, "answers": []}\n', ':1: "question" is a number; each line needs'),
    ('{"question": "  ", "answers": []}\n',
     ':1: the "question" is empty; write the question, or remove the line'),
    ('{"question": "When?", "answers": [], "type": 5}\n', ':1: "type" is a number; it names '
     'the row the question counts in, a string such as "when" (or leave it out)'),
    ('"When?"\n', ":1: a string, not an object" + ONE_A_LINE),
    ("# my questions\n" + EXAMPLE + "\n",
     ":1: not valid JSON (Expecting value, column 1)" + ONE_A_LINE),
    (EXAMPLE + ",\n", ":1: not valid JSON (Extra data, column 78)" + ONE_A_LINE),
    ('{"question": "When?",\n "answers": []}\n',
     ":1: a JSON object over several lines" + ONE_A_LINE + ", each on one line"),
    ('[{"question": "When?", "answers": []}]\n', ":1: a JSON array, not an object"
     + ONE_A_LINE + " (to convert a file holding one array: python -c"),
    ('[\n {"question": "When?", "answers": []}\n]\n', ": one JSON array, not JSON Lines"
     + ONE_A_LINE + ' (to convert: python -c "import json, sys; [print(json.dumps(q)) for q '
     'in json.load(sys.stdin)]" < FILE > FILE.jsonl)'),
    ('{"version": "1.1",\n "data": []}\n', ': a SQuAD file (articles under "data"), not '
     "JSON Lines; write each of its questions on a line of its own: " + EXAMPLE),
    ('{"question": "When?", "answers": []}\n{"question": "Caf\xe9?", "answers": []}\n'
     .encode("latin-1"), ":2: not UTF-8 (byte 0xe9, the line's byte 18); save the file as "
     "UTF-8"),
    ('{"question": "When?", "answers": []}\n'.encode("utf-16"),
     ": the file is UTF-16; save it as UTF-8"),
    ("", ": no questions" + ONE_A_LINE),
    ("\n\n", ": no questions"),
])
def test_a_bad_question_file_is_refused_with_its_line(tmp_path, content, message):
    """Each said only 'each line needs ...' or 'not valid JSON (...)', a bare codec
    error without the file or line, or (a "type" number) a TypeError after every
    question was asked."""
    path = tmp_path / "q.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(ValueError) as err:
        read_questions(path)
    assert str(err.value).startswith(str(path) + message[:message.index(" ")])
    assert message in str(err.value)


LINES = ['{"question": "When did the mill close?", "answers": ["1911", "in 1911"]}',
         '{"question": "Who won the cup?", "answers": []}']


@pytest.mark.parametrize("content", [
    "\n".join(LINES) + "\n",
    "\n".join(LINES),                                     # no newline at the end
    "\n".join(LINES) + "\n\n  \n",                        # blank lines at the end
    "\ufeff" + "\n".join(LINES) + "\n",                   # a byte order mark (Notepad)
    "\r\n".join(LINES) + "\r\n",                          # Windows line ends
    # SQuAD's answers, and Hugging Face datasets' shape of them
    '{"question": "When did the mill close?", "answers": [{"text": "1911", "answer_start": '
    '4}, {"text": "in 1911", "answer_start": 1}]}\n' + LINES[1],
    '{"question": "When did the mill close?", "answers": {"text": ["1911", "in 1911"], '
    '"answer_start": [4, 1]}}\n{"question": "Who won the cup?", "answers": {"text": [], '
    '"answer_start": []}}\n',
])
def test_json_lines_as_users_write_them_are_read(tmp_path, content):
    path = tmp_path / "q.jsonl"
    path.write_bytes(content.encode("utf-8"))
    records = read_questions(path)
    assert [(r["question"], r["answers"]) for r in records] == [
        ("When did the mill close?", ["1911", "in 1911"]), ("Who won the cup?", [])]
