"""Frozen records passed between the stages of the answer pipeline."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass(frozen=True)
class Document:
    """One corpus file: its id (relative path), title and full text."""

    id: str
    title: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Passage:
    """A slice of a document; ``text == document.text[start:end]``."""

    doc_id: str
    n: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Annotation:
    """spaCy analysis of one passage; token offsets are relative to the passage.

    Spans (sentences, entities, noun chunks) are ``(first_token, end_token)``
    half-open token ranges, entities with a label.
    """

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    lemmas: tuple[str, ...]
    pos: tuple[str, ...]
    deps: tuple[str, ...]
    heads: tuple[int, ...]
    sents: tuple[tuple[int, int], ...]
    ents: tuple[tuple[int, int, str], ...]
    chunks: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.starts)

    def to_json(self) -> dict[str, Any]:
        """Plain lists for a JSON file."""
        return {k: [list(x) if isinstance(x, tuple) else x for x in getattr(self, k)]
                for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Annotation":
        """Inverse of :meth:`to_json`."""
        return cls(
            starts=tuple(data["starts"]), ends=tuple(data["ends"]),
            lemmas=tuple(data["lemmas"]), pos=tuple(data["pos"]),
            deps=tuple(data["deps"]), heads=tuple(data["heads"]),
            sents=tuple(tuple(s) for s in data["sents"]),
            ents=tuple((a, b, str(label)) for a, b, label in data["ents"]),
            chunks=tuple(tuple(c) for c in data["chunks"]),
        )


@dataclass(frozen=True)
class Entity:
    """A named entity or date found in text, with character offsets."""

    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Question:
    """What the question asks: terms for retrieval, entities, expected type."""

    text: str
    terms: tuple[str, ...]
    lemmas: tuple[str, ...]
    entities: tuple[Entity, ...]
    years: tuple[str, ...]
    wh: str
    head: str
    expected: tuple[str, ...]
    about_doc: bool = False  # asks about the document itself (its date, author, title)
    gap_prep: str = ""       # the preposition of the asked-for slot: "in" of "In which city"
    root: str = ""           # lemma of the question's main verb: "confess"
    wh_dep: str = ""         # the asked-for phrase's relation: "nsubj" of "Who recruited him?"
    # (index term, WordNet relatives of its lemma) for each content word: "bought" ->
    # ("bought", {"purchase", ...}), to find the question told in other words
    expansions: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class Citation:
    """Where an answer stands: document id, passage (from 0), character offsets.

    ``start``/``end`` (and ``snippet_start``/``snippet_end``) index the document's text:
    ``documents[document].text[start:end] == answer``; ``page`` is a PDF's page (from 1).
    """

    document: str
    title: str
    passage: int
    start: int
    end: int
    snippet_start: int
    snippet_end: int
    page: int | None = None

    @property
    def url(self) -> str:
        """Link to the document view with the answer highlighted."""
        from urllib.parse import quote

        return (f"/documents/{quote(self.document)}"
                f"?start={self.start}&end={self.end}#answer")

    def to_json(self) -> dict[str, Any]:
        """The citation object of the HTTP contract."""
        out = {
            "document": self.document, "title": self.title, "passage": self.passage,
            "start": self.start, "end": self.end,
            "snippet_start": self.snippet_start, "snippet_end": self.snippet_end,
            "url": self.url,
        }
        if self.page is not None:
            out["page"] = self.page
        return out


# How many answers one question may ask for, by every way of asking (API, page, CLI, Python).
TOP_K_MAX = 20

SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """Lone surrogates as U+FFFD, one character for one (offsets kept): UTF-8 cannot hold them."""
    return SURROGATE.sub("\ufffd", text)


def collapse(text: str) -> str:
    """Whitespace runs as one space: how hard-wrapped text is shown ("the\n   Corporation")."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Answer:
    """One answer: exact span, its sentence, confidence and citation.

    ``answer`` and ``snippet`` are the exact slices of the document text (so
    the JSON contract ``text[start:end] == answer`` holds); the page and the
    CLI show them with whitespace runs collapsed (:func:`collapse`).
    """

    answer: str
    answer_type: str
    snippet: str
    score: float
    citation: Citation
    normalized: str | None = None
    # Left out of the hash (a dict has none): hash() and sets of answers failed with
    # "unhashable type: 'dict'" once explain=True; equality still compares it.
    explain: dict[str, Any] | None = field(default=None, hash=False)

    def to_json(self) -> dict[str, Any]:
        """The answer object of the HTTP contract."""
        out: dict[str, Any] = {"answer": self.answer, "answer_type": self.answer_type}
        if self.normalized is not None:
            out["normalized"] = self.normalized
        out.update(snippet=self.snippet, score=round(self.score, 4),
                   citation=self.citation.to_json())
        if self.explain is not None:
            out["explain"] = self.explain
        return out


@dataclass(frozen=True)
class Result:
    """Everything :meth:`Engine.ask` returns for one question.

    ``answers`` best first; ``no_answer`` when the best is below the confidence
    threshold (the weak candidates are still listed); ``to_json()`` is the API's body.
    """

    question: str
    answers: tuple[Answer, ...]
    no_answer: bool
    index_version: str
    took_ms: float

    def to_json(self) -> dict[str, Any]:
        """The response body of ``/api/ask``."""
        return {
            "question": self.question,
            "answers": [a.to_json() for a in self.answers],
            "no_answer": self.no_answer,
            "index_version": self.index_version,
            "took_ms": round(self.took_ms, 2),
        }


def corpus_version(docs: Sequence[Document]) -> str:
    """A short hash that changes whenever any document's id or text does (``index_version``)."""
    h = hashlib.sha1()
    for d in sorted(docs, key=lambda d: d.id):
        h.update(d.id.encode("utf-8", "surrogatepass") + b"\0")
        h.update(hashlib.sha1(d.text.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()[:8]
