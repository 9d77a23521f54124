"""The evaluation data and its protocol: which articles are learned from, which only reported on.

See ``../shared/eval/README.md``. Learning (weights, features, thresholds) uses
the *training pool* only: SQuAD v1.1 dev articles 1-24, the SQuAD v2.0 dev
parts (11 articles, all among 1-24) and the shared half of NewsQA dev.
SQuAD v1.1 dev articles 25-48 are *evaluation only*.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..formats import title_of
from ..records import Document

EVAL_DIR = Path(os.environ.get("ASKFILES_EVAL_DIR",
                               Path(__file__).resolve().parents[4] / "shared" / "eval"))
SQUAD1 = "dev-v1.1.json"
SQUAD2 = ("squad2-dev-8articles.json", "dev-v2.0-5articles.json")
NEWSQA = "newsqa-dev-public.json"
POOL_ARTICLES = 24   # SQuAD v1.1 dev: the first 24 articles are the pool, the rest held out


@dataclass
class Article:
    """One corpus (its documents) and the questions asked of it."""

    source: str            # "squad1", "squad2" or "newsqa"
    name: str              # the article title; the cross-validation group
    documents: list[Document]
    questions: list[dict] = field(default_factory=list)   # {id, question, answers, type?}


def _read(name: str) -> list[dict]:
    path = EVAL_DIR / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the evaluation data lives in ../shared/eval beside the "
            "repository; set ASKFILES_EVAL_DIR to its folder.")
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def _squad_article(source: str, art: dict) -> Article:
    """One SQuAD article: one document per paragraph (``<title>#<n>``)."""
    t = art["title"]
    docs, qs = [], []
    for i, p in enumerate(art["paragraphs"]):
        docs.append(Document(f"{t}#{i}", t.replace("_", " "), p["context"], {"format": "txt"}))
        for qa in p["qas"]:
            golds = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
            qs.append({"id": qa["id"], "question": qa["question"], "answers": golds})
    return Article(source, t, docs, qs)


def squad1(split: str = "pool") -> list[Article]:
    """SQuAD v1.1 dev: ``pool`` (articles 1-24), ``eval`` (25-48) or ``all``."""
    arts = _read(SQUAD1)
    chosen = {"pool": arts[:POOL_ARTICLES], "eval": arts[POOL_ARTICLES:], "all": arts}[split]
    return [_squad_article("squad1", a) for a in chosen]


def squad2() -> list[Article]:
    """The 11 SQuAD v2.0 dev articles of the pool (answerable and unanswerable questions)."""
    seen: dict[str, Article] = {}
    for name in SQUAD2:
        for a in _read(name):
            if a["title"] not in seen:
                seen[a["title"]] = _squad_article("squad2", a)
    return list(seen.values())


def newsqa() -> list[Article]:
    """The shared NewsQA articles: one article = one document = one corpus."""
    out = []
    for i, art in enumerate(_read(NEWSQA)):
        text = art["paragraphs"][0]["context"]
        name = f"newsqa-{i:03d}"
        doc = Document(f"{name}.txt", title_of(text, name), text, {"format": "txt"})
        qs = [{"id": qa["id"], "question": qa["question"],
               "answers": list(dict.fromkeys(a["text"].strip() for a in qa["answers"]))}
              for qa in art["paragraphs"][0]["qas"]]
        out.append(Article("newsqa", name, [doc], qs))
    return out


def pool() -> list[Article]:
    """Everything that may be learned from."""
    return squad1("pool") + squad2() + newsqa()
