"""``Engine.ask``: retrieve -> rerank -> extract -> cite, over an index built once."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import nlp
from .batching import Batcher
from .config import load_config
from .dates import normalize
from .extract import (SentenceMatch, candidate_spans, children, dateline_end, match_sentences,
                      question_features, resolved_entities, span_features, token_terms,
                      tree_distances)
from .features import SpanRows
from .index import PassageIndex, terms
from .load import Skipped
from .places import names
from .question import analyse
from .records import corpus_version  # noqa: F401 - askfiles.engine.corpus_version
from .records import (Annotation, Answer, Citation, Document, Passage, Question,
                      Result, without_surrogates)
from .rerank import (AnswerModel, OnDemand, PassageEvidence, answer_rows, passage_score,
                     pick_answers, with_priors)

log = logging.getLogger(__name__)

PASSAGES_READ = 4      # passages whose sentences are searched for the answer
SENTENCES_READ = 8     # sentences whose spans are scored
NEIGHBOURS_READ = 3    # the best sentences whose next sentence is read too
PASSAGE_WEIGHT = 0.5   # weight of the passage score beside the sentence match, choosing sentences
PARSE_BATCH = 16       # questions parsed by spaCy at once, at most
SNIPPET_MIN_CHARS = 60  # a shorter sentence is shown with its neighbour
CONFIDENCE_POOL = 5    # distinct answers ordered by confidence before top_k is cut
HEADER_CHARS = 600      # a document's opening lines: title, byline, date


@dataclass(frozen=True)
class Corpus:
    """Everything the engine answers from: documents, passages and their annotations."""

    documents: tuple[Document, ...]
    passages: Sequence[Passage]         # a tuple, or the saved index's PassageTable
    annotations: Sequence[Annotation]   # a tuple, or the saved index's lazy table
    skipped: tuple[Skipped, ...] = ()
    report: Any = None                  # store.BuildReport: reuse, fingerprints, timings
    index: Any = None                   # PassageIndex loaded from the saved index


def build_corpus(folder: Path | str, config: dict[str, Any] | None = None,
                 progress: Any = None) -> Corpus:
    """Load, split and annotate a corpus folder through the saved index
    (:mod:`askfiles.store`): only added or changed files are read and annotated."""
    from .store import open_corpus

    built = open_corpus(folder, load_config(config), progress)
    return Corpus(built.documents, built.passages, built.annotations, built.skipped,
                  built.report, built.index)


class Engine:
    """Answers questions about one corpus; built once, then ``ask`` is cheap."""

    def __init__(self, corpus: Corpus, config: dict[str, Any] | None = None,
                 scorer: AnswerModel | None = None, index: PassageIndex | None = None):
        self.config = load_config(config)
        self.corpus = corpus
        self.documents = {d.id: d for d in corpus.documents}
        self.passages = corpus.passages
        self.annotations = corpus.annotations
        self._toks = lru_cache(maxsize=4096)(self._token_terms)
        # A sentence's candidate spans do not depend on the question.
        self._spans = lru_cache(maxsize=16384)(self._sentence_spans)
        self._lowered = lru_cache(maxsize=4096)(self._passage_lowered)
        self._term_set = lru_cache(maxsize=4096)(self._passage_terms)
        self._kids = lru_cache(maxsize=16384)(self._sentence_kids)
        if index is None:
            index = corpus.index
        self.index = index if index is not None else PassageIndex(
            [terms(p.text) for p in self.passages], self.config["sparse_threshold"])
        self.scorer = scorer or _shipped_model()
        names()  # the place names (0.3 s) read at start-up, not by the first question
        self._datelines = lru_cache(maxsize=4096)(self._dateline)
        # Saved with the index (a start-up then hashes no text), else computed.
        self.version = (getattr(corpus.report, "version", None)
                        or corpus_version(corpus.documents))
        self._parser = Batcher(self._parse_many, PARSE_BATCH)
        self._per_doc: dict[str, tuple[int, int]] | None = None
        self._retired = threading.Event()   # set when a newer version replaces this one
        # Unseen question terms weigh as much as the rarest possible term.
        n = max(len(self.passages), 1)
        self._unseen_idf = math.log(1.0 + (n + 0.5) / 0.5)

    @classmethod
    def from_folder(cls, folder: Path | str | None = None,
                    config: dict[str, Any] | None = None) -> "Engine":
        """Build an engine over a corpus folder (``ASKFILES_CORPUS`` when not given)."""
        cfg = load_config(config)
        return cls(build_corpus(folder or cfg["corpus"], cfg), cfg)

    def warm_up(self) -> threading.Thread:
        """Weigh the index's commonest terms on a background thread, so that questions
        do not pay for them on first use (see ``SegmentedBM25.warm``); until :meth:`retire`."""

        def run() -> None:
            t0 = time.perf_counter()
            warm = getattr(self.index, "warm", None)
            done = warm(self._retired) if warm is not None else 0
            if done:
                log.info("weighed %d postings of the commonest terms in %.2f s", done,
                         time.perf_counter() - t0)

        thread = threading.Thread(target=run, name="askfiles-warm-up", daemon=True)
        thread.start()
        return thread

    def retire(self) -> None:
        """This engine is being replaced: stop work ahead of questions (a warm-up)."""
        self._retired.set()

    def _sentence_spans(self, i: int, sent: tuple[int, int]):
        return tuple(candidate_spans(self.annotations[i], self.passages[i].text, sent))

    def _passage_lowered(self, i: int) -> tuple[str, list[tuple[str, str]]]:
        """A passage's lower-cased text and (lower-cased entity, label) pairs."""
        ann, text = self.annotations[i], self.passages[i].text
        return text.lower(), [(text[ann.starts[s]:ann.ends[e - 1]].lower(), lab)
                              for s, e, lab in ann.ents]

    def _token_terms(self, i: int) -> list[str]:
        return token_terms(self.annotations[i], self.passages[i].text)

    def _sentence_kids(self, i: int, sent: tuple[int, int]) -> dict[int, tuple[int, ...]]:
        return children(self.annotations[i], sent)

    def _passage_terms(self, i: int) -> frozenset[str]:
        return frozenset(self._toks(i))

    def _parse(self, text: str):
        # One spaCy pipeline shared by request threads: questions that arrive
        # together are parsed together (see batching).
        return self._parser.call(text)

    def _parse_many(self, texts):
        return nlp.parse_many(texts, self.config["spacy_model"])

    def analyse(self, question: str) -> Question:
        """The question's terms, entities and expected answer type."""
        return analyse(question, self._parse)

    def ask(self, question: str, top_k: int = 3, explain: bool = False,
            allowed: Any = None) -> Result:
        """The best ``top_k`` answers to ``question``, each with its citation.

        ``allowed``: sorted passage numbers to search (None: all), see :mod:`askfiles.select`.
        """
        t0 = time.perf_counter()
        # A lone surrogate (a byte that is not UTF-8 in argv or stdin, "\ud800" in a JSON
        # question file) would stop spaCy, which hashes the words as UTF-8.
        question = without_surrogates(question)
        q = self.analyse(question)
        answers = self._answers(q, top_k, explain, allowed)
        no_answer = not answers or answers[0].score < self.threshold
        return Result(question, tuple(answers), no_answer, self.version,
                      (time.perf_counter() - t0) * 1000)

    @property
    def threshold(self) -> float:
        """Confidence below which the result is "no answer"."""
        setting = self.config["no_answer_threshold"]
        return setting if setting is not None and setting >= 0 else self.scorer.threshold

    # -- the pipeline -------------------------------------------------------

    def _idf(self, q: Question) -> dict[str, float]:
        return {t: (self.index.idf(t) or self._unseen_idf) for t in set(q.terms)}

    def unseen_share(self, q: Question) -> float:
        """The share of the question's distinct terms that no passage holds."""
        distinct = set(q.terms)
        if not distinct:
            return 1.0
        return sum(1 for t in distinct if not self.index.idf(t)) / len(distinct)

    def unseen_entities(self, q: Question) -> float:
        """The share of the names in the question (its proper nouns: "Kim Philby") that no
        passage holds."""
        names = [terms(e.text) for e in q.entities]
        names = [n for n in names if n]
        if not names:
            return 0.0
        return sum(1 for n in names if not any(self.index.idf(t) for t in n)) / len(names)

    def unseen_words(self, q: Question) -> float:
        """1.0 when every question word outside its names is absent from the corpus, else 0.

        "Where was Cairncross born?" of an article that never says "born".
        """
        named = {t for e in q.entities for t in terms(e.text)}
        rest = set(q.terms) - named
        return 1.0 if rest and not any(self.index.idf(t) for t in rest) else 0.0

    def candidates(self, q: Question, allowed: Any = None
                   ) -> tuple[SpanRows, list[tuple[SentenceMatch, tuple[int, int], str]],
                              list[tuple[int, float]], SentenceMatch | None]:
        """Every answer span worth scoring: its features, its (sentence, tokens, label),
        the BM25 hits, the best sentence."""
        hits = self.index.search(q.terms, self.config["retrieve_depth"], allowed)
        if not hits:
            return SpanRows([], [], []), [], hits, None
        idf = self._idf(q)
        ranked = self._rerank(q, hits, idf)
        pool = [(sm, rank, ps, ev) for rank, (ps, _, sms, ev) in enumerate(ranked[:PASSAGES_READ])
                for sm in sms]
        sentences = sorted(pool, key=lambda x: -(x[0].match + PASSAGE_WEIGHT * x[2])
                           )[:SENTENCES_READ]
        sentences = [(sm, rank, ps, ev, 0) for sm, rank, ps, ev in sentences]
        taken = {(x[0].passage, x[0].sent) for x in sentences}
        by_place = {(x[0].passage, x[0].sent[0]): x for x in pool}
        by_end = {(x[0].passage, x[0].sent[1]): x[0] for x in pool}
        for sm, rank, ps, ev, _ in list(sentences[:NEIGHBOURS_READ]):
            # The answer may stand in the next sentence: "A payment was made. It was $5m."
            nxt = by_place.get((sm.passage, sm.sent[1]))
            if nxt is not None and (sm.passage, nxt[0].sent) not in taken:
                taken.add((sm.passage, nxt[0].sent))
                sentences.append((nxt[0], rank, ps, ev, 1))
        if q.about_doc:
            sentences += [(*x, 0) for x in self._header_sentences(ranked, taken)]
        q_lemmas = frozenset(q.lemmas)
        q_ents = frozenset(e.text.lower() for e in q.entities)
        best_ps = ranked[0][0] or 1.0
        q_bigrams = set(zip(q.terms, q.terms[1:]))
        max_idf = max(idf.values(), default=1.0) or 1.0
        total_idf = math.fsum(idf.values()) or 1.0
        relatives = frozenset().union(*(rel for _, rel in q.expansions))
        shared = {**question_features(q),
                  "q_terms": float(len(set(q.terms))), "q_ents": float(len(q_ents)),
                  "unseen": self.unseen_share(q), "unseen_ents": self.unseen_entities(q),
                  "unseen_words": self.unseen_words(q),
                  "about_doc": 1.0 if q.about_doc else 0.0}
        q_neg = any(lem in NEGATIONS for lem in q.lemmas)
        q_nums = _NUMBER.findall(q.text)
        spans, out, surfaces, contexts, sentence_of = [], [], [], [], []
        for sent_rank, (sm, p_rank, ps, ev, neighbour) in enumerate(sentences):
            ann, text = self.annotations[sm.passage], self.passages[sm.passage].text
            toks = self._toks(sm.passage)
            kids = self._kids(sm.passage, sm.sent)
            tdist = tree_distances(ann, sm.sent, sm.matched, kids=kids)
            lower = self._lowered(sm.passage)[0]
            s_text = lower[ann.starts[sm.sent[0]]:ann.ends[sm.sent[1] - 1]]
            ctx = dict(shared)
            if q_ents:
                found = {e for e in q_ents if e in s_text}
                ctx["q_ents_sent"] = len(found) / len(q_ents)
                # "He confessed in 1964": a pronoun stands for the last person named.
                names = resolved_entities(ann, text, sm.sent)
                found |= {e for e in q_ents if any(e in n for n in names)}
                ctx["q_ents_resolved"] = len(found) / len(q_ents)
            s_lemmas = ann.lemmas[sm.sent[0]:sm.sent[1]]
            if q.root and q.root in s_lemmas:
                ctx["q_root_in_sent"] = 1.0
            if q_bigrams:
                s_terms = [t for t in toks[sm.sent[0]:sm.sent[1]] if t]
                ctx["bigrams"] = len(q_bigrams & set(zip(s_terms, s_terms[1:]))) / len(q_bigrams)
            # The rarest question word the sentence lacks: SQuAD 2.0's unanswerable
            # questions swap in one word the text never pairs with the rest.
            s_found = {toks[i] for i in sm.matched}
            missing = [idf[t] for t in idf if t not in s_found]
            ctx["missing_idf"] = max(missing, default=0.0) / max_idf
            if q.expansions:
                # "purchased" asked, "bought" written: WordNet relatives count as found.
                ctx["missing_idf_syn"] = ctx["missing_idf"]
                if not relatives.isdisjoint(s_lemmas):  # most sentences hold none
                    s_set = set(s_lemmas)
                    para = {t for t, rel in q.expansions
                            if t in idf and t not in s_found and not rel.isdisjoint(s_set)}
                    if para:
                        ctx["syn_match"] = math.fsum([idf[t] for t in para]) / total_idf
                        ctx["missing_idf_syn"] = max((idf[t] for t in idf
                                                      if t not in s_found and t not in para),
                                                     default=0.0) / max_idf
            ctx["missing_terms"] = float(len(missing))
            if len(missing) > 1:
                ctx["missing_idf2"] = sorted(missing)[-2] / max_idf
            p_terms = self._term_set(sm.passage)
            ctx["missing_idf_p"] = max((idf[t] for t in idf if t not in p_terms),
                                       default=0.0) / max_idf
            # "Who did not ...?" of a sentence that says they did: negation differs.
            s_neg = any(lem in NEGATIONS for lem in s_lemmas)
            if q_neg != s_neg:
                ctx["neg_mismatch"] = 1.0
            if q_nums:
                ctx["q_nums_sent"] = sum(1 for n in q_nums if n in s_text) / len(q_nums)
            # The question may be told across sentences: how well do the neighbours match?
            nb = by_place.get((sm.passage, sm.sent[1]))
            ctx["next_match"] = nb[0].match if nb else 0.0
            pv = by_end.get((sm.passage, sm.sent[0]))
            ctx["prev_match"] = pv.match if pv else 0.0
            ctx["p_n"] = float(self.passages[sm.passage].n)
            ctx["sent_idx"] = float(next((k for k, x in enumerate(ann.sents) if x == sm.sent), 0))
            ctx["n_expected_in_sent"] = float(sum(
                1 for s, e, lab in ann.ents
                if sm.sent[0] <= s and e <= sm.sent[1] and lab in q.expected))
            if neighbour:
                ctx["neighbour"] = 1.0
            dl = self._datelines(sm.passage)
            if ev is None:
                ctx["doc_header"] = 1.0
            else:
                ctx.update(p_score=ps / best_ps, p_bm25=ev.bm25, p_rank=float(p_rank),
                           p_top=1.0 if p_rank == 0 else 0.0, p_qents=ev.question_entities,
                           p_years=ev.years)
            ctx["sent_rank"] = float(sent_rank)
            ctx["sent_top"] = 1.0 if sent_rank == 0 else 0.0
            contexts.append(ctx)
            for c in self._spans(sm.passage, sm.sent):
                f = span_features(q, ann, toks, sm, c, q_lemmas, q_ents, tdist, idf, kids)
                if f is None:
                    continue
                span, label = c.span, c.label
                if ev is None and (span == (sm.sent[0], sm.sent[1])
                                   or _whole_line(text, ann, span)):
                    f["doc_header_line"] = 1.0  # a line of its own: a dateline, a byline
                if dl and span[0] < dl:
                    # "WASHINGTON (CNN) --": answers questions about the document only.
                    f["in_dateline"] = 1.0
                spans.append(f)
                sentence_of.append(sent_rank)
                out.append((sm, span, label))
                surfaces.append(c.surface)
        # The same words offered by several sentences: redundancy is evidence.
        counts = Counter(surfaces)
        for f, surface in zip(spans, surfaces):
            f["repeats"] = float(counts[surface] - 1)
        return (SpanRows(spans, contexts, sentence_of), out, hits,
                sentences[0][0] if sentences else None)

    def _dateline(self, i: int) -> int:
        """End token of a dateline opening the document ("WASHINGTON (CNN) --"), else 0."""
        if self.passages[i].n != 0:
            return 0
        return dateline_end(self.annotations[i], self.passages[i].text)

    def _header_sentences(self, ranked, taken: set) -> list:
        """The opening lines (date, byline) of the best documents, for questions about them."""
        out = []
        docs = list(dict.fromkeys(self.passages[i].doc_id for _, i, _, _ in ranked))[:2]
        for doc_id in docs:
            first = self._first_passage(doc_id)
            ann = self.annotations[first]
            for a, b in ann.sents:
                if ann.starts[a] > HEADER_CHARS:
                    break
                if (first, (a, b)) not in taken:
                    out.append((SentenceMatch(first, (a, b), 0.0, ()), -1, 0.0, None))
        return out

    def _first_passage(self, doc_id: str) -> int:
        return self._doc_passages()[doc_id][0]

    def _doc_passages(self) -> dict[str, tuple[int, int]]:
        """Each document's first passage number and passage count, worked out once."""
        if self._per_doc is None:
            per_doc: dict[str, tuple[int, int]] = {}
            table = self.passages
            if hasattr(table, "doc") and hasattr(table, "documents"):
                # A saved PassageTable has the document column: no Passage objects needed.
                for d, first, count in zip(*np.unique(table.doc, return_index=True,
                                                      return_counts=True)):
                    per_doc[table.documents[int(d)].id] = (int(first), int(count))
            else:
                for i, p in enumerate(table):
                    first, count = per_doc.get(p.doc_id, (i, 0))
                    per_doc[p.doc_id] = (first, count + 1)
            self._per_doc = per_doc
        return self._per_doc

    def _answers(self, q: Question, top_k: int, explain: bool,
                 allowed: Any = None) -> list[Answer]:
        feats, cands, hits, best_sentence = self.candidates(q, allowed)
        if best_sentence is None:
            return []
        if not cands:
            sm = best_sentence
            return [self._answer(sm.passage, sm, sm.sent, "SENTENCE", 0.0, q, None)]
        places = [(sm.passage, span) for sm, span, _ in cands]
        scores = with_priors(feats, self.scorer.score(feats))
        # Keys on demand: picking reads only the best-scored few candidates' keys.
        order, picked = pick_answers(OnDemand(self.answer_key, cands), places, scores,
                                     max(top_k, CONFIDENCE_POOL))
        rows = answer_rows(feats, places, scores, order, picked, feats.get(0, "unseen"),
                           hits[0][1])
        confs = self.scorer.confidence(rows)
        answers: list[Answer] = []
        for n, (_, i) in enumerate(picked):
            sm, span, label = cands[i]
            why = None
            if explain:
                why = self._explain(q, sm, dict(hits).get(sm.passage, 0.0), feats[i],
                                    float(scores[i]))
            answers.append(self._answer(sm.passage, sm, span, label or "PHRASE",
                                        float(confs[n]), q, why))
        # The best-ranked few are ordered by confidence; taking the pool whatever
        # top_k is keeps the first answer the same.
        answers.sort(key=lambda a: -a.score)
        return answers[:top_k]

    def answer_keys(self, cands) -> list[str]:
        """Each candidate's text, lower-cased with whitespace collapsed (one answer, one key)."""
        return [self.answer_key(c) for c in cands]

    def answer_key(self, cand) -> str:
        """One candidate's key (see :meth:`answer_keys`)."""
        sm, span, _ = cand
        ann, text = self.annotations[sm.passage], self.passages[sm.passage].text
        return " ".join(text[ann.starts[span[0]]:ann.ends[span[1] - 1]].lower().split())

    def _rerank(self, q: Question, hits: list[tuple[int, float]], idf: dict[str, float]
                ) -> list[tuple[float, int, list[SentenceMatch], PassageEvidence]]:
        """Retrieved passages reordered by BM25 plus entity, year and sentence evidence."""
        top = hits[0][1] or 1.0
        q_ents = {e.text.lower() for e in q.entities}
        out = []
        for i, bm25 in hits:
            ann, text = self.annotations[i], self.passages[i].text
            sms = list(match_sentences(q, i, ann, self._toks(i), idf))
            lower, ents = self._lowered(i)
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
        s_start, s_end = snippet_bounds(p.text, s_start, s_end, ann.starts[span[0]],
                                        ann.ends[span[1] - 1])
        doc = self.documents[p.doc_id]
        s_start, s_end = p.start + s_start, p.start + s_end
        answer = doc.text[start:end]
        cite = Citation(doc.id, doc.title, p.n, start, end, s_start, s_end,
                        page=_page_of(doc, start))
        return Answer(answer=answer, answer_type=label, snippet=doc.text[s_start:s_end],
                      score=conf, citation=cite, normalized=normalize(answer, label),
                      explain=why)

    def _explain(self, q: Question, sm: SentenceMatch, bm25: float,
                 f: dict[str, Any], score: float) -> dict[str, Any]:
        """Why this answer won: retrieval score, expected type, matches, weightiest evidence."""
        ann, text = self.annotations[sm.passage], self.passages[sm.passage].text
        matched = sorted({text[ann.starts[i]:ann.ends[i]] for i in sm.matched})
        return {
            "bm25": round(bm25, 4),
            "wh": q.wh, "head": q.head,
            "expected_type": list(q.expected),
            "question_terms": list(q.terms),
            "question_entities": [{"text": e.text, "label": e.label} for e in q.entities],
            "matched_terms": matched,
            "sentence_match": round(sm.match, 4),
            "span_score": round(score, 4),
            "top_features": [{"feature": k, "weight": round(c, 4)}
                             for k, c in self.scorer.contributions(f)],
        }

    # -- documents ----------------------------------------------------------

    def passage_count(self, doc_id: str) -> int:
        """How many passages a document was split into."""
        return self._doc_passages().get(doc_id, (0, 0))[1]


_MODEL: AnswerModel | None = None
_MODEL_LOCK = threading.Lock()


def _shipped_model() -> AnswerModel:
    """The shipped model, loaded once per process."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            _MODEL = AnswerModel.load()
        return _MODEL


_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NEGATIONS = frozenset(("not", "never", "no", "n't", "without", "neither", "nor"))


def snippet_bounds(text: str, start: int, end: int, a_start: int, a_end: int
                   ) -> tuple[int, int]:
    """The sentence [start, end) cut to the paragraph holding the answer, no edge spaces.

    spaCy may run a sentence across a heading and its paragraph ("# Mill\n\nThe
    old mill closed ..."); the snippet keeps only the answer's paragraph.
    """
    for m in _BLANK_LINE.finditer(text, start, a_start):
        start = m.end()
    m = _BLANK_LINE.search(text, a_end, end)
    if m:
        end = m.start()
    while start < a_start and text[start].isspace():
        start += 1
    while end > a_end and text[end - 1].isspace():
        end -= 1
    return start, end


def _whole_line(text: str, ann: Annotation, span: tuple[int, int]) -> bool:
    """True when the span is all there is on its line(s) of text."""
    start, end = ann.starts[span[0]], ann.ends[span[1] - 1]
    before = text.rfind("\n", 0, start) + 1
    after = text.find("\n", end)
    after = len(text) if after < 0 else after
    return not text[before:start].strip() and not text[end:after].strip()


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
