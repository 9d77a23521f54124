"""SQuAD articles as askfiles corpora, with spaCy annotations cached on disk (JSON).

Shared by benchmarks/squad.py (quality tables) and benchmarks/train_weights.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from askfiles import nlp  # noqa: E402
from askfiles.engine import Corpus, Engine  # noqa: E402
from askfiles.records import Annotation, Document  # noqa: E402
from askfiles.rerank import SpanScorer  # noqa: E402
from askfiles.split import split_documents  # noqa: E402

SQUAD = Path(os.environ.get("SQUAD_DEV", ROOT.parent / "shared" / "eval" / "dev-v1.1.json"))
CACHE = Path(os.environ.get("ASKFILES_BENCH_CACHE", "/tmp/askfiles-bench"))


def articles(path: Path = SQUAD) -> list[dict]:
    """The SQuAD file's articles, in file order."""
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def documents(article: dict) -> list[Document]:
    """One document per paragraph, id ``<title>#<n>``, as squad_to_corpus.py names them."""
    t = article["title"]
    return [Document(f"{t}#{i}", t.replace("_", " "), p["context"], {"format": "txt"})
            for i, p in enumerate(article["paragraphs"])]


def questions(article: dict) -> list[dict]:
    """Question records with gold answers (empty for SQuAD 2.0 unanswerables)."""
    out = []
    for i, p in enumerate(article["paragraphs"]):
        for qa in p["qas"]:
            golds = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
            out.append({"id": qa["id"], "question": qa["question"], "answers": golds,
                        "passage_id": f"{article['title']}#{i}"})
    return out


class AnnotationCache:
    """spaCy annotations keyed by passage text hash, kept in one JSON file."""

    def __init__(self, name: str):
        CACHE.mkdir(parents=True, exist_ok=True)
        self.path = CACHE / f"{name}.json"
        self.data: dict[str, dict] = {}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
        self.dirty = False

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def annotate(self, texts: list[str]) -> list[Annotation]:
        missing = [t for t in dict.fromkeys(texts) if self.key(t) not in self.data]
        if missing:
            t0 = time.time()
            n_proc = 2 if len(missing) > 400 else 1
            for t, a in zip(missing, nlp.annotate(missing, n_process=n_proc)):
                self.data[self.key(t)] = a.to_json()
            print(f"annotated {len(missing)} passages in {time.time() - t0:.0f}s",
                  file=sys.stderr)
            self.dirty = True
        return [Annotation.from_json(self.data[self.key(t)]) for t in texts]

    def save(self) -> None:
        if self.dirty:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            os.replace(tmp, self.path)
            self.dirty = False


def build_engine(docs: list[Document], cache: AnnotationCache, config=None,
                 weights: Path | None = None) -> Engine:
    """An Engine over in-memory documents, through the real splitter."""
    passages = split_documents(docs)
    anns = cache.annotate([p.text for p in passages])
    scorer = SpanScorer.load(weights) if weights else None
    return Engine(Corpus(tuple(docs), tuple(passages), tuple(anns)), config, scorer)


def prefetch(arts: list[dict], cache: AnnotationCache) -> None:
    """Annotate every passage of these articles in one batch (uses both cores)."""
    docs = [d for a in arts for d in documents(a)]
    cache.annotate([p.text for p in split_documents(docs)])
    cache.save()
