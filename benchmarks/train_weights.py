"""Learn the span scorer's weights on the first 24 SQuAD v1.1 dev articles only.

    .venv/bin/python benchmarks/train_weights.py            # writes src/askfiles/weights.json

A listwise logistic model: for each question, a softmax over its candidate
spans; the target is the candidates whose text best matches a gold answer
(token F1). Then the confidence is calibrated: a logistic regression from
(softmax share, question coverage, score) to "top answer is right (F1 >= 0.5)".
Only the tuning articles are read; the last 24 stay for reporting.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import squad_data as sd

from askfiles.evaluate import best_of, f1_score
from askfiles.rerank import WEIGHTS_FILE, overlap_share

TUNE_ARTICLES = 24
# Five SQuAD 2.0 dev articles, all among the 24 tuning articles of v1.1 dev.
V2 = sd.SQUAD.with_name("dev-v2.0-5articles.json")
# Evidence SQuAD never shows (its questions are never about the article itself),
# so its weight is set, not learned: a document's opening lines (date, byline)
# answer questions about the document.
PRIORS = {"doc_header": 12.0, "doc_header_line": 4.0}


def collect(arts, cache, limit=None, unanswerable_only=False):
    """Per question: feature dicts, F1, coverage and place of each candidate.

    A question whose corpus holds no candidate at all is kept as an empty
    entry when it is unanswerable (abstaining on it is right, and free).
    """
    data = []
    for art in arts:
        engine = sd.build_engine(sd.documents(art), cache)
        for rec in sd.questions(art)[:limit]:
            if unanswerable_only and rec["answers"]:
                continue
            q = engine.analyse(rec["question"])
            cands, _, _ = engine.candidates(q)
            if not cands:
                continue
            unseen = engine.unseen_share(q)
            feats, f1s, covs, places = [], [], [], []
            for f, sm, span, label in cands:
                ann, text = engine.annotations[sm.passage], engine.passages[sm.passage].text
                answer = text[ann.starts[span[0]]:ann.ends[span[1] - 1]]
                feats.append(f)
                f1s.append(best_of(f1_score, answer, rec["answers"]))
                covs.append(sm.match)
                places.append((sm.passage, span))
            data.append((feats, np.array(f1s), np.array(covs), places, unseen))
    return data


def to_arrays(data, names):
    rows, cols, vals, seg = [], [], [], []
    r = 0
    for qi, (feats, *_) in enumerate(data):
        for f in feats:
            for k, v in f.items():
                if k in names:
                    rows.append(r)
                    cols.append(names[k])
                    vals.append(v)
            seg.append(qi)
            r += 1
    return (np.array(rows), np.array(cols), np.array(vals, dtype=float),
            np.array(seg), r)


def fit(data, names, l2=1e-3, epochs=300, lr=0.1):
    rows, cols, vals, seg, n = to_arrays(data, names)
    nq = len(data)
    f1 = np.concatenate([d[1] for d in data])
    best = np.zeros(nq)
    np.maximum.at(best, seg, f1)
    target = ((f1 >= best[seg] - 1e-9) & (best[seg] > 0)).astype(float)
    usable = best > 0
    w = np.zeros(len(names))
    m, v = np.zeros_like(w), np.zeros_like(w)
    starts = np.searchsorted(seg, np.arange(nq))
    for epoch in range(epochs):
        z = np.bincount(rows, weights=w[cols] * vals, minlength=n)
        zmax = np.maximum.reduceat(z, starts)
        e = np.exp(z - zmax[seg])
        p = e / np.add.reduceat(e, starts)[seg]
        pt = p * target
        pos = np.add.reduceat(pt, starts)
        loss = -np.sum(np.log(pos[usable] + 1e-12)) / usable.sum() + l2 * w @ w
        qt = np.where(target > 0, pt / np.maximum(pos[seg], 1e-12), 0.0)
        g_row = (p - qt) * usable[seg]
        grad = np.bincount(cols, weights=g_row[rows] * vals, minlength=len(w)) / usable.sum()
        grad += 2 * l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad ** 2
        w -= lr * (m / (1 - 0.9 ** (epoch + 1))) / (np.sqrt(v / (1 - 0.999 ** (epoch + 1))) + 1e-8)
        if epoch % 50 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch}: loss {loss:.4f}", file=sys.stderr)
    return w


def calibrate(data, names, w):
    """Logistic regression: (share, coverage, score, unseen) of the top span -> right or not.

    Unanswerable questions (no gold) count as "not right" whatever is on top.
    """
    xs, ys = [], []
    for feats, f1, cov, places, unseen in data:
        z = np.array([sum(w[names[k]] * v for k, v in f.items() if k in names) for f in feats])
        top = int(np.argmax(z))
        share = overlap_share(list(zip(z.tolist(), places)), top)
        xs.append([1.0, share, cov[top], z[top], unseen])
        ys.append(1.0 if f1[top] >= 0.5 else 0.0)
    x, y = np.array(xs), np.array(ys)
    np.savez("/tmp/askfiles-calibration.npz", x=x, y=y)
    c = fit_logistic(x, y)
    p = 1 / (1 + np.exp(-(x @ c)))
    print(f"calibration on {len(y)} questions: right {y.mean():.3f}, "
          f"accuracy {np.mean((p > 0.5) == y):.3f}", file=sys.stderr)
    return {"bias": c[0], "share": c[1], "coverage": c[2], "score": c[3], "unseen": c[4]}


def fit_logistic(x, y, l2=1e-3, steps=50):
    """Logistic regression by Newton's method (a handful of features, so exact and fast)."""
    c = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ c)))
        grad = x.T @ (p - y) + l2 * c
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(c))
        step = np.linalg.solve(hess, grad)
        c -= step
        if np.abs(step).max() < 1e-8:
            break
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="questions per article (quick runs)")
    ap.add_argument("--min-count", type=int, default=5, help="drop rarer features")
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    args = ap.parse_args()
    arts = sd.articles()[:TUNE_ARTICLES]
    cache = sd.AnnotationCache("squad-dev-v1.1")
    sd.prefetch(arts, cache)
    t0 = time.time()
    data = collect(arts, cache, args.limit)
    print(f"{len(data)} questions, {sum(len(d[0]) for d in data)} candidates "
          f"in {time.time() - t0:.0f}s", file=sys.stderr)
    counts: dict[str, int] = {}
    for feats, *_ in data:
        for f in feats:
            for k in f:
                counts[k] = counts.get(k, 0) + 1
    names = {k: i for i, k in enumerate(sorted(k for k, c in counts.items()
                                               if c >= args.min_count))}
    w = fit(data, names, l2=args.l2)
    v2 = sd.articles(V2)
    v2_cache = sd.AnnotationCache("squad-dev-v1.1")
    unanswerable = collect(v2, v2_cache, unanswerable_only=True)
    v2_cache.save()
    print(f"{len(unanswerable)} unanswerable SQuAD 2.0 questions for calibration",
          file=sys.stderr)
    cal = calibrate(data + unanswerable, names, w)
    for name, value in PRIORS.items():
        w = np.append(w, value)
        names[name] = len(w) - 1
    weights = {k: round(float(w[i]), 5) for k, i in names.items() if abs(w[i]) > 1e-4}
    out = {
        "note": "learned by benchmarks/train_weights.py on the first 24 SQuAD v1.1 dev "
                f"articles ({len(data)} questions); do not edit by hand",
        "weights": dict(sorted(weights.items())),
        "calibration": {k: round(float(v), 5) for k, v in cal.items()},
    }
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(weights)} weights to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
