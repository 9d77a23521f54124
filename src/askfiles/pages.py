"""The web pages: the question form with its results, and the document view."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request

from .api import TOP_K_DEFAULT, TOP_K_MAX, clean_question, holder, settings
from .examples import examples_for
from .index import terms

bp = Blueprint("pages", __name__)


@dataclass(frozen=True)
class Shown:
    """One answer or passage as the page shows it: snippet split around the mark."""

    answer: str
    answer_type: str
    normalized: str | None
    score: float
    before: str
    marked: str
    after: str
    title: str
    document: str
    passage: int
    start: int
    end: int
    url: str

    @property
    def percent(self) -> int:
        return round(self.score * 100)

    @property
    def level(self) -> str:
        return "high" if self.score >= 0.7 else "medium" if self.score >= 0.4 else "low"


def _shown(a) -> Shown:
    c = a.citation
    lo, hi = c.start - c.snippet_start, c.end - c.snippet_start
    snip = a.snippet
    if not (0 <= lo <= hi <= len(snip)):
        lo = hi = len(snip)
    return Shown(a.answer, a.answer_type, a.normalized, a.score,
                 snip[:lo], snip[lo:hi], snip[hi:], c.title, c.document, c.passage,
                 c.start, c.end, c.url)


def _closest_passages(engine, question: str, k: int = 3) -> list[Shown]:
    """Best BM25 passages when the engine offers no candidate at all."""
    from urllib.parse import quote

    # The index's tokenizer alone: parsing the question with spaCy again is not needed.
    hits = engine.index.search(terms(question), k)
    out = []
    for i, _ in hits:
        p = engine.passages[i]
        doc = engine.documents[p.doc_id]
        url = f"/documents/{quote(doc.id)}?start={p.start}&end={p.end}#answer"
        out.append(Shown("", "PASSAGE", None, 0.0, "", p.text.strip(), "", doc.title,
                         doc.id, p.n, p.start, p.end, url))
    return out


def _top_k() -> int:
    try:
        return min(max(int(request.args.get("top_k", TOP_K_DEFAULT)), 1), TOP_K_MAX)
    except ValueError:
        return TOP_K_DEFAULT


@bp.get("/")
def index():
    engine = holder().engine
    question = clean_question(request.args.get("q", ""))
    limit = settings()["max_question_chars"]
    ctx = {"question": question, "limit": limit, "examples": examples_for(engine),
           "engine": engine, "result": None, "answers": [], "closest": [], "problem": None}
    status = 200
    if len(question) > limit:
        ctx["problem"] = (f"Your question has {len(question)} characters; "
                          f"the limit is {limit}. Please shorten it.")
        status = 422
    elif question:
        result = engine.ask(question, _top_k())
        ctx["result"] = result
        shown = [_shown(a) for a in result.answers]
        if result.no_answer:
            ctx["closest"] = shown or _closest_passages(engine, question)
        else:
            ctx["answers"] = shown
    return render_template("index.html", **ctx), status


@bp.get("/documents")
def documents():
    engine = holder().engine
    docs = sorted(engine.documents.values(), key=lambda d: d.id)
    return render_template("documents.html", docs=docs, engine=engine)


def _span(name: str, size: int) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 <= value <= size else None


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    engine = holder().engine
    doc = engine.documents.get(doc_id)
    if doc is None:
        abort(404)
    text = doc.text
    start, end = _span("start", len(text)), _span("end", len(text))
    if start is None or end is None or start >= end:
        parts = None
    else:
        parts = (text[:start], text[start:end], text[end:])
    return render_template("document.html", doc=doc, text=text, parts=parts,
                           passages=engine.passage_count(doc.id), engine=engine)
