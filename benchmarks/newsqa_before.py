"""Numbers from before issue 9: the linear engine on NewsQA (per type) and SQuAD 2.0 (11 articles).

Run it in a checkout of commit 9888ef5 (the last one with the linear model), e.g.
    git worktree add --detach /tmp/askfiles-before 9888ef5
    cd /tmp/askfiles-before && cp <this file> benchmarks/ && \\
    PYTHONPATH=src:benchmarks python benchmarks/newsqa_before.py
It uses that commit's benchmarks/squad_data.py and weights.json.
"""
import json, sys
from collections import defaultdict
from pathlib import Path
import squad_data as sd
from askfiles.evaluate import Tally, question_type, table
from askfiles.formats import title_of
from askfiles.records import Document

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
def newsqa():
    out = []
    for i, art in enumerate(json.loads((EVAL / "newsqa-dev-public.json").read_text())["data"]):
        text = art["paragraphs"][0]["context"]
        name = f"newsqa-{i:03d}"
        docs = [Document(f"{name}.txt", title_of(text, name), text, {"format": "txt"})]
        qs = [{"question": qa["question"], "answers": list(dict.fromkeys(a["text"].strip() for a in qa["answers"]))}
              for qa in art["paragraphs"][0]["qas"]]
        out.append((docs, qs))
    return out
def squad2():
    seen = {}
    for f in ("squad2-dev-8articles.json", "dev-v2.0-5articles.json"):
        for a in json.loads((EVAL / f).read_text())["data"]:
            seen.setdefault(a["title"], a)
    return [(sd.documents(a), sd.questions(a)) for a in seen.values()]
for name, arts in (("newsqa", newsqa()), ("squad2", squad2())):
    cache = sd.AnnotationCache("before-" + name)
    cache.annotate([p.text for docs, _ in arts for p in sd.split_documents(docs)]); cache.save()
    for thr in (None, 0.0):
        tallies = defaultdict(Tally)
        for docs, qs in arts:
            eng = sd.build_engine(docs, cache, {"no_answer_threshold": thr} if thr is not None else None)
            for rec in qs:
                r = eng.ask(rec["question"], 1)
                top = r.answers[0] if r.answers else None
                for key in ("all", question_type(rec)):
                    tallies[key].add(rec["answers"], r.no_answer, top.answer if top else "", top.snippet if top else "")
        a = tallies["all"]
        comb = (a.f1 + a.correct_abstain) / a.n
        print(f"## before: {name}, threshold {'default 0.3' if thr is None else thr}: combined F1 {comb:.3f}, always-abstain {a.unanswerable / a.n:.3f}")
        print(table(tallies)); sys.stdout.flush()
