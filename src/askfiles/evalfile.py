"""``askfiles eval``'s question file: JSON Lines of ``question`` and ``answers``, each
refusal naming its line and what to write instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .records import without_surrogates

EXAMPLE = '{"question": "When did Cairncross confess?", "answers": ["16 February 1964"]}'
ONE_A_LINE = f"askfiles eval reads one JSON object a line, e.g. {EXAMPLE}"
# A JSON array of question objects, as JSON Lines: what to run on such a file.
TO_LINES = ("python -c \"import json, sys; [print(json.dumps(q)) for q in "
            "json.load(sys.stdin)]\" < FILE > FILE.jsonl")
_UTF16 = (b"\xff\xfe", b"\xfe\xff")


def read_questions(path: Path | str) -> list[dict[str, Any]]:
    """Question records from a JSON Lines file; ``ValueError`` naming the line at fault."""
    data = Path(path).read_bytes()
    if data.startswith(_UTF16):
        raise ValueError(f"{path}: the file is UTF-16; save it as UTF-8")
    # A UTF-8 byte order mark (Windows editors write one) is not part of the first line.
    data = data.removeprefix(b"\xef\xbb\xbf")
    out = []
    for n, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}:{n}: not UTF-8 (byte 0x{raw[exc.start]:02x}, the "
                             f"line's byte {exc.start + 1}); save the file as UTF-8") from None
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(_not_json(path, n, exc, data)) from None
        out.append(_record(rec, f"{path}:{n}"))
    if not out:
        raise ValueError(f"{path}: no questions; {ONE_A_LINE}")
    return out


def _not_json(path: Path | str, n: int, exc: json.JSONDecodeError, data: bytes) -> str:
    """Why line ``n`` is not JSON: the whole file may be one JSON document (an array, a
    SQuAD file, an object over several lines), which needs saying differently."""
    try:
        whole = json.loads(data.decode("utf-8"))
    except ValueError:
        whole = None
    if whole is not None:
        if isinstance(whole, dict) and "data" in whole:
            return (f"{path}: a SQuAD file (articles under \"data\"), not JSON Lines; write "
                    f"each of its questions on a line of its own: {EXAMPLE}")
        if isinstance(whole, list):
            return (f"{path}: one JSON array, not JSON Lines; {ONE_A_LINE} (to convert: "
                    f"{TO_LINES})")
        return (f"{path}:{n}: a JSON object over several lines; {ONE_A_LINE}, each on "
                "one line")
    return f"{path}:{n}: not valid JSON ({exc.msg}, column {exc.colno}); {ONE_A_LINE}"


def _record(rec: Any, where: str) -> dict[str, Any]:
    """One line's record with ``answers`` as a list of strings, else ``ValueError``."""
    if isinstance(rec, list):
        raise ValueError(f"{where}: a JSON array, not an object; {ONE_A_LINE} (to convert "
                         f"a file holding one array: {TO_LINES})")
    if not isinstance(rec, dict):
        raise ValueError(f"{where}: {_kind(rec)}, not an object; {ONE_A_LINE}")
    if "data" in rec and "question" not in rec:
        raise ValueError(f"{where}: a SQuAD file (articles under \"data\"), not JSON Lines; "
                         f"write each of its questions on a line of its own: {EXAMPLE}")
    question = rec.get("question")
    if not isinstance(question, str):
        said = (f"\"question\" is {_kind(question)}" if "question" in rec
                else f"no \"question\" (the line has {_keys(rec)})")
        raise ValueError(f"{where}: {said}; each line needs the question as a string: "
                         f"{EXAMPLE}")
    if not question.strip():
        raise ValueError(f"{where}: the \"question\" is empty; write the question, or "
                         "remove the line")
    answers = _answers(rec, where)
    if rec.get("type") is not None and not isinstance(rec["type"], str):
        raise ValueError(f"{where}: \"type\" is {_kind(rec['type'])}; it names the row the "
                         "question counts in, a string such as \"when\" (or leave it out)")
    # "\ud800" in the file: printed back by --details, which UTF-8 cannot hold.
    return {**rec, "question": without_surrogates(question),
            "answers": [without_surrogates(a) for a in answers]}


def _answers(rec: dict[str, Any], where: str) -> list[str]:
    """The gold answers: a list of strings, or SQuAD's shapes of them (``[{"text": ...}]``,
    and ``{"text": [...]}`` as Hugging Face datasets write it)."""
    fix = "give the gold answers as a list of strings, [] for a question the corpus " \
          "cannot answer"
    if "answers" not in rec:
        # Not defaulted: a line that lost its answers would count as unanswerable.
        raise ValueError(f"{where}: no \"answers\" (the line has {_keys(rec)}); {fix}")
    answers = rec["answers"]
    if isinstance(answers, dict) and isinstance(answers.get("text"), list):
        answers = answers["text"]
    if isinstance(answers, str):
        raise ValueError(f"{where}: \"answers\" is a string; make it a list: "
                         f"{json.dumps([answers], ensure_ascii=False)}")
    if not isinstance(answers, list):
        raise ValueError(f"{where}: \"answers\" is {_kind(answers)}; {fix}")
    out = []
    for i, a in enumerate(answers):
        if isinstance(a, dict) and isinstance(a.get("text"), str):
            a = a["text"]                      # SQuAD: {"text": ..., "answer_start": ...}
        if not isinstance(a, str):
            shown = json.dumps(a, ensure_ascii=False)
            hint = f"; write it as a string: \"{shown}\"" if isinstance(a, (int, float)) \
                else f"; {fix}"
            raise ValueError(f"{where}: answer {i + 1} is {_kind(a)} ({shown}){hint}")
        out.append(a)
    return out


def _kind(value: Any) -> str:
    """A JSON value's kind in words: "a number", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string"}.get(
        type(value), "a number")


def _keys(rec: dict[str, Any]) -> str:
    """The record's keys, quoted: what the line has instead."""
    return ", ".join(json.dumps(k) for k in rec) if rec else "no keys"
