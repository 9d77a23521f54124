"""Candidate spans of every question of some articles, as feature matrices with their F1."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from ..evaluate import best_of, exact, f1_score, question_type
from ..features import CATEGORICAL, SPAN_FEATURES
from .cache import AnnotationCache, build_engine
from .pool import Article


class _NoModel:
    """Stands in for the learned model while collecting (only candidates are needed)."""

    threshold = 0.0


@dataclass
class Collected:
    """One question's candidates: features (categoricals as codes), F1/EM, places."""

    source: str
    article: str
    qtype: str
    answerable: bool
    x: np.ndarray            # (candidates, len(SPAN_FEATURES)) float32
    f1: np.ndarray
    em: np.ndarray
    places: list             # (passage, (first, end)) per candidate
    keys: list[str]          # normalised answer text per candidate
    unseen: float
    bm25_raw: float


class Codes:
    """Categorical values -> integer codes, growing as values are met."""

    def __init__(self):
        self.values: dict[str, dict[str, int]] = {n: {} for n in CATEGORICAL}

    def code(self, name: str, value: str) -> float:
        table = self.values[name]
        if value not in table:
            table[value] = len(table)
        return float(table[value])

    def vocab(self) -> dict[str, list[str]]:
        """Values in code order (the index of a value is its code)."""
        return {n: sorted(t, key=t.get) for n, t in self.values.items()}


COLUMN = {n: j for j, n in enumerate(SPAN_FEATURES)}
CAT = frozenset(CATEGORICAL)


def _row(f: dict, codes: Codes, out: np.ndarray) -> None:
    for k, v in f.items():
        j = COLUMN.get(k)
        if j is not None:
            out[j] = codes.code(k, v) if k in CAT else v


def collect(articles: list[Article], cache: AnnotationCache, codes: Codes,
            limit: int | None = None) -> list[Collected]:
    """Ask (without a model) every question of every article against its own corpus."""
    out: list[Collected] = []
    t0 = time.time()
    for n, art in enumerate(articles):
        engine = build_engine(art.documents, cache, scorer=_NoModel())
        for rec in art.questions[:limit]:
            q = engine.analyse(rec["question"])
            feats, cands, hits, _ = engine.candidates(q)
            golds = rec["answers"]
            x = np.zeros((len(cands), len(SPAN_FEATURES)), dtype=np.float32)
            f1 = np.zeros(len(cands), dtype=np.float32)
            em = np.zeros(len(cands), dtype=np.float32)
            keys = engine.answer_keys(cands)
            for i, (sm, span, _) in enumerate(cands):
                _row(feats[i], codes, x[i])
                if golds:
                    ann, text = engine.annotations[sm.passage], engine.passages[sm.passage].text
                    answer = text[ann.starts[span[0]]:ann.ends[span[1] - 1]]
                    f1[i] = best_of(f1_score, answer, golds)
                    em[i] = best_of(exact, answer, golds) if f1[i] > 0 else 0.0
            out.append(Collected(
                art.source, art.name, question_type(rec), bool(golds), x, f1, em,
                [(sm.passage, span) for sm, span, _ in cands], keys,
                engine.unseen_share(q), hits[0][1] if hits else 0.0))
        if n % 25 == 0:
            print(f"  {art.source} {n + 1}/{len(articles)} articles, {len(out)} questions, "
                  f"{time.time() - t0:.0f}s", file=sys.stderr)
    return out
