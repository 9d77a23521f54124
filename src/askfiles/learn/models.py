"""Fitting the sentence and span rankers (LightGBM lambdarank) and the confidence model (binary)."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from ..features import (ANSWER_CATEGORICAL, ANSWER_FEATURES, CATEGORICAL, SENTENCE_CATEGORICAL,
                        SENTENCE_FEATURES, SPAN_FEATURES, cascade_scores, fill_stacked,
                        ranked_part, sentence_matrix, spread_scores)
from ..rerank import CASCADE_ROWS, CASCADE_TREES, answer_rows, pick_answers, tree_sums
from .collect import COLUMN, Collected

SEED = 7
RANKER_PARAMS = {
    "objective": "lambdarank", "metric": "ndcg", "eval_at": [1],
    "learning_rate": 0.08, "num_leaves": 31, "min_data_in_leaf": 50, "max_bin": 63,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
    "lambdarank_truncation_level": 20, "cat_smooth": 20, "min_data_per_group": 50,
    "num_threads": 2, "seed": SEED, "deterministic": True, "force_row_wise": True,
    "verbose": -1,
}
RANKER_ROUNDS = 200
TRAIN_ROWS = 100    # candidates per question kept for training (see training_rows)
CONF_PARAMS = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40,
    "feature_fraction": 0.9, "cat_smooth": 20, "num_threads": 2, "seed": SEED,
    "deterministic": True, "force_row_wise": True, "verbose": -1,
}
CONF_ROUNDS = 200
SENTENCE_PARAMS = {**RANKER_PARAMS, "min_data_per_group": 20}
SENTENCE_ROUNDS = 150
# With a number N (``make model ARGS="--ranked-sentences N"``), the span ranker
# scores only the spans of the sentence model's best N sentences
# (features.ranked_rows), still learning from every sentence's spans. Off by
# default: N=4 ranked as well out of fold (NewsQA 0.379 both) and cut ask time
# by about a tenth, but the pool's threshold rose from 0.19 to 0.22 and held-out
# F1 at the threshold fell from 0.475 to 0.457 (BENCHMARKS, session 7).
RANKED_SENTENCES: int | None = None
RIGHT_F1 = 0.5      # an answer counts as right from this token F1 up


def relevance(f1: np.ndarray) -> np.ndarray:
    """Graded labels for lambdarank: 0 (wrong) .. 3 (exact)."""
    return np.floor(f1 * 3 + 1e-6).astype(np.int32)


def trainable(d: Collected) -> bool:
    """An answerable question with a right span among its candidates."""
    return d.answerable and len(d.f1) > 0 and d.f1.max() > 0


def sentences_of(d: Collected) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's sentence and the sentence rows (see features.sentence_matrix)."""
    return sentence_matrix(d.x, COLUMN)


def sentence_relevance(d: Collected, sid: np.ndarray, n: int) -> np.ndarray:
    """Graded sentence labels: 2 holds an exact answer, 1 a right one (F1 >= 0.5), else 0."""
    best = np.zeros(n)
    np.maximum.at(best, sid, d.f1)
    return (best >= RIGHT_F1).astype(np.int32) + (best >= 0.99).astype(np.int32)


def fit_sentences(data: Sequence[Collected], threads: int = 2):
    """A lambdarank model over the sentences candidates come from: which holds the answer."""
    import lightgbm as lgb

    use = [d for d in data if trainable(d)]
    parts = [sentences_of(d) for d in use]
    x = np.concatenate([s for _, s in parts])
    y = np.concatenate([sentence_relevance(d, sid, len(s)) for d, (sid, s) in zip(use, parts)])
    ds = lgb.Dataset(x, y, group=[len(s) for _, s in parts],
                     feature_name=list(SENTENCE_FEATURES),
                     categorical_feature=list(SENTENCE_CATEGORICAL))
    return lgb.train({**SENTENCE_PARAMS, "num_threads": threads}, ds,
                     num_boost_round=SENTENCE_ROUNDS)


def stacked(d: Collected, sentence_model, threads: int = 2) -> Collected:
    """``d`` with its candidates' sentence-model columns filled in by ``sentence_model``."""
    if not len(d.f1):
        return d
    sid, s = sentences_of(d)
    x = d.x.copy()
    fill_stacked(x, COLUMN, sid, sentence_model.predict(s, num_threads=threads))
    return replace(d, x=x)


def fit_ranker(data: Sequence[Collected], rounds: int = RANKER_ROUNDS,
               drop: Sequence[str] = (), threads: int = 2):
    """A lambdarank model over the candidates of answerable questions with a right span.

    The sentence-model columns must be filled in already, out of fold (see
    :func:`stacked`): the ranker learns how far to trust the sentence model from
    scores it gives questions it was not trained on.
    """
    import lightgbm as lgb

    use = [d for d in data if trainable(d)]
    rows = [training_rows(d) for d in use]
    x = np.concatenate([d.x[r] for d, r in zip(use, rows)])
    y = np.concatenate([relevance(d.f1[r]) for d, r in zip(use, rows)])
    x = _dropped(x, drop)
    ds = lgb.Dataset(x, y, group=[len(r) for r in rows], feature_name=list(SPAN_FEATURES),
                     categorical_feature=list(CATEGORICAL), free_raw_data=True)
    return lgb.train({**RANKER_PARAMS, "num_threads": threads}, ds, num_boost_round=rounds)


def ranker_scores(model, d: Collected, ranked: int | None = RANKED_SENTENCES,
                  drop: Sequence[str] = (), threads: int = 2) -> np.ndarray:
    """The span ranker's scores of one question's candidates, as at question time
    (only the ranked sentences' spans scored, the first trees choosing the spans
    the rest score: see rerank.AnswerModel.score)."""
    if not len(d.f1):
        return np.zeros(0)
    keep, rows = ranked_part(d.x, COLUMN, ranked)
    return spread_scores(d.x, COLUMN, keep, cascade_scores(
        tree_sums(model, threads), _dropped(rows, drop), CASCADE_TREES, CASCADE_ROWS))


def training_rows(d: Collected, k: int = TRAIN_ROWS) -> np.ndarray:
    """Which candidates of a question to train on: all with F1 > 0, the rest a random sample.

    A uniform sample keeps the training candidates distributed as at question
    time (sampling mostly from the best sentences cost 15 points of F1 in
    cross-validation: the model never learned that far-off spans are wrong).
    A fixed seed per question keeps the choice deterministic.
    """
    n = len(d.f1)
    if n <= k:
        return np.arange(n)
    rng = np.random.default_rng(n * 7919 + int(d.f1.sum() * 1000))
    pos = np.flatnonzero(d.f1 > 0)
    neg = np.flatnonzero(d.f1 <= 0)
    keep = rng.choice(neg, size=max(k - len(pos), 0), replace=False)
    return np.sort(np.concatenate([pos, keep]))


def _dropped(x: np.ndarray, drop: Sequence[str]) -> np.ndarray:
    """``x`` with the named features blanked (for ablations): the model cannot use them."""
    if not drop:
        return x
    x = x.copy()
    for name in drop:
        j = SPAN_FEATURES.index(name)
        x[:, j] = np.nan if name in CATEGORICAL else 0.0
    return x


def decode(x_row: np.ndarray, vocab: dict[str, list[str]]) -> dict:
    """A feature row back into a feature dict (categorical codes -> strings)."""
    out = {}
    for j, name in enumerate(SPAN_FEATURES):
        v = x_row[j]
        if name in vocab:
            out[name] = vocab[name][int(v)] if v == v else ""
        else:
            out[name] = float(v)
    return out


def answers_of(d: Collected, scores: np.ndarray, vocab: dict[str, list[str]], k: int = 5):
    """The picked answers of one question: (candidate index, answer row) pairs."""
    if not len(scores):
        return []
    order, picked = pick_answers(d.keys, d.places, scores, k)
    feats = {i: decode(d.x[i], vocab) for _, i in picked}
    rows = answer_rows(feats, d.places, scores, order, picked, d.unseen, d.bm25_raw)
    return [(i, row) for (_, i), row in zip(picked, rows)]


def answer_matrix(rows: Sequence[dict], vocab: dict[str, list[str]]) -> np.ndarray:
    """Answer rows as a matrix, categoricals coded with the span vocabulary."""
    from ..features import matrix

    return matrix(rows, ANSWER_FEATURES, {n: vocab[n] for n in ANSWER_CATEGORICAL})


def fit_confidence(x: np.ndarray, y: np.ndarray, rounds: int = CONF_ROUNDS, threads: int = 2):
    """P(answer is right) from the answer rows."""
    import lightgbm as lgb

    ds = lgb.Dataset(x, y, feature_name=list(ANSWER_FEATURES),
                     categorical_feature=list(ANSWER_CATEGORICAL))
    return lgb.train({**CONF_PARAMS, "num_threads": threads}, ds, num_boost_round=rounds)
