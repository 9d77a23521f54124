"""Scoring: passages from BM25 plus evidence, answer spans and confidence by learned models.

No spaCy import: every input is a plain record or a dict of named features,
so the scoring can be tested with hand-made values.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Mapping, Sequence

import numpy as np

from .features import (STACKED, Encoder, SpanRows, cascade_scores, fill_stacked, ranked_part,
                       sentence_matrix, spread_scores)

MODEL_DIR = Path(__file__).with_name("model")
UNSEEN_GATE = 0.5  # share of the question's names unseen in the corpus where confidence falls
UNSEEN_WORDS_CUT = 0.25  # confidence kept when all the question's other words are unseen
# Prediction on the calling thread. A Booster loaded from a file does not apply the
# file's num_threads to predict: without this every call starts OpenMP's default
# team (one thread per CPU), whose spinning threads cost several times the work
# itself on a busy server (ranker: 7-8 ms of CPU per call against 1.5 ms).
PREDICT_PARAMS = {"num_threads": 1}
# The span ranker's trees cost most of a question's scoring time (200 trees over
# about 170 spans, 1.6 ms): its first CASCADE_TREES trees pick the CASCADE_ROWS
# spans the other trees score (features.cascade_scores), 43% of the work. The
# same best span as every tree over every span for 99.9% of the 9,543 answerable
# pool questions. `make model` scores the pool this way too, so the confidence
# model learns from the same scores, and records the setting in model.json.
# Cross-validated F1 always answering: SQuAD pool 0.496 (0.499 without),
# NewsQA 0.380 (0.379); held out 0.520 (0.521) (BENCHMARKS, session 9).
CASCADE_TREES = 60
CASCADE_ROWS = 32


def tree_sums(booster, threads: int = PREDICT_PARAMS["num_threads"]):
    """``predict(x, start, count)`` for :func:`features.cascade_scores`: the sum of a
    LightGBM booster's trees ``start .. start + count`` (``count`` None: to the last)."""

    def predict(x: np.ndarray, start: int, count: int | None) -> np.ndarray:
        return booster.predict(x, start_iteration=start,
                               num_iteration=-1 if count is None else count,
                               num_threads=threads)

    return predict


def gated(p: float, unseen_ents: float, unseen_words: float = 0.0) -> float:
    """A confidence cut when half the names the question mentions or more appear nowhere.

    "Who wrote bzip2?" of files that never name bzip2: the corpus cannot
    answer. The pool hardly has such questions (they are written from the
    article at hand), so the model cannot learn it; the cut is set. Unseen
    *words* are left to the model: news questions paraphrase ("deployment"
    for "troops"), and cutting on them cost 2.7 points of NewsQA F1 in
    cross-validation.
    """
    if unseen_words:
        # Every word of the question outside its names is absent ("Where was
        # Cairncross born?" of an article that never says "born").
        p *= UNSEEN_WORDS_CUT
    return p * (1.0 - unseen_ents) if unseen_ents >= UNSEEN_GATE else p


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
    return overlap_shares(places, [i])[0]


def overlap_shares(places: Sequence[tuple[float, Hashable]], indices: Sequence[int]
                   ) -> list[float]:
    """:func:`overlap_share` of each candidate in ``indices``, the softmax worked out once."""
    m = max(s for s, _ in places)
    exps = [math.exp(score - m) for score, _ in places]
    total = 0.0
    for e in exps:
        total += e
    out = []
    for i in indices:
        _, (passage, (a, b)) = places[i]
        mine = 0.0
        for e, (_, (pj, (c, d))) in zip(exps, places):
            if pj == passage and c < b and a < d:
                mine += e
        out.append(mine / total)
    return out


class AnswerModel:
    """The learned models: LightGBM sentence and span rankers and a confidence model.

    All are stored in LightGBM's own text format beside ``model.json``
    (feature names, categorical values, the no-answer threshold), never pickled.
    Built by ``askfiles.learn.train`` (``make model``). The sentence ranker
    judges each candidate's sentence as a whole; its verdict is three more
    features of every span (``features.STACKED``).
    """

    def __init__(self, ranker, confidence, spec: Mapping, sentences=None):
        self.ranker = ranker
        self.conf = confidence
        self.sentences = sentences
        self.spec = dict(spec)
        self.span_names = list(spec["span_features"])
        self._col = {n: j for j, n in enumerate(self.span_names)}
        self.answer_names = list(spec["answer_features"])
        self.vocab = spec["vocab"]
        self.answer_vocab = spec["answer_vocab"]
        self._spans = Encoder(self.span_names, self.vocab)
        self._answers = Encoder(self.answer_names, self.answer_vocab)
        # Only the spans of the sentence model's best few sentences are ranked
        # (None: all); the rest come after them (features.spread_scores).
        self.ranked_sentences = spec.get("ranked_sentences")
        # The ranker cascade the model was learned with ([trees, spans]; a model
        # written before it had none and scores every span with every tree).
        self._cascade = tuple(spec.get("cascade") or (0, 0))
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> "AnswerModel":
        """The shipped model (learned on the training pool only)."""
        lgb = _lightgbm()
        folder = Path(folder)
        spec = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        ranker = lgb.Booster(model_file=str(folder / "ranker.txt"))
        conf = lgb.Booster(model_file=str(folder / "confidence.txt"))
        sentences = (lgb.Booster(model_file=str(folder / "sentence.txt"))
                     if spec.get("sentence_features") else None)
        return cls(ranker, conf, spec, sentences)

    @property
    def threshold(self) -> float:
        """The no-answer threshold chosen on the training pool."""
        return float(self.spec.get("threshold", 0.3))

    def score(self, rows: SpanRows | Sequence[dict[str, float | str]]) -> np.ndarray:
        """Ranking scores of candidate spans (higher is better).

        With a sentence model, each row also gets its sentence's verdict
        (the ``features.STACKED`` values) for ``--explain``: kept in ``rows``
        (a :class:`SpanRows`), or written into each dict of a plain list.
        """
        if not len(rows):
            return np.zeros(0)
        table = rows if isinstance(rows, SpanRows) else SpanRows.of(rows)
        x = self._spans.rows_matrix(table)
        with self._lock:
            if self.sentences is None:
                return self.ranker.predict(x, **PREDICT_PARAMS)
            sid, s = sentence_matrix(x, self._col)
            fill_stacked(x, self._col, sid, self.sentences.predict(s, **PREDICT_PARAMS))
            table.stacked = x[:, [self._col[n] for n in STACKED]]
            if table is not rows:
                for row, values in zip(rows, table.stacked.tolist()):
                    row.update(zip(STACKED, values))
            keep, ranked = ranked_part(x, self._col, self.ranked_sentences)
            return spread_scores(x, self._col, keep, cascade_scores(
                tree_sums(self.ranker), ranked, *self._cascade))

    def contributions(self, row: Mapping[str, float | str], top: int = 8
                      ) -> list[tuple[str, float]]:
        """The features that moved one span's score most (SHAP values from LightGBM)."""
        x = self._spans.matrix([row])
        with self._lock:
            contrib = self.ranker.predict(x, pred_contrib=True, **PREDICT_PARAMS)[0][:-1]
        named = []
        for name, c in zip(self.span_names, contrib):
            if c:
                v = row.get(name, 0.0)
                named.append((f"{name}={v}" if isinstance(v, str) else name, float(c)))
        return sorted(named, key=lambda x: -abs(x[1]))[:top]

    def confidence(self, answers: Sequence[Mapping[str, float | str]]) -> np.ndarray:
        """0..1 per answer: how likely it is right (a calibrated probability)."""
        if not answers:
            return np.zeros(0)
        x = self._answers.matrix(answers)
        with self._lock:
            p = self.conf.predict(x, **PREDICT_PARAMS)
        return np.array([gated(float(v), float(row.get("unseen_ents", 0.0)),
                               float(row.get("unseen_words", 0.0)))
                         for v, row in zip(p, answers)])


# Set, not learned: no training question asks about the document itself ("When was
# the article published?"), so nothing teaches that its opening lines (a date line,
# a byline) answer such questions. Such questions read those lines first.
HEADER_PRIOR = 10.0
HEADER_LINE_PRIOR = 2.0


def with_priors(feats: SpanRows, scores: np.ndarray) -> np.ndarray:
    """Scores with the set (not learned) preference for a document's opening lines."""
    out = np.asarray(scores, dtype=float).copy()
    headers = {k for k, s in enumerate(feats.sentences) if s.get("doc_header")}
    if headers:
        for i, k in enumerate(feats.sentence_of):
            if k in headers:
                out[i] += HEADER_PRIOR + (HEADER_LINE_PRIOR
                                          if feats.spans[i].get("doc_header_line") else 0.0)
    return out


def _lightgbm():
    """LightGBM, imported without its optional Dask, pandas and scikit-learn bridges.

    Where those are installed (Dask comes with ``askfiles[cluster]``) LightGBM
    imports them at once, which alone takes seconds; prediction needs none.
    """
    import sys

    if "lightgbm" in sys.modules:
        return sys.modules["lightgbm"]
    blocked = [m for m in ("dask", "pandas", "sklearn") if m not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # import fails fast
    try:
        import lightgbm
    finally:
        for name in blocked:
            sys.modules.pop(name, None)
    return lightgbm


class OnDemand:
    """``f(items[i])`` for each ``i`` asked for, worked out only when asked (and again
    each time): keys for :func:`pick_answers`, which reads few of them."""

    def __init__(self, f, items: Sequence):
        self.f = f
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.f(x) for x in self.items[i]]
        return self.f(self.items[i])


def pick_answers(keys: Sequence[str], places: Sequence[tuple[int, tuple[int, int]]],
                 scores: np.ndarray, k: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The best ``k`` distinct answers: (rank, candidate index) pairs, and the ranking order.

    One answer per place: a span overlapping a better one in the same passage
    ("War" inside "the War Office"), or with the same text, is the same answer.
    """
    order = np.argsort(-scores, kind="stable")
    picked: list[tuple[int, int]] = []
    seen: set[str] = set()
    taken: list[tuple[int, tuple[int, int]]] = []
    for r, i in enumerate(order):
        i = int(i)
        passage, (a, b) = places[i]
        if keys[i] in seen or any(p == passage and c < b and a < d for p, (c, d) in taken):
            continue
        seen.add(keys[i])
        taken.append(places[i])
        picked.append((r, i))
        if len(picked) >= k:
            break
    return order, picked


Features = Mapping[str, float | str]

# Span features an answer row takes over as they are (0 where the span has none);
# "unseen_words" is not a model input, it feeds the set cut in :func:`gated`.
FROM_SPAN = ("type_match", "q_ents_sent", "q_ents_resolved", "p_qents", "p_bm25",
             "missing_idf", "missing_terms", "bigrams", "q_root_in_sent", "unseen_ents",
             "unseen_words", "missing_idf2", "missing_idf_p", "neg_mismatch", "q_nums_sent",
             "repeats", "win_l3", "win_r3", "sent_model", "sent_share", "syn_match",
             "missing_idf_syn")


def answer_rows(feats: Sequence[Features] | Mapping[int, Features],
                places: Sequence[tuple[int, tuple[int, int]]], scores: np.ndarray,
                order: np.ndarray, picked: Sequence[tuple[int, int]], unseen: float,
                bm25_raw: float) -> list[dict[str, float | str]]:
    """The confidence model's features for each picked answer (see features.ANSWER_FEATURES).

    Only the picked candidates' features are read: ``feats`` may be a list of
    all of them or a mapping from candidate index to the picked ones.
    """
    values = np.asarray(scores, dtype=np.float64).tolist()
    ranked = [(values[i], places[i]) for i in np.asarray(order).tolist()]
    shares = overlap_shares(ranked, [r for r, _ in picked])
    # How many of the picked answers have the expected type: a question whose
    # best candidates all lack it ("when" with no date near) is likely unanswerable.
    type_share = sum(1 for _, i in picked if feats[i].get("type_match", 0.0) > 0) / len(picked)
    rows = []
    for n, (r, i) in enumerate(picked):
        f = feats[i]
        nxt = float(scores[picked[n + 1][1]]) if n + 1 < len(picked) else float(scores[i]) - 5.0
        rows.append({
            "wh": f["wh"], "head_class": f["head_class"], "lab": f["lab"],
            "score": float(scores[i]), "gap": float(scores[i]) - nxt,
            "share": shares[n], "second_share": shares[1] if len(shares) > 1 else 0.0,
            "n_candidates": math.log1p(len(places)), "sent_match": f["sent_match"],
            "unseen": unseen, "bm25_raw": bm25_raw,
            "q_terms": f["q_terms"], "q_ents": f["q_ents"], "n_tokens": f["n_tokens"],
            "type_share": type_share, "rank": float(n),
            **{name: f.get(name, 0.0) for name in FROM_SPAN},
        })
    return rows
