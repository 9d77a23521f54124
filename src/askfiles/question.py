"""Question analysis: retrieval terms, entities, years, wh-word and expected answer type."""

from __future__ import annotations

import re

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

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


def wh_and_head(words: list[str], lemmas: list[str], pos: list[str]) -> tuple[str, str]:
    """The wh-phrase ("who", "how many", "what") and the head noun it asks about."""
    lower = [w.lower() for w in words]
    for i, w in enumerate(lower):
        if w in WH_WORDS:
            nxt = lower[i + 1] if i + 1 < len(lower) else ""
            if w == "how" and nxt in HOW:
                return f"how {nxt}", ""
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
    if head in _HEAD_INDEX and wh in ("what", "which", "whose"):
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


def analyse(text: str, parse) -> Question:
    """A :class:`Question` from its text; ``parse`` is the spaCy pipeline call."""
    doc = parse(text)
    words = [t.text for t in doc]
    lemmas = [t.lemma_.lower() for t in doc]
    pos = [t.pos_ for t in doc]
    wh, head = wh_and_head(words, lemmas, pos)
    ents = tuple(Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents)
    return Question(
        text=text,
        terms=tuple(terms(text)),
        lemmas=tuple(lemmas),
        entities=ents,
        years=tuple(_YEAR.findall(text)),
        wh=wh,
        head=head,
        expected=expected_types(wh, head),
    )
