"""Pure scoring: passages from BM25 plus evidence, answer spans from their features.

No spaCy import: every input is a plain record or a dict of named features,
so the scoring can be tested with hand-made values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Mapping, Sequence

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
UNSEEN_GATE = 0.5  # share of the question's terms unseen in the corpus where confidence falls


@dataclass(frozen=True)
class PassageEvidence:
    """What a retrieved passage offers beyond its BM25 score."""

    bm25: float              # this passage's BM25 over the best one's, 0..1
    expected_entities: int   # entities of the expected type not named in the question
    question_entities: float  # share of the question's entities found in the passage
    years: float             # share of the question's years found in the passage
    best_sentence: float     # idf-weighted share of question terms in its best sentence


PASSAGE_WEIGHTS = {"bm25": 1.0, "expected": 0.25, "qents": 0.5, "years": 0.5, "sentence": 1.0}


def passage_score(ev: PassageEvidence, w: Mapping[str, float] = PASSAGE_WEIGHTS) -> float:
    """BM25 combined with entity, year and proximity evidence."""
    return (w["bm25"] * ev.bm25
            + w["expected"] * min(ev.expected_entities, 2) / 2
            + w["qents"] * ev.question_entities
            + w["years"] * ev.years
            + w["sentence"] * ev.best_sentence)


def overlap_share(places: Sequence[tuple[float, Hashable]], i: int) -> float:
    """Softmax mass of candidate ``i`` and the candidates overlapping it.

    ``places`` holds (score, (passage, (first, end))) per candidate. Spans
    that overlap ("the War Office", "War Office") are one answer told two
    ways, so their probability is pooled rather than split.
    """
    m = max(s for s, _ in places)
    p_i, (passage, (a, b)) = places[i]
    total = mine = 0.0
    for score, (pj, (c, d)) in places:
        e = math.exp(score - m)
        total += e
        if pj == passage and c < b and a < d:
            mine += e
    return mine / total


class SpanScorer:
    """A linear model over named span features, with weights from a JSON file."""

    def __init__(self, weights: Mapping[str, float], calibration: Mapping[str, float]):
        self.weights = dict(weights)
        self.calibration = dict(calibration)

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> "SpanScorer":
        """The shipped model (learned on the first 24 SQuAD v1.1 dev articles)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["weights"], data.get("calibration", {}))

    def score(self, features: Mapping[str, float]) -> float:
        """The linear score of one span."""
        get = self.weights.get
        total = 0.0
        for name, value in features.items():
            total += get(name, 0.0) * value
        return total

    def confidence(self, top: float, share: float, coverage: float,
                   unseen: float = 0.0) -> float:
        """0..1: how likely a span answers the question.

        Combines the span's score, its share of the softmax over all
        candidates (see :func:`overlap_share`), ``coverage``, the idf-weighted
        share of the question found in its sentence, and ``unseen``, the share
        of the question's terms that no passage holds: a question about things
        the corpus never mentions scores low.
        """
        c = self.calibration
        z = (c.get("bias", -2.0) + c.get("share", 2.0) * share
             + c.get("coverage", 5.0) * coverage + c.get("score", 0.0) * top
             + c.get("unseen", 0.0) * unseen)
        p = 1.0 / (1.0 + math.exp(-z))
        # Half the question or more is about things no passage mentions ("Where was
        # he born?" when no text says "born"): the corpus cannot answer it. Only
        # 2.3% of the questions of the SQuAD tuning articles are like that.
        if unseen >= UNSEEN_GATE:
            p *= 1.0 - unseen
        return p
