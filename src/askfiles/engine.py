"""``Engine.ask``: retrieve -> rerank -> extract -> cite, over an index built once."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from . import nlp
from .config import load_config
from .dates import normalize
from .extract import (SentenceMatch, candidate_spans, match_sentences, span_features,
                      token_terms)
from .index import PassageIndex, terms
from .load import Skipped, load_corpus
from .question import analyse
from .records import (Annotation, Answer, Citation, Document, Passage, Question,
                      Result)
from .rerank import PassageEvidence, SpanScorer, passage_score
from .split import split_documents

log = logging.getLogger(__name__)

PASSAGES_READ = 4      # passages whose sentences are searched for the answer
SENTENCES_READ = 8     # sentences whose spans are scored
SNIPPET_MIN_CHARS = 60  # a shorter sentence is shown with its neighbour


@dataclass(frozen=True)
class Corpus:
    """Everything the engine answers from: documents, passages and their annotations."""

    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    annotations: Sequence[Annotation]   # a tuple, or the saved index's lazy table
    skipped: tuple[Skipped, ...] = ()
    report: Any = None                  # store.BuildReport: reuse, fingerprints, timings


def build_corpus(folder: Path | str, config: dict[str, Any] | None = None,
                 progress: Any = None) -> Corpus:
    """Load, split and annotate a corpus folder through the saved index
    (:mod:`askfiles.store`): only added or changed files are read and annotated."""
    from .store import open_corpus

    built = open_corpus(folder, load_config(config), progress)
    return Corpus(built.documents, built.passages, built.annotations, built.skipped,
                  built.report)


def corpus_version(docs: Sequence[Document]) -> str:
    """A short hash that changes whenever any document's id or text does."""
    h = hashlib.sha1()
    for d in sorted(docs, key=lambda d: d.id):
        h.update(d.id.encode("utf-8", "surrogatepass") + b"\0")
        h.update(hashlib.sha1(d.text.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()[:8]


class Engine:
    """Answers questions about one corpus; built once, then ``ask`` is cheap."""

    def __init__(self, corpus: Corpus, config: dict[str, Any] | None = None,
                 scorer: SpanScorer | None = None, index: PassageIndex | None = None):
        self.config = load_config(config)
        self.corpus = corpus
        self.documents = {d.id: d for d in corpus.documents}
        self.passages = corpus.passages
        self.annotations = corpus.annotations
        self._toks = lru_cache(maxsize=4096)(self._token_terms)
        self.index = index if index is not None else PassageIndex(
            [terms(p.text) for p in self.passages], self.config["sparse_threshold"])
        self.scorer = scorer or SpanScorer.load()
        self.version = corpus_version(corpus.documents)
        self._parse_lock = threading.Lock()
        # Unseen question terms weigh as much as the rarest possible term.
        n = max(len(self.passages), 1)
        self._unseen_idf = math.log(1.0 + (n + 0.5) / 0.5)

    @classmethod
    def from_folder(cls, folder: Path | str | None = None,
                    config: dict[str, Any] | None = None) -> "Engine":
        """Build an engine over a corpus folder (``ASKFILES_CORPUS`` when not given)."""
        cfg = load_config(config)
        return cls(build_corpus(folder or cfg["corpus"], cfg), cfg)

    def _token_terms(self, i: int) -> list[str]:
        return token_terms(self.annotations[i], self.passages[i].text)

    def _parse(self, text: str):
        with self._parse_lock:  # one spaCy pipeline shared by request threads
            return nlp.parse(text, self.config["spacy_model"])

    def analyse(self, question: str) -> Question:
        """The question's terms, entities and expected answer type."""
        return analyse(question, self._parse)

    def ask(self, question: str, top_k: int = 3, explain: bool = False) -> Result:
        """The best ``top_k`` answers to ``question``, each with its citation."""
        t0 = time.perf_counter()
        q = self.analyse(question)
        answers = self._answers(q, top_k, explain)
        threshold = self.config["no_answer_threshold"]
        no_answer = not answers or answers[0].score < threshold
        return Result(question, tuple(answers), no_answer, self.version,
                      (time.perf_counter() - t0) * 1000)

    # -- the pipeline -------------------------------------------------------

    def _idf(self, q: Question) -> dict[str, float]:
        return {t: (self.index.idf(t) or self._unseen_idf) for t in set(q.terms)}

    def candidates(self, q: Question) -> tuple[list[tuple[dict[str, float], SentenceMatch,
                                                            tuple[int, int], str]],
                                                 list[tuple[int, float]],
                                                 SentenceMatch | None]:
        """Every answer span worth scoring with its features, the BM25 hits, the best sentence."""
        hits = self.index.search(q.terms, self.config["retrieve_depth"])
        if not hits:
            return [], hits, None
        idf = self._idf(q)
        ranked = self._rerank(q, hits, idf)
        sentences = sorted(
            ((sm, rank, ps) for rank, (ps, _, sms, _) in enumerate(ranked[:PASSAGES_READ])
             for sm in sms),
            key=lambda x: -(x[0].match + 0.5 * x[2]))[:SENTENCES_READ]
        q_lemmas = frozenset(q.lemmas)
        q_ents = frozenset(e.text.lower() for e in q.entities)
        best_ps = ranked[0][0] or 1.0
        out = []
        for sent_rank, (sm, p_rank, ps) in enumerate(sentences):
            ann, text = self.annotations[sm.passage], self.passages[sm.passage].text
            toks = self._toks(sm.passage)
            for span, (source, label) in candidate_spans(ann, text, sm.sent).items():
                f = span_features(q, ann, text, toks, sm, span, source, label, q_lemmas, q_ents)
                if f is None:
                    continue
                f["p_score"] = ps / best_ps
                f["p_top"] = 1.0 if p_rank == 0 else 0.0
                f["sent_top"] = 1.0 if sent_rank == 0 else 0.0
                out.append((f, sm, span, label))
        return out, hits, sentences[0][0] if sentences else None

    def _answers(self, q: Question, top_k: int, explain: bool) -> list[Answer]:
        cands, hits, best_sentence = self.candidates(q)
        if best_sentence is None:
            return []
        if not cands:
            sm = best_sentence
            return [self._answer(sm.passage, sm, sm.sent, "SENTENCE", 0.0, q, None)]
        scored = sorted(((self.scorer.score(f), f, sm, span, label)
                         for f, sm, span, label in cands), key=lambda x: -x[0])
        all_scores = [s for s, *_ in scored]
        answers: list[Answer] = []
        seen: set[str] = set()
        for score, f, sm, span, label in scored:
            ann, text = self.annotations[sm.passage], self.passages[sm.passage].text
            key = " ".join(text[ann.starts[span[0]]:ann.ends[span[1] - 1]].lower().split())
            if key in seen:
                continue
            seen.add(key)
            conf = self.scorer.confidence(score, all_scores, sm.match)
            why = None
            if explain:
                why = self._explain(q, sm, dict(hits).get(sm.passage, 0.0), f, score)
            answers.append(self._answer(sm.passage, sm, span, label or "PHRASE", conf, q, why))
            if len(answers) >= top_k:
                break
        return answers

    def _rerank(self, q: Question, hits: list[tuple[int, float]], idf: dict[str, float]
                ) -> list[tuple[float, int, list[SentenceMatch], PassageEvidence]]:
        """Retrieved passages reordered by BM25 plus entity, year and sentence evidence."""
        top = hits[0][1] or 1.0
        q_ents = {e.text.lower() for e in q.entities}
        out = []
        for i, bm25 in hits:
            ann, text = self.annotations[i], self.passages[i].text
            sms = list(match_sentences(q, i, ann, self._toks(i), idf))
            lower = text.lower()
            ents = [(text[ann.starts[s]:ann.ends[e - 1]].lower(), lab) for s, e, lab in ann.ents]
            ev = PassageEvidence(
                bm25=bm25 / top,
                expected_entities=sum(1 for t, lab in ents
                                      if lab in q.expected and t not in q_ents),
                question_entities=(sum(1 for e in q_ents if e in lower) / len(q_ents)
                                   if q_ents else 0.0),
                years=(sum(1 for y in q.years if y in text) / len(q.years)
                       if q.years else 0.0),
                best_sentence=max((sm.match for sm in sms), default=0.0),
            )
            out.append((passage_score(ev), i, sms, ev))
        out.sort(key=lambda x: (-x[0], x[1]))
        return [(ps, i, sms, ev) for ps, i, sms, ev in out]

    def _answer(self, pi: int, sm: SentenceMatch, span: tuple[int, int], label: str,
                conf: float, q: Question, why: dict[str, Any] | None) -> Answer:
        """An :class:`Answer` with document offsets for the span and its snippet."""
        p, ann = self.passages[pi], self.annotations[pi]
        start = p.start + ann.starts[span[0]]
        end = p.start + ann.ends[span[1] - 1]
        a, b = sm.sent
        s_start, s_end = ann.starts[a], ann.ends[b - 1]
        if s_end - s_start < SNIPPET_MIN_CHARS:
            nxt = next((s for s in ann.sents if s[0] == b), None)
            if nxt:
                s_end = ann.ends[nxt[1] - 1]
        # spaCy keeps trailing newlines as tokens of the sentence; a snippet should not.
        while s_end > s_start and p.text[s_end - 1].isspace():
            s_end -= 1
        doc = self.documents[p.doc_id]
        s_start, s_end = p.start + s_start, p.start + s_end
        answer = doc.text[start:end]
        cite = Citation(doc.id, doc.title, p.n, start, end, s_start, s_end,
                        page=_page_of(doc, start))
        return Answer(answer=answer, answer_type=label, snippet=doc.text[s_start:s_end],
                      score=conf, citation=cite, normalized=normalize(answer, label),
                      explain=why)

    def _explain(self, q: Question, sm: SentenceMatch, bm25: float,
                 f: dict[str, float], score: float) -> dict[str, Any]:
        """Why this answer won: retrieval score, expected type, matches, top features."""
        ann, text = self.annotations[sm.passage], self.passages[sm.passage].text
        matched = sorted({text[ann.starts[i]:ann.ends[i]] for i in sm.matched})
        contrib = sorted(((self.scorer.weights.get(k, 0.0) * v, k) for k, v in f.items()),
                         key=lambda x: -abs(x[0]))[:8]
        return {
            "bm25": round(bm25, 4),
            "wh": q.wh, "head": q.head,
            "expected_type": list(q.expected),
            "question_terms": list(q.terms),
            "question_entities": [{"text": e.text, "label": e.label} for e in q.entities],
            "matched_terms": matched,
            "sentence_match": round(sm.match, 4),
            "span_score": round(score, 4),
            "top_features": [{"feature": k, "weight": round(c, 4)} for c, k in contrib],
        }

    # -- documents ----------------------------------------------------------

    def passage_count(self, doc_id: str) -> int:
        """How many passages a document was split into."""
        if not hasattr(self, "_counts"):
            counts: dict[str, int] = {}
            for p in self.passages:
                counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
            self._counts = counts
        return self._counts.get(doc_id, 0)


def _page_of(doc: Document, offset: int) -> int | None:
    """The 1-based PDF page holding ``offset``, from the document's page offsets."""
    pages = doc.meta.get("pages")
    if not pages:
        return None
    page = 1
    for n, start in enumerate(pages, 1):
        if start <= offset:
            page = n
    return page
