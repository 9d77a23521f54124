"""Scoring answers against gold: SQuAD-style EM and F1, snippet hits, abstention."""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .evalfile import read_questions  # noqa: F401 - askfiles.evaluate.read_questions

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | set("‘’“”–—…£")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation or articles, single spaces."""
    text = "".join(c for c in text.lower() if c not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def f1_score(pred: str, gold: str) -> float:
    """Token F1 between a predicted and a gold answer, after normalisation."""
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or common == 0:
        return float(p == g)
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def best_of(metric: Callable[[str, str], float], pred: str, golds: Iterable[str]) -> float:
    """The metric against the closest of several gold answers."""
    return max((metric(pred, g) for g in golds), default=0.0)


def exact(pred: str, gold: str) -> float:
    """1.0 when the answers are equal after normalisation."""
    return float(normalize_answer(pred) == normalize_answer(gold))


def question_type(record: dict[str, Any]) -> str:
    """The record's ``type``, else its wh-phrase ("how many", "what", ...)."""
    if record.get("type"):
        return record["type"]
    words = re.findall(r"[a-z]+", record["question"].lower())
    for i, w in enumerate(words):
        if w == "how" and i + 1 < len(words) and words[i + 1] in ("many", "much"):
            return f"how {words[i + 1]}"
        if w in ("what", "which", "who", "whom", "whose", "when", "where", "why", "how"):
            return {"whom": "who", "whose": "who"}.get(w, w)
    return "other"


@dataclass
class Tally:
    """Running totals for one group of questions."""

    n: int = 0
    answerable: int = 0
    em: float = 0.0
    f1: float = 0.0
    snippet: int = 0
    false_abstain: int = 0
    unanswerable: int = 0
    correct_abstain: int = 0

    def add(self, golds: list[str], no_answer: bool, answer: str, snippet: str) -> dict:
        self.n += 1
        if not golds:
            self.unanswerable += 1
            self.correct_abstain += int(no_answer)
            return {"correct": no_answer}
        self.answerable += 1
        em = best_of(exact, answer, golds) if not no_answer else 0.0
        f1 = best_of(f1_score, answer, golds) if not no_answer else 0.0
        hit = any(normalize_answer(g) in normalize_answer(snippet) for g in golds)
        self.em += em
        self.f1 += f1
        self.snippet += int(hit)
        self.false_abstain += int(no_answer)
        return {"em": em, "f1": f1, "snippet_hit": hit}

    def row(self, name: str) -> list[str]:
        # EM, F1 and snippet are over the answerable questions only ("-" when there are
        # none); the unanswerable ones count in the last column.
        a = self.answerable
        rate = (lambda x: f"{x / a:.3f}") if a else (lambda x: "-")
        return [name, str(self.n), str(a), rate(self.em), rate(self.f1), rate(self.snippet),
                f"{self.false_abstain}", f"{self.correct_abstain}/{self.unanswerable}"]


HEADER = ["type", "n", "answerable", "EM", "F1", "snippet", "false abst.", "correct abst."]


def evaluate(records: list[dict[str, Any]], ask: Callable[[str], Any]
             ) -> tuple[dict[str, Tally], list[dict[str, Any]]]:
    """Ask every question; totals per question type (and ``all``) and per-question rows."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    rows = []
    for rec in records:
        result = ask(rec["question"])
        top = result.answers[0] if result.answers else None
        answer = top.answer if top else ""
        snippet = top.snippet if top else ""
        golds = list(rec.get("answers") or [])
        for key in ("all", question_type(rec)):
            outcome = tallies[key].add(golds, result.no_answer, answer, snippet)
        rows.append({"id": rec.get("id"), "question": rec["question"], "gold": golds,
                     "answer": None if result.no_answer else answer,
                     "no_answer": result.no_answer, **outcome})
    return dict(tallies), rows


def table(tallies: dict[str, Tally]) -> str:
    """A plain-text table, ``all`` first, then question types by count."""
    names = ["all"] + sorted((k for k in tallies if k != "all"),
                             key=lambda k: (-tallies[k].n, k))
    rows = [HEADER] + [tallies[k].row(k) for k in names if k in tallies]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))) for r in rows)
