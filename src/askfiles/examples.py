"""Example questions for the form, made from the corpus itself and checked by asking them.

A clause whose subject is a name and whose verb governs a date (or a place)
gives "When did <subject> <verb> [<object>]?" (or "Where ..."); a question is
kept only when the engine answers it with the span it was made from. Nothing here
knows what the corpus is about.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Engine

NAME_LABELS = ("PERSON", "ORG", "GPE", "NORP", "FAC", "LOC", "PRODUCT", "EVENT")
WH_FOR = {"DATE": "When", "GPE": "Where", "LOC": "Where", "FAC": "Where"}
MAX_TRIED = 40
# Passages read for candidates, evenly spread over the corpus. All of them were read
# when few made a question: a server on a million passages then spent 100 s picking
# its examples before it listened.
SCANNED_PASSAGES = 2000

_lock = threading.Lock()
_cache: dict[str, list[str]] = {}


def examples_for(engine: "Engine", n: int = 4) -> list[str]:
    """Up to ``n`` example questions the engine answers, cached per index version."""
    with _lock:
        if engine.version not in _cache:
            if len(_cache) > 8:
                _cache.clear()
            _cache[engine.version] = _verified(engine, n)
        return _cache[engine.version][:n]


def _verified(engine: "Engine", n: int) -> list[str]:
    out: list[str] = []
    per_doc: dict[str, int] = {}
    subjects: dict[str, int] = {}
    seen: set[str] = set()
    per_doc_cap = n if len(engine.documents) == 1 else max(1, n // 2)
    for tried, (doc_id, subject, question, span) in enumerate(candidates(engine)):
        if tried >= MAX_TRIED or len(out) >= n:
            break
        # Spread examples over documents and subjects.
        if (per_doc.get(doc_id, 0) >= per_doc_cap or question in seen
                or subjects.get(subject.lower(), 0) >= 2):
            continue
        seen.add(question)
        result = engine.ask(question, 1)
        if result.no_answer or not result.answers:
            continue
        # Keep it only when the engine finds the very span the question was made from,
        # and is sure of it.
        best = result.answers[0]
        c = best.citation
        if (c.document != doc_id or (c.start, c.end) != span
                or best.score < MIN_CONFIDENCE):
            continue
        out.append(question)
        per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
        subjects[subject.lower()] = subjects.get(subject.lower(), 0) + 1
    return out


def candidates(engine: "Engine"):
    """``(doc_id, subject, question, span)`` for clauses that read as answerable,
    from at most about :data:`SCANNED_PASSAGES` passages.

    ``span`` is where the answer stands in the document's text.
    """
    count = len(engine.passages)
    for k in range(0, count, max(1, count // SCANNED_PASSAGES)):
        passage, ann = engine.passages[k], engine.annotations[k]
        text = passage.text
        names = {text[ann.starts[i]:ann.ends[i]] for i in range(len(ann))
                 if ann.pos[i] == "PROPN"}
        for s, e, lab in ann.ents:
            if lab in NAME_LABELS:
                names.update(text[ann.starts[i]:ann.ends[i]] for i in range(s, e))
        for s, e, label in ann.ents:
            if label not in WH_FOR:
                continue
            verb = _governing_verb(ann, e - 1)
            if verb is None or ann.lemmas[verb] in REPORTING or ann.lemmas[verb] in STATIVE:
                continue
            subject = _subject(ann, text, verb, names)
            if subject is None:
                continue
            name, passive = subject
            wh = WH_FOR[label]
            if passive:
                aux = next((text[ann.starts[i]:ann.ends[i]].lower() for i in range(len(ann))
                            if ann.heads[i] == verb and ann.deps[i] == "auxpass"), "was")
                words = [wh, aux, name, text[ann.starts[verb]:ann.ends[verb]].lower()]
            else:
                words = [wh, "did", name, ann.lemmas[verb]]
            obj = _object(ann, text, verb, (s, e))
            if obj:
                words.append(obj)
            elif _has_object(ann, verb):
                continue   # "When did MMC contain?": the object is missing, the question odd
            span = (passage.start + ann.starts[s], passage.start + ann.ends[e - 1])
            yield passage.doc_id, name, " ".join(words) + "?", span


# Verbs of saying make vague questions ("When did X say?").
REPORTING = frozenset("say tell add note explain write claim admit describe reveal state "
                      "report ask answer reply suggest show mention".split())
# Verbs of being and having make odd questions ("When did MMC contain?").
STATIVE = frozenset("be have contain include consist comprise remain seem appear become "
                    "hold involve require need own belong lack mean represent cover exist "
                    "know use make get do take".split())
MIN_CONFIDENCE = 0.5   # an example must be answered with at least this confidence


def _has_object(ann, verb: int) -> bool:
    """Whether the verb takes a direct object or clausal complement."""
    return any(ann.heads[i] == verb and ann.deps[i] in ("dobj", "attr")
               for i in range(len(ann)))


def _governing_verb(ann, i: int) -> int | None:
    """The verb that a token's phrase hangs from (through prepositions and nouns)."""
    for _ in range(6):
        head = ann.heads[i]
        if head == i:
            return None
        if ann.pos[head] == "VERB":
            return head
        if ann.pos[head] not in ("ADP", "NOUN", "PROPN", "NUM"):
            return None
        i = head
    return None


def _subject(ann, text: str, verb: int, names: set[str]) -> tuple[str, bool] | None:
    """The name that is the verb's subject, and whether the verb is passive."""
    for i in range(len(ann)):
        if ann.heads[i] != verb or ann.deps[i] not in ("nsubj", "nsubjpass"):
            continue
        word = text[ann.starts[i]:ann.ends[i]]
        if word not in names or not word[:1].isupper():
            return None
        # The whole name: compounds before the head word ("John Cairncross").
        first = i
        while first > 0 and ann.heads[first - 1] == i and ann.deps[first - 1] in (
                "compound", "flat") and ann.pos[first - 1] == "PROPN":
            first -= 1
        name = " ".join(text[ann.starts[first]:ann.ends[i]].split())
        if first > 0 and ann.heads[first - 1] == i and ann.lemmas[first - 1] == "the":
            name = "the " + name
        return name, ann.deps[i] == "nsubjpass"
    return None


def _object(ann, text: str, verb: int, answer: tuple[int, int]) -> str:
    """The verb's direct object when it is a short phrase (and not the answer)."""
    for i in range(len(ann)):
        if ann.heads[i] != verb or ann.deps[i] != "dobj" or ann.pos[i] == "PRON":
            continue
        left = i
        while left > 0 and ann.heads[left - 1] == i and ann.deps[left - 1] in (
                "det", "amod", "compound", "poss", "nummod"):
            left -= 1
        if i - left > 4 or answer[0] <= i < answer[1]:
            return ""
        return " ".join(text[ann.starts[left]:ann.ends[i]].split())
    return ""
