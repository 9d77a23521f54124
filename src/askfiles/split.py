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


def sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Rough sentence ranges inside ``text[start:end]``, used to cut long paragraphs."""
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        yield pos, m.start() + len(m.group().rstrip())
        pos = m.end()
    if pos < end:
        yield pos, end


def _pieces(text: str) -> Iterator[tuple[int, int]]:
    """Paragraphs, with over-long ones cut into runs of whole sentences."""
    for p_start, p_end in paragraphs(text):
        if _words(text[p_start:p_end]) <= MAX_WORDS:
            yield p_start, p_end
            continue
        run_start = run_end = None
        for s_start, s_end in sentences(text, p_start, p_end):
            if run_start is not None and _words(text[run_start:s_end]) > TARGET_WORDS:
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
        if cur_start is not None and _words(doc.text[cur_start:end]) > TARGET_WORDS:
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
