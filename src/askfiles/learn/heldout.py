"""The held-out report: SQuAD v1.1 dev articles 25-48 through ``Engine.ask``, never learned from."""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

from ..evaluate import Tally, question_type, table
from ..rerank import MODEL_DIR, AnswerModel
from . import pool
from .cache import AnnotationCache, build_engine


def heldout_report(model_dir: Path | None, cache: AnnotationCache,
                   limit: int | None = None) -> dict:
    """EM/F1 per question type, always answering and with the model's threshold."""
    model = AnswerModel.load(model_dir or MODEL_DIR)
    arts = pool.squad1("eval")
    always: dict[str, Tally] = defaultdict(Tally)
    gated: dict[str, Tally] = defaultdict(Tally)
    t0 = time.time()
    for art in arts:
        engine = build_engine(art.documents, cache, {"no_answer_threshold": 0.0}, model)
        for rec in art.questions[:limit]:
            result = engine.ask(rec["question"], 1)
            top = result.answers[0] if result.answers else None
            answer, snippet = (top.answer, top.snippet) if top else ("", "")
            refused = top is None or top.score < model.threshold
            for key in ("all", question_type(rec)):
                always[key].add(rec["answers"], top is None, answer, snippet)
                gated[key].add(rec["answers"], refused, answer, snippet)
    print(f"\n## Held out: SQuAD v1.1 dev articles 25-48, one corpus per article "
          f"({time.time() - t0:.0f}s)")
    print("### always answering")
    print(table(always))
    print(f"### with the no-answer threshold ({model.threshold:.2f})")
    print(table(gated))
    sys.stdout.flush()
    a, g = always["all"], gated["all"]
    return {"f1_always": a.f1 / a.answerable, "em_always": a.em / a.answerable,
            "f1": g.f1 / g.answerable, "em": g.em / g.answerable,
            "abstained": g.false_abstain, "questions": a.n}
