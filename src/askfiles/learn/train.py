"""``make model``: rebuild the shipped model from the training pool and report on held-out data.

    python -m askfiles.learn.train                # collect, cross-validate, train, write, report
    python -m askfiles.learn.train --no-write     # report only
    python -m askfiles.learn.train --ablate       # also: each new feature group left out (CV)

Protocol (``../shared/eval/README.md``): everything is learned from the
training pool (SQuAD v1.1 dev articles 1-24, the SQuAD v2.0 parts, the NewsQA
half); features, settings and the no-answer threshold are chosen by 5-fold
cross-validation *by article* inside it; SQuAD v1.1 articles 25-48 are only
reported on, through ``Engine.ask`` with the written model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..features import ANSWER_CATEGORICAL, ANSWER_FEATURES, SENTENCE_FEATURES, SPAN_FEATURES
from ..rerank import CASCADE_ROWS, CASCADE_TREES, MODEL_DIR, gated
from . import pool
from .cache import AnnotationCache
from .collect import Codes, Collected, collect
from .models import (RANKED_SENTENCES, RIGHT_F1, SEED, answer_matrix, answers_of,
                     fit_confidence, fit_ranker, fit_sentences, ranker_scores, stacked)
from .spread import lightgbm_seed, spread_lines

FOLDS = 5
# Feature groups added for issue 9, each kept only for a cross-validated gain.
ABLATIONS = {
    "neighbour sentences": {"rows": ("neighbour", 1.0)},
    "clause spans": {"rows": ("src", "clause")},
    "number+unit spans": {"rows": ("src", "unit")},
    "question-subject coverage": {"drop": ("q_ents_sent", "q_ents_resolved")},
    "dateline": {"drop": ("in_dateline",)},
    # session 3
    "windows around the span": {"drop": ("win_l3", "win_r3", "win_l8", "win_r8",
                                         "match_left", "match_right")},
    "parse relations": {"drop": ("up_path", "wh_dep", "dep_agrees")},
    "edge parts of speech": {"drop": ("first_pos", "last_pos")},
    "repeats": {"drop": ("repeats",)},
    "places and modifying clauses": {"drop": ("is_country", "is_region", "child_in_q",
                                              "clause_child_in_q")},
    # session 6 (the confidence model still reads sent_model and sent_share)
    "sentence model in the ranker": {"drop": ("sent_model", "sent_share", "sent_model_rank")},
}


def folds_of(data: list[Collected]) -> np.ndarray:
    """Fold number of each question: whole articles per fold, balanced by question count."""
    sizes: dict[str, int] = defaultdict(int)
    for d in data:
        sizes[d.article] += 1
    load = [0] * FOLDS
    fold_of: dict[str, int] = {}
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):
        k = min(range(FOLDS), key=lambda i: load[i])
        fold_of[name] = k
        load[k] += sizes[name]
    return np.array([fold_of[d.article] for d in data])


def _without(data: list[Collected], rows: tuple[str, object] | None, vocab) -> list[Collected]:
    """Questions with some candidate rows removed (for ablations of candidate sources)."""
    if rows is None:
        return data
    name, value = rows
    j = SPAN_FEATURES.index(name)
    if isinstance(value, str):
        if value not in vocab[name]:
            return data
        value = float(vocab[name].index(value))
    out = []
    for d in data:
        keep = d.x[:, j] != value
        out.append(Collected(d.source, d.article, d.qtype, d.answerable, d.x[keep], d.f1[keep],
                             d.em[keep], [p for p, k in zip(d.places, keep) if k],
                             [s for s, k in zip(d.keys, keep) if k], d.unseen, d.bm25_raw))
    return out


THREADS = 2  # LightGBM threads while cross-validating (--threads)
RANKED = RANKED_SENTENCES  # sentences whose spans the ranker scores (--ranked-sentences)


def sentence_folds(data: list[Collected], folds: np.ndarray
                   ) -> tuple[dict[int, object], list[Collected]]:
    """A sentence model per fold (trained on the other folds), and every question with
    its sentence columns filled in by the model of its own fold (so out of fold)."""
    models = {k: fit_sentences([d for d, f in zip(data, folds) if f != k], threads=THREADS)
              for k in sorted(set(folds.tolist()))}
    return models, [stacked(d, models[int(f)], THREADS) for d, f in zip(data, folds)]


def fold_models(data: list[Collected], folds: np.ndarray, drop=()) -> list:
    """One ranker per fold, trained on the other folds' articles.

    Its training questions get their sentence columns from sentence models
    trained on the other training folds (nested), as a new question gets them
    from a sentence model that never saw it.
    """
    out = []
    for k in range(FOLDS):
        t0 = time.time()
        idx = np.flatnonzero(folds != k)
        _, train = sentence_folds([data[i] for i in idx], folds[idx])
        out.append(fit_ranker(train, drop=drop, threads=THREADS))
        print(f"  ranker fold {k + 1}/{FOLDS}: {time.time() - t0:.0f}s", file=sys.stderr)
    return out


def scores_of(models, data: list[Collected], folds: np.ndarray, drop=()) -> list[np.ndarray]:
    """Ranking scores of every question's candidates from its fold's model."""
    return [ranker_scores(models[k], d, RANKED, drop, THREADS)
            for d, k in zip(data, folds)]


def answer_table(data, scores, vocab):
    """Per question: the picked answers' rows, their F1 and EM."""
    out = []
    for d, s in zip(data, scores):
        picked = answers_of(d, s, vocab)
        out.append([(row, float(d.f1[i]), float(d.em[i])) for i, row in picked])
    return out


def conf_models(table, folds, vocab) -> list:
    """One confidence model per fold, trained on the other folds' answers."""
    return [fit_confidence(*_conf_xy([t for t, f in zip(table, folds) if f != k], vocab),
                           threads=THREADS) for k in range(FOLDS)]


def conf_of(models, table, folds, vocab, gate: bool = True) -> list[np.ndarray]:
    """Confidence of every picked answer from its fold's model (with the unseen-words cut)."""
    out = []
    for t, k in zip(table, folds):
        if not t:
            out.append(np.zeros(0))
            continue
        p = models[k].predict(answer_matrix([r for r, _, _ in t], vocab), num_threads=THREADS)
        out.append(np.array([gated(float(v), float(r["unseen_ents"]), float(r["unseen_words"]))
                             if gate else float(v)
                             for v, (r, _, _) in zip(p, t)]))
    return out


def _conf_xy(table, vocab):
    rows, ys = [], []
    for answers in table:
        for row, f1, _ in answers:
            rows.append(row)
            ys.append(1.0 if f1 >= RIGHT_F1 else 0.0)
    return answer_matrix(rows, vocab), np.array(ys)


def top_of(answers, conf):
    """The shown answer: the most confident of the picked ones; (conf, f1, em)."""
    if not answers:
        return 0.0, 0.0, 0.0
    j = int(np.argmax(conf))
    return float(conf[j]), answers[j][1], answers[j][2]


def summarise(data, table, conf, threshold, keep=None):
    """F1/EM always answering and with the threshold, combined F1 with unanswerables."""
    sel = [i for i in range(len(data)) if keep is None or keep(data[i])]
    tot = defaultdict(float)
    for i in sel:
        c, f1, em = top_of(table[i], conf[i])
        answered = c >= threshold
        if data[i].answerable:
            tot["n_ans"] += 1
            tot["f1_always"] += f1
            tot["em_always"] += em
            tot["f1"] += f1 if answered else 0.0
            tot["em"] += em if answered else 0.0
            tot["combined"] += f1 if answered else 0.0
            tot["abstained_ans"] += 0 if answered else 1
        else:
            tot["n_unans"] += 1
            tot["combined"] += 0.0 if answered else 1.0
            tot["abstained_unans"] += 0 if answered else 1
    n_ans = tot["n_ans"] or 1
    n = len(sel) or 1
    return {
        "questions": len(sel), "answerable": int(tot["n_ans"]),
        "unanswerable": int(tot["n_unans"]),
        "f1_always": tot["f1_always"] / n_ans, "em_always": tot["em_always"] / n_ans,
        "f1": tot["f1"] / n_ans, "em": tot["em"] / n_ans,
        "combined_f1": tot["combined"] / n, "always_abstain": tot["n_unans"] / n,
        "abstained_answerable": int(tot["abstained_ans"]),
        "abstained_unanswerable": int(tot["abstained_unans"]),
    }


def best_threshold(data, table, conf, keep=None) -> float:
    """The threshold that maximises combined F1 over the questions ``keep`` selects."""
    best, best_t = -1.0, 0.0
    for t in np.arange(0.0, 0.951, 0.01):
        s = summarise(data, table, conf, t, keep)["combined_f1"]
        if s > best + 1e-9:
            best, best_t = s, float(round(t, 2))
    return best_t


def choose_threshold(data, table, conf, folds: np.ndarray) -> float:
    """The no-answer threshold: the median of the best thresholds of each FOLDS-1 folds.

    Combined F1 over the pool is flat near its top (0.17-0.24 within 0.3
    points), so its single best point moved by up to 0.05 between models that
    rank alike. The best point of each four-fold part (out-of-fold confidences)
    is as noisy; their median is not (0.20 and 0.19 for the models with and
    without the ranker cascade, whose single best points were 0.24 and 0.19).
    """
    fold_of = {id(d): int(f) for d, f in zip(data, folds)}
    picks = [best_threshold(data, table, conf, lambda d, k=k: fold_of[id(d)] != k)
             for k in range(FOLDS)]
    return float(round(float(np.median(picks)), 2))


def reliability(data, table, conf, bins: int = 10) -> list[dict]:
    """Predicted confidence vs observed share right (F1 >= 0.5), by decile of confidence."""
    pairs = []
    for i, d in enumerate(data):
        c, f1, _ = top_of(table[i], conf[i])
        if table[i] or not d.answerable:
            pairs.append((c, 1.0 if (d.answerable and f1 >= RIGHT_F1) else 0.0))
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [(c, y) for c, y in pairs if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if sel:
            out.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": len(sel),
                        "predicted": sum(c for c, _ in sel) / len(sel),
                        "observed": sum(y for _, y in sel) / len(sel)})
    return out


def by_type(data, table, conf, threshold, source):
    """F1 (always answering and with the threshold) per question type, one source."""
    types = sorted({d.qtype for d in data if d.source == source},
                   key=lambda t: -sum(1 for d in data if d.source == source and d.qtype == t))
    return {t: summarise(data, table, conf, threshold,
                         lambda d, t=t: d.source == source and d.qtype == t) for t in types}


def fmt_summary(name: str, s: dict) -> str:
    return (f"{name:<28} n={s['questions']:>5}  F1 always {s['f1_always']:.3f}  "
            f"EM always {s['em_always']:.3f}  F1@thr {s['f1']:.3f}  "
            f"combined {s['combined_f1']:.3f} (always abstain {s['always_abstain']:.3f})  "
            f"abstained {s['abstained_answerable']}+{s['abstained_unanswerable']}")


def cv_report(data, vocab, drop=(), threshold=None, extra=(), gate: bool = True):
    """Out-of-fold scores, confidences and summaries for one feature set.

    ``extra`` questions (the answerable SQuAD v2.0 ones, copies of pool questions)
    are scored by the models of their article's fold but never trained on.
    """
    folds = folds_of(data)
    fold_of = {d.article: k for d, k in zip(data, folds)}
    sentence_models, data = sentence_folds(data, folds)
    rankers = fold_models(data, folds, drop)
    scores = scores_of(rankers, data, folds, drop)
    table = answer_table(data, scores, vocab)
    confs = conf_models(table, folds, vocab)
    conf = conf_of(confs, table, folds, vocab, gate)
    if threshold is None:
        threshold = choose_threshold(data, table, conf, folds)
    x_folds = np.array([fold_of[d.article] for d in extra], dtype=int)
    extra = [stacked(d, sentence_models[int(k)], THREADS) for d, k in zip(extra, x_folds)]
    x_table = answer_table(extra, scores_of(rankers, extra, x_folds, drop), vocab)
    x_conf = conf_of(confs, x_table, x_folds, vocab, gate)
    v2 = [i for i, d in enumerate(data) if d.source == "squad2"]
    v2_data = [data[i] for i in v2] + list(extra)
    v2_table = [table[i] for i in v2] + x_table
    v2_conf = [conf[i] for i in v2] + x_conf
    sums = {
        "squad1 pool": summarise(data, table, conf, threshold, lambda d: d.source == "squad1"),
        "newsqa": summarise(data, table, conf, threshold, lambda d: d.source == "newsqa"),
        "squad2 (11 articles)": summarise(v2_data, v2_table, v2_conf, threshold),
    }
    return data, table, conf, threshold, sums


def main(argv=None) -> int:
    global THREADS, RANKED
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--ablate", action="store_true",
                    help="also retrain without each feature group and without the set cut")
    ap.add_argument("--measure-gate", action="store_true",
                    help="also cross-validate without the unseen-names cut")
    ap.add_argument("--limit", type=int, help="questions per article (quick runs)")
    ap.add_argument("--seeds", type=int, default=1,
                    help="also cross-validate with N-1 more LightGBM seeds and print how "
                         "far the numbers move (the noise a change must beat)")
    ap.add_argument("--no-heldout", action="store_true")
    ap.add_argument("--collected", type=Path,
                    help="keep the collected candidates in this .npz (and reuse it when present)")
    ap.add_argument("--threads", type=int, default=THREADS,
                    help="LightGBM threads for cross-validation (1 on a busy machine: "
                         "oversubscribed threads are many times slower)")
    ap.add_argument("--ranked-sentences", type=int, default=RANKED_SENTENCES or 0,
                    help="the ranker scores the spans of the sentence model's best N "
                         "sentences (0: of every sentence)")
    args = ap.parse_args(argv)
    THREADS = args.threads
    RANKED = args.ranked_sentences or None
    t0 = time.time()
    cache = AnnotationCache()
    codes = Codes()
    arts = pool.squad1("pool") + pool.squad2() + pool.newsqa()
    print(f"collecting {sum(len(a.questions) for a in arts)} pool questions "
          f"from {len(arts)} articles", file=sys.stderr)
    if args.collected and args.collected.exists():
        try:
            data, vocab = load_collected(args.collected)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    else:
        data = collect(arts, cache, codes, args.limit)
        vocab = codes.vocab()
        if args.collected:
            save_collected(args.collected, data, vocab)
    print(f"collected in {time.time() - t0:.0f}s; "
          f"{sum(len(d.f1) for d in data)} candidates", file=sys.stderr)
    # The ranker learns from SQuAD v1.1 and NewsQA; the v2.0 copies of the same
    # answerable questions only serve the confidence model and the v2.0 report.
    rank_data = [d for d in data if d.source != "squad2" or not d.answerable]
    v2_answerable = [d for d in data if d.source == "squad2" and d.answerable]
    stacked_data, table, conf, threshold, sums = cv_report(rank_data, vocab,
                                                           extra=v2_answerable)
    print(f"\n## Cross-validated by article ({FOLDS} folds), threshold {threshold:.2f}")
    for name, s in sums.items():
        print(fmt_summary(name, s))
    report = {"threshold": threshold, "cv": sums}
    rel = reliability(rank_data, table, conf)
    print("\n## Reliability (pool, out-of-fold, top answer; right = F1 >= 0.5)")
    print("confidence  n      predicted  observed")
    for r in rel:
        print(f"{r['bin']:<10}  {r['n']:<5}  {r['predicted']:.3f}      {r['observed']:.3f}")
    report["reliability"] = rel
    for source in ("squad1", "newsqa"):
        print(f"\n## Per question type, {source} (cross-validated)")
        types = by_type(rank_data, table, conf, threshold, source)
        for t, s in types.items():
            print(f"{t:<10} n={s['questions']:>5}  F1 always {s['f1_always']:.3f}  "
                  f"F1@thr {s['f1']:.3f}  EM always {s['em_always']:.3f}")
        report[f"types_{source}"] = types
    if args.seeds > 1:
        runs = [(SEED, threshold, sums)]
        for seed in range(SEED + 1, SEED + args.seeds):
            with lightgbm_seed(seed):
                _, _, _, t2, s2 = cv_report(rank_data, vocab, extra=v2_answerable)
            runs.append((seed, t2, s2))
        print(f"\n## The same, learned with other LightGBM seeds (the shipped model: {SEED})")
        print("\n".join(spread_lines(runs)))
        report["seeds"] = [{"seed": s, "threshold": t, "cv": c} for s, t, c in runs]
    if args.ablate or args.measure_gate:
        _, _, _, t2, s2 = cv_report(rank_data, vocab, extra=v2_answerable, gate=False)
        print(f"\nwithout the unseen-names cut (threshold {t2:.2f}): " + "; ".join(
            f"{k} combined {s2[k]['combined_f1']:.3f} (with it {sums[k]['combined_f1']:.3f})"
            for k in sums))
        report["gate"] = {k: [s2[k]["combined_f1"], sums[k]["combined_f1"]] for k in sums}
    if args.ablate:
        print("\n## Ablations (cross-validated, F1 always answering)")
        base = {k: sums[k]["f1_always"] for k in ("squad1 pool", "newsqa")}
        report["ablations"] = {}
        for name, how in ABLATIONS.items():
            d2 = _without(rank_data, how.get("rows"), vocab)
            x2 = _without(v2_answerable, how.get("rows"), vocab)
            _, _, _, _, s2 = cv_report(d2, vocab, how.get("drop", ()), threshold, x2)
            gain = {k: base[k] - s2[k]["f1_always"] for k in base}
            report["ablations"][name] = gain
            print(f"without {name:<30} squad1 {s2['squad1 pool']['f1_always']:.3f} "
                  f"(gain of keeping {gain['squad1 pool']:+.3f})  newsqa "
                  f"{s2['newsqa']['f1_always']:.3f} (gain {gain['newsqa']:+.3f})")
    if not args.no_write:
        write(args.out, rank_data, stacked_data, table, vocab, threshold, report)
    if not args.no_heldout:
        from .heldout import heldout_report
        report["heldout"] = heldout_report(args.out if not args.no_write else None, cache)
    print(f"\ndone in {time.time() - t0:.0f}s", file=sys.stderr)
    Path("/tmp/askfiles-model-report.json").write_text(json.dumps(report, indent=1))
    return 0


def save_collected(path: Path, data: list[Collected], vocab) -> None:
    """The collected candidates as NumPy arrays and JSON (no pickle), to rerun quickly."""
    meta = [{"source": d.source, "article": d.article, "qtype": d.qtype,
             "answerable": d.answerable, "unseen": d.unseen, "bm25_raw": d.bm25_raw,
             "keys": d.keys, "places": [[p, list(s)] for p, s in d.places]} for d in data]
    np.savez(path, x=np.concatenate([d.x for d in data]),
             f1=np.concatenate([d.f1 for d in data]), em=np.concatenate([d.em for d in data]),
             sizes=np.array([len(d.f1) for d in data]),
             meta=np.array(json.dumps({"questions": meta, "vocab": vocab})))


def load_collected(path: Path):
    """Inverse of :func:`save_collected`."""
    z = np.load(path, allow_pickle=False)
    if z["x"].ndim != 2 or z["x"].shape[1] != len(SPAN_FEATURES):
        raise ValueError(
            f"{path} holds candidates with {z['x'].shape[-1]} features, but the span model "
            f"now has {len(SPAN_FEATURES)}: it was collected by another version. Delete it "
            f"(or pass another --collected path) to collect the candidates again.")
    info = json.loads(str(z["meta"]))
    bounds = np.concatenate([[0], np.cumsum(z["sizes"])])
    x, f1, em = z["x"], z["f1"], z["em"]
    data = []
    for i, m in enumerate(info["questions"]):
        a, b = bounds[i], bounds[i + 1]
        data.append(Collected(m["source"], m["article"], m["qtype"], m["answerable"],
                              x[a:b], f1[a:b], em[a:b], [(p, tuple(s)) for p, s in m["places"]],
                              m["keys"], m["unseen"], m["bm25_raw"]))
    return data, info["vocab"]


def write(out: Path, data, stacked_data, table, vocab, threshold, report) -> None:
    """Train on the whole pool and write sentence.txt, ranker.txt, confidence.txt, model.json.

    The ranker learns from ``stacked_data``: sentence columns filled in out of
    fold, as the shipped sentence model (trained on everything) fills them for
    questions it never saw.
    """
    # Trained on one thread, so the files record num_threads=1; rerank passes it on
    # every call too, since a booster loaded from a file does not apply it.
    sentences = fit_sentences(data, threads=1)
    ranker = fit_ranker(stacked_data, threads=1)
    x, y = _conf_xy(table, vocab)
    conf = fit_confidence(x, y, threads=1)
    out.mkdir(parents=True, exist_ok=True)
    sentences.save_model(str(out / "sentence.txt"))
    ranker.save_model(str(out / "ranker.txt"))
    conf.save_model(str(out / "confidence.txt"))
    spec = {
        "note": "written by `make model` (python -m askfiles.learn.train) from the training "
                "pool only; do not edit by hand",
        "span_features": list(SPAN_FEATURES),
        "sentence_features": list(SENTENCE_FEATURES),
        "ranked_sentences": RANKED,
        "cascade": [CASCADE_TREES, CASCADE_ROWS],
        "vocab": vocab,
        "answer_features": list(ANSWER_FEATURES),
        "answer_vocab": {n: vocab[n] for n in ANSWER_CATEGORICAL},
        "threshold": threshold,
        "cv": {k: {m: round(v, 4) if isinstance(v, float) else v for m, v in s.items()}
               for k, s in report["cv"].items()},
    }
    (out / "model.json").write_text(json.dumps(spec, indent=1) + "\n")
    print(f"wrote {out}/sentence.txt, ranker.txt, confidence.txt, model.json", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
