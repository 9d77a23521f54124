"""How far the cross-validated numbers move with LightGBM's seed alone (``make model ARGS="--seeds N"``).

Bagging and feature sampling are seeded, so two models learned from the same
candidates differ; measured in session 11, NewsQA moved by 1.7 points and the
pool's threshold by 0.06 between seeds. A change to the features earns its
place only by a gain larger than that.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

from . import models

# (seed, threshold, summaries by source as train.cv_report gives them)
Run = tuple[int, float, Mapping[str, Mapping[str, float]]]

COLUMNS = (("squad1 pool", "f1_always"), ("squad1 pool", "f1"), ("newsqa", "f1_always"),
           ("newsqa", "f1"), ("squad2 (11 articles)", "combined_f1"))
HEADER = "seed    thr   squad1 always  @thr   newsqa always  @thr   squad2 combined"


@contextmanager
def lightgbm_seed(seed: int) -> Iterator[None]:
    """Every model of :mod:`askfiles.learn.models` learned with ``seed``, restored after."""
    params = (models.RANKER_PARAMS, models.SENTENCE_PARAMS, models.CONF_PARAMS)
    before = [p["seed"] for p in params]
    for p in params:
        p["seed"] = seed
    try:
        yield
    finally:
        for p, s in zip(params, before):
            p["seed"] = s


def _line(label: str, thr: str, values: Sequence[str]) -> str:
    a, b, c, d, e = values
    return f"{label:<7} {thr:<5} {a:<14} {b:<6} {c:<14} {d:<6} {e}"


def spread_lines(runs: Sequence[Run]) -> list[str]:
    """The runs as a table: one line per seed, then the range and the mean of each column."""
    lines = [HEADER]
    for seed, thr, sums in runs:
        lines.append(_line(str(seed), f"{thr:.2f}",
                           [f"{sums[src][key]:.3f}" for src, key in COLUMNS]))
    if len(runs) > 1:
        thrs = [t for _, t, _ in runs]
        cols = [[sums[src][key] for _, _, sums in runs] for src, key in COLUMNS]
        lines.append(_line("range", f"{max(thrs) - min(thrs):.2f}",
                           [f"{max(c) - min(c):.3f}" for c in cols]))
        lines.append(_line("mean", f"{sum(thrs) / len(thrs):.2f}",
                           [f"{sum(c) / len(c):.3f}" for c in cols]))
    return lines
