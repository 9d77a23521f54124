"""Question analysis: retrieval terms, entities, years, wh-word and expected answer type."""

from __future__ import annotations

import re

from . import wordnet
from .index import terms
from .records import Entity, Question

WH_WORDS = ("what", "which", "who", "whom", "whose", "when", "where", "why", "how")
PERSON = ("PERSON", "ORG", "NORP")
DATE = ("DATE", "TIME")
PLACE = ("GPE", "LOC", "FAC", "ORG")
COUNT = ("CARDINAL", "QUANTITY", "MONEY", "PERCENT")

HOW = {
    "many": ("CARDINAL", "QUANTITY", "DATE"),
    "much": ("MONEY", "QUANTITY", "CARDINAL", "PERCENT"),
    "long": ("DATE", "TIME", "QUANTITY"),
    "old": ("DATE", "CARDINAL"),
    "far": ("QUANTITY",),
    "large": ("QUANTITY", "CARDINAL"),
    "big": ("QUANTITY", "CARDINAL"),
    "often": ("DATE", "TIME"),
}

# Head nouns of "what/which X" questions that name the kind of answer.
HEAD_TYPES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("year", "date", "day", "month", "century", "decade", "era", "period",
     "time", "age", "season"): DATE,
    ("city", "country", "state", "town", "place", "nation", "region", "continent",
     "county", "province", "capital", "location", "island", "area", "village",
     "river", "mountain", "ocean", "sea", "street", "district"): ("GPE", "LOC", "FAC"),
    ("university", "college", "school", "company", "organization", "organisation",
     "team", "office", "government", "party", "agency", "department", "ministry",
     "firm", "corporation", "newspaper", "network", "band", "club", "institution",
     "court", "service", "group", "body", "committee", "league"): ("ORG",),
    ("person", "man", "woman", "president", "king", "queen", "leader", "author",
     "writer", "scientist", "player", "spy", "officer", "journalist", "emperor",
     "pope", "minister", "chancellor", "controller", "coach", "director", "founder",
     "singer", "actor", "artist", "name"): ("PERSON",),
    ("language", "nationality", "religion"): ("NORP", "LANGUAGE"),
    ("percentage", "percent", "proportion"): ("PERCENT",),
    ("number", "amount", "population", "size", "count"): ("CARDINAL", "QUANTITY"),
    ("cost", "price", "sum", "salary", "fee"): ("MONEY",),
}
_HEAD_INDEX = {w: types for words, types in HEAD_TYPES.items() for w in words}

# A question about the document itself names it and asks only for its metadata.
DOC_NOUNS = frozenset(("article", "document", "story", "report", "piece", "post", "page",
                       "text", "file", "essay", "letter", "memo"))
DOC_ASPECTS = frozenset(("publish", "write", "date", "author", "release", "post", "appear",
                         "title", "call", "name", "date", "issue", "print"))

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


def wh_and_head(words: list[str], lemmas: list[str], pos: list[str]) -> tuple[str, str]:
    """The wh-phrase ("who", "how many", "what") and the head noun it asks about."""
    lower = [w.lower() for w in words]
    for i, w in enumerate(lower):
        if w in WH_WORDS:
            nxt = lower[i + 1] if i + 1 < len(lower) else ""
            if w == "how" and nxt in HOW:
                # "how many years" -> head "year": the unit the answer counts
                head = lemmas[i + 2] if i + 2 < len(lower) and pos[i + 2] == "NOUN" else ""
                return f"how {nxt}", head
            if w in ("what", "which", "whose"):
                # "what year", "which university", "what kind of city" -> head noun
                for j in range(i + 1, min(i + 5, len(lower))):
                    if pos[j] in ("NOUN", "PROPN") and lemmas[j] not in ("kind", "type", "sort"):
                        return w, lemmas[j]
                    if pos[j] in ("AUX", "VERB", "ADP"):
                        break
                # "what is the name of ..." -> the subject noun
                for j in range(i + 1, len(lower)):
                    if pos[j] == "NOUN":
                        return w, lemmas[j]
            return w, ""
    return "", ""


def expected_types(wh: str, head: str) -> tuple[str, ...]:
    """Entity labels an answer to this wh-phrase should carry; () if any phrase will do."""
    if head in _HEAD_INDEX and wh in ("what", "which", "whose", "how many", "how much"):
        if wh.startswith("how ") and _HEAD_INDEX[head] == DATE:
            return HOW[wh.split()[1]]  # "how many years" counts years, it is not a date
        return _HEAD_INDEX[head]
    if wh in ("who", "whom", "whose"):
        return PERSON
    if wh == "when":
        return DATE
    if wh == "where":
        return PLACE
    if wh.startswith("how "):
        return HOW[wh.split()[1]]
    return ()


def is_about_doc(lemmas: list[str], pos: list[str]) -> bool:
    """True for "When was the article published?", "Who wrote this document?"."""
    content = [lem for lem, p in zip(lemmas, pos) if p in ("NOUN", "VERB", "PROPN", "ADJ")]
    return (any(lem in DOC_NOUNS for lem in content)
            and all(lem in DOC_NOUNS or lem in DOC_ASPECTS for lem in content))


def gap_preposition(words: list[str], pos: list[str], deps: list[str],
                    heads: list[int]) -> str:
    """The preposition whose object the question asks for.

    "In which city did he confess?" -> "in" (it governs the wh-phrase);
    "What did he work as at Bletchley Park?" -> "as" (stranded, no object);
    "What subject did he lecture in?" -> "in" (its object is the wh-phrase).
    """
    lower = [w.lower() for w in words]
    wh = next((i for i, w in enumerate(lower) if w in WH_WORDS), None)
    phrase = set()
    if wh is not None:
        if wh > 0 and pos[wh - 1] == "ADP":
            return lower[wh - 1]
        phrase = {wh, heads[wh]} if deps[wh] == "det" else {wh}
    for i, p in enumerate(pos):
        if p != "ADP" or deps[i] != "prep":
            continue
        objects = [j for j in range(len(words)) if j != i and heads[j] == i and deps[j] == "pobj"]
        if not objects or any(j in phrase for j in objects):
            return lower[i]
    return ""


def wh_relation(words: list[str], deps: list[str], heads: list[int]) -> str:
    """How the asked-for phrase hangs in the question: "nsubj" for "Who recruited him?".

    "Which city ..." asks through its noun ("which" is its det); the answer
    usually stands in the same relation in the text's sentence.
    """
    wh = next((i for i, w in enumerate(words) if w.lower() in WH_WORDS), None)
    if wh is None:
        return ""
    if deps[wh] in ("det", "advmod", "amod") and heads[wh] != wh and words[wh].lower() != "how":
        return deps[heads[wh]]
    if words[wh].lower() == "how" and heads[wh] != wh and deps[wh] == "advmod":
        h = heads[wh]
        if deps[h] in ("amod", "advmod") and heads[h] != h:  # "how many years": the noun
            return deps[heads[h]]
    return deps[wh]


def proper_noun_runs(tokens: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Character ranges of runs of proper nouns: the names a question mentions."""
    runs: list[tuple[int, int]] = []
    for start, end, pos in tokens:
        if pos != "PROPN":
            continue
        if runs and runs[-1][1] in (start, start - 1):
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def analyse(text: str, parse) -> Question:
    """A :class:`Question` from its text; ``parse`` is the spaCy pipeline call."""
    doc = parse(text)
    words = [t.text for t in doc]
    lemmas = [t.lemma_.lower() for t in doc]
    pos = [t.pos_ for t in doc]
    wh, head = wh_and_head(words, lemmas, pos)
    ents = tuple(Entity(text[a:b], "PROPN", a, b) for a, b in proper_noun_runs(
        [(t.idx, t.idx + len(t.text), t.pos_) for t in doc]))
    return Question(
        text=text,
        terms=tuple(terms(text)),
        lemmas=tuple(lemmas),
        entities=ents,
        years=tuple(_YEAR.findall(text)),
        wh=wh,
        head=head,
        expected=expected_types(wh, head),
        about_doc=is_about_doc(lemmas, pos),
        gap_prep=gap_preposition(words, pos, [t.dep_ for t in doc], [t.head.i for t in doc]),
        wh_dep=wh_relation(words, [t.dep_ for t in doc], [t.head.i for t in doc]),
        root=next((t.lemma_.lower() for t in doc if t.dep_ == "ROOT"
                   and t.pos_ in ("VERB", "AUX")), ""),
        expansions=expansions(words, lemmas, pos),
    )


_EXPAND_POS = frozenset(("NOUN", "VERB", "ADJ", "ADV"))


def expansions(words: list[str], lemmas: list[str], pos: list[str]
               ) -> tuple[tuple[str, frozenset[str]], ...]:
    """(index term, WordNet relatives of the lemma) of each common content word."""
    out = []
    for w, lem, p in zip(words, lemmas, pos):
        t = terms(w)
        if p in _EXPAND_POS and len(t) == 1:
            rel = wordnet.related(lem)
            if rel:
                out.append((t[0], rel))
    return tuple(out)
