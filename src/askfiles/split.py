"""Documents -> Passages: paragraph-aware, sentence-bounded, with character offsets."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from .records import Document, Passage

TARGET_WORDS = 120
MAX_WORDS = 200

_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?![ \t]*\n)[^\n]*)*")
# A sentence ends at . ! or ? (maybe closed by a quote or bracket) before space.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")


def _words(text: str) -> int:
    return len(text.split())


def paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Character ranges of paragraphs (runs of lines between blank lines), trimmed."""
    for m in _PARAGRAPH.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            yield start, end


MAX_CHARS = 4000   # a longer "sentence" (no punctuation, one huge token) is cut too
_WORD = re.compile(r"\S+")


def _bounded(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` as is, or cut at spaces into runs of at most MAX_WORDS
    words and MAX_CHARS characters (a single longer token is cut anywhere).

    Keeps every passage small enough for spaCy (which refuses a text of a million
    characters) whatever the file: a 1 MB line is many passages, not one.
    """
    if end - start <= MAX_CHARS and _words(text[start:end]) <= MAX_WORDS:
        yield start, end
        return
    run_start = run_end = None
    count = 0
    for m in _WORD.finditer(text, start, end):
        w_start, w_end = m.span()
        while w_end - w_start > MAX_CHARS:            # one enormous token
            if run_start is not None:
                yield run_start, run_end
                run_start, count = None, 0
            yield w_start, w_start + MAX_CHARS
            w_start += MAX_CHARS
        if run_start is not None and (count >= MAX_WORDS or w_end - run_start > MAX_CHARS):
            yield run_start, run_end
            run_start, count = None, 0
        if run_start is None:
            run_start = w_start
        run_end, count = w_end, count + 1
    if run_start is not None:
        yield run_start, run_end


def sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Rough sentence ranges inside ``text[start:end]``, used to cut long paragraphs."""
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        yield from _bounded(text, pos, m.start() + len(m.group().rstrip()))
        pos = m.end()
    if pos < end:
        yield from _bounded(text, pos, end)


def _pieces(text: str) -> Iterator[tuple[int, int]]:
    """Paragraphs, with over-long ones cut into runs of whole sentences."""
    for p_start, p_end in paragraphs(text):
        if p_end - p_start <= MAX_CHARS and _words(text[p_start:p_end]) <= MAX_WORDS:
            yield p_start, p_end
            continue
        run_start = run_end = None
        for s_start, s_end in sentences(text, p_start, p_end):
            if run_start is not None and (s_end - run_start > MAX_CHARS
                                          or _words(text[run_start:s_end]) > TARGET_WORDS):
                yield run_start, run_end
                run_start = None
            if run_start is None:
                run_start = s_start
            run_end = s_end
        if run_start is not None:
            yield run_start, run_end


def split_document(doc: Document) -> list[Passage]:
    """Passages of one document; short neighbouring paragraphs are merged."""
    out: list[Passage] = []
    cur_start = cur_end = None
    for start, end in _pieces(doc.text):
        if cur_start is not None and (end - cur_start > MAX_CHARS
                                      or _words(doc.text[cur_start:end]) > TARGET_WORDS):
            out.append(Passage(doc.id, len(out), cur_start, cur_end,
                               doc.text[cur_start:cur_end]))
            cur_start = None
        if cur_start is None:
            cur_start = start
        cur_end = end
    if cur_start is not None:
        out.append(Passage(doc.id, len(out), cur_start, cur_end,
                           doc.text[cur_start:cur_end]))
    return out


def split_documents(docs: Iterable[Document]) -> list[Passage]:
    """Passages of all documents, in document order."""
    return [p for d in docs for p in split_document(d)]
