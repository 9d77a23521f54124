"""Pure scoring: passages from BM25 plus evidence, answer spans from their features.

No spaCy import: every input is a plain record or a dict of named features,
so the scoring can be tested with hand-made values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

WEIGHTS_FILE = Path(__file__).with_name("weights.json")


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
        w = self.weights
        return sum(w.get(name, 0.0) * value for name, value in features.items())

    def confidence(self, top: float, scores: Iterable[float], coverage: float) -> float:
        """0..1: how likely the best span answers the question.

        Combines the span's share of the softmax over all candidates with
        ``coverage``, the idf-weighted share of the question found in its
        sentence: a question the corpus does not mention scores low.
        """
        scores = list(scores)
        m = max(scores)
        share = math.exp(top - m) / sum(math.exp(s - m) for s in scores)
        c = self.calibration
        z = (c.get("bias", -2.0) + c.get("share", 2.0) * share
             + c.get("coverage", 5.0) * coverage + c.get("score", 0.0) * top)
        return 1.0 / (1.0 + math.exp(-z))
