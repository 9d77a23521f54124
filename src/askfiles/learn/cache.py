"""spaCy annotations of evaluation passages, cached on disk as JSON (never pickle)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from .. import nlp
from ..engine import Corpus, Engine
from ..records import Annotation, Document
from ..split import split_documents

CACHE_DIR = Path(os.environ.get("ASKFILES_LEARN_CACHE",
                                Path.home() / ".cache" / "askfiles" / "learn"))


class AnnotationCache:
    """Annotations keyed by the hash of the passage text and the pipeline version."""

    def __init__(self, name: str = "annotations"):
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.path = CACHE_DIR / f"{name}-v{nlp.PIPELINE_VERSION}.json"
        self.data: dict[str, dict] = {}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
        self.dirty = False

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def annotate(self, texts: Sequence[str]) -> list[Annotation]:
        """Annotations of ``texts``, annotating (on both cores) only what is new."""
        missing = [t for t in dict.fromkeys(texts) if self.key(t) not in self.data]
        if missing:
            t0 = time.time()
            n_proc = 2 if len(missing) > 400 else 1
            for t, a in zip(missing, nlp.annotate(missing, n_process=n_proc)):
                self.data[self.key(t)] = a.to_json()
            print(f"annotated {len(missing)} passages in {time.time() - t0:.0f}s",
                  file=sys.stderr)
            self.dirty = True
            self.save()
        return [Annotation.from_json(self.data[self.key(t)]) for t in texts]

    def save(self) -> None:
        if self.dirty:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            os.replace(tmp, self.path)
            self.dirty = False


def build_engine(docs: list[Document], cache: AnnotationCache, config=None,
                 scorer=None) -> Engine:
    """An Engine over in-memory documents, through the real splitter."""
    passages = split_documents(docs)
    anns = cache.annotate([p.text for p in passages])
    return Engine(Corpus(tuple(docs), tuple(passages), tuple(anns)), config, scorer)


def prefetch(docs: list[Document], cache: AnnotationCache) -> None:
    """Annotate every passage of these documents in one batch."""
    cache.annotate([p.text for p in split_documents(docs)])
