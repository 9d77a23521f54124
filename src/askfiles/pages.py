"""The web pages: the question form with its results, and the document view."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, render_template, request

from . import observe, select
from .api import TOP_K_DEFAULT, clean_question, holder, settings
from .errors import error_page
from .examples import examples_for
from .formats import page_of
from .index import terms
from .records import TOP_K_MAX, collapse

bp = Blueprint("pages", __name__)


# spaCy's entity labels (and askfiles' own PHRASE, SENTENCE) as a reader would say them.
KINDS = {"PERSON": "person", "ORG": "organisation", "GPE": "place", "LOC": "place",
         "FAC": "building or place", "NORP": "group of people", "PRODUCT": "product",
         "EVENT": "event", "WORK_OF_ART": "title", "LAW": "law", "LANGUAGE": "language",
         "DATE": "date", "TIME": "time", "PERCENT": "percentage", "MONEY": "amount of money",
         "QUANTITY": "quantity", "ORDINAL": "rank", "CARDINAL": "number", "PHRASE": "phrase",
         "SENTENCE": "sentence"}


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
    page: int | None = None

    @property
    def file_url(self) -> str:
        """The original file, at the cited page for a PDF."""
        from urllib.parse import quote

        return (f"/api/documents/{quote(self.document)}/file"
                + (f"#page={self.page}" if self.page else ""))

    @property
    def passage_number(self) -> int:
        """The passage as people count it, from 1 (``passage`` is the record's, from 0,
        as the JSON API and ``--json`` give it)."""
        return self.passage + 1

    @property
    def kind(self) -> str:
        """The answer type in words ("place", not spaCy's "GPE")."""
        return KINDS.get(self.answer_type, self.answer_type.lower().replace("_", " "))

    @property
    def percent(self) -> int:
        return round(self.score * 100)

    @property
    def level(self) -> str:
        return "high" if self.score >= 0.7 else "medium" if self.score >= 0.4 else "low"


def _squeeze(text: str) -> str:
    """Whitespace runs as one space, keeping a space at either edge where there was one."""
    return re.sub(r"\s+", " ", text)


def _shown(a) -> Shown:
    c = a.citation
    lo, hi = c.start - c.snippet_start, c.end - c.snippet_start
    snip = a.snippet
    if not (0 <= lo <= hi <= len(snip)):
        lo = hi = len(snip)
    # Hard-wrapped text is shown with whitespace runs collapsed, edges kept.
    before, mark, after = (_squeeze(x) for x in (snip[:lo], snip[lo:hi], snip[hi:]))
    return Shown(collapse(a.answer), a.answer_type, a.normalized, a.score,
                 before, mark, after, c.title, c.document, c.passage,
                 c.start, c.end, c.url, c.page)


def _closest_passages(engine, question: str, k: int = 3, allowed=None) -> list[Shown]:
    """Best BM25 passages when the engine offers no candidate at all."""
    from urllib.parse import quote

    # The index's tokenizer alone: parsing the question with spaCy again is not needed.
    hits = engine.index.search(terms(question), k, allowed)
    out = []
    for i, _ in hits:
        p = engine.passages[i]
        doc = engine.documents[p.doc_id]
        url = f"/documents/{quote(doc.id)}?start={p.start}&end={p.end}#answer"
        out.append(Shown("", "PASSAGE", None, 0.0, "", p.text.strip(), "", doc.title,
                         doc.id, p.n, p.start, p.end, url, page_of(doc.meta, p.start)))
    return out


def _top_k() -> int:
    try:
        return min(max(int(request.args.get("top_k", TOP_K_DEFAULT)), 1), TOP_K_MAX)
    except ValueError:
        return TOP_K_DEFAULT


SCOPE_DOCUMENTS = 200   # the scope menu lists documents one by one up to this many


@bp.app_template_filter("short_title")
def short_title(title: str, width: int = 60) -> str:
    """A title cut at a word near ``width`` characters, with "…" (a plain-text file's
    title is its whole first line, which may be a long sentence); the pages' one way."""
    if len(title) <= width:
        return title
    cut = title[:width].rsplit(" ", 1)[0] if " " in title[:width] else title[:width]
    return cut.rstrip(" ,;:-") + "…"


def scopes(engine) -> list[tuple[str, str]]:
    """(pattern, label) choices of the form's "Search in" menu: folders, then documents."""
    if len(engine.documents) < 2:
        return []
    ids = select.selector(engine).ids
    out = [(f, f"folder {f}") for f in select.folders(ids)]
    if len(ids) <= SCOPE_DOCUMENTS:
        out += [(i, f"{short_title(engine.documents[i].title)} ({i})") for i in ids]
    return out


@bp.get("/")
def index():
    engine = holder().engine
    question = clean_question(request.args.get("q", ""))
    limit = settings()["max_question_chars"]
    chosen = [d for d in request.args.getlist("documents") if d]
    ctx = {"question": question, "limit": limit, "examples": examples_for(engine),
           "engine": engine, "result": None, "answers": [], "closest": [], "problem": None,
           "scopes": scopes(engine), "chosen": chosen, "invalid": None}
    status = 200
    allowed = None
    if chosen:
        try:
            allowed = select.allowed_passages(engine, select.check_patterns(chosen))
        except (select.NoMatch, ValueError) as exc:
            ctx["problem"] = str(exc).replace("; GET /api/documents lists the ids",
                                              "; the Documents page lists them")
            # the field at fault, when the page shows it: the "Search in" menu
            ctx["invalid"] = "documents" if ctx["scopes"] else None
            status = 422
    if ctx["problem"]:
        pass   # a scope that names no document: say so, answer nothing
    elif len(question) > limit:
        ctx["problem"] = (f"Your question has {len(question)} characters; "
                          f"the limit is {limit}. Please shorten it.")
        ctx["invalid"] = "q"
        status = 422
    elif question:
        result = engine.ask(question, _top_k(), False, allowed)
        observe.asked(result)
        ctx["result"] = result
        shown = [_shown(a) for a in result.answers]
        if result.no_answer:
            ctx["closest"] = shown or _closest_passages(engine, question, allowed=allowed)
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
        # An old citation's link, most likely: say which document, and where the list is.
        return error_page(404, "Not Found",
                          f"There is no document {doc_id!r} in this corpus (any more): "
                          f"the documents page lists the ones there are.")
    text = doc.text
    start, end = _span("start", len(text)), _span("end", len(text))
    asked = "start" in request.args or "end" in request.args
    if start is None or end is None or start >= end:
        parts = None
    else:
        parts = (text[:start], text[start:end], text[end:])
    # A citation from another version of the document, or a hand-edited link: say why
    # nothing is highlighted rather than show the text as if nothing had been asked.
    problem = (f"The characters asked for ({request.args.get('start', '')}–"
               f"{request.args.get('end', '')}) are not a span of this document "
               f"({len(text)} characters); it is shown whole."
               if asked and parts is None else None)
    page = page_of(doc.meta, start) if parts else None
    pages = len(doc.meta.get("pages") or ())
    return render_template("document.html", doc=doc, text=text, parts=parts,
                           passages=engine.passage_count(doc.id), engine=engine,
                           page=page, pages=pages, file_url=_file_url(doc.id, page),
                           problem=problem)


def _file_url(doc_id: str, page: int | None) -> str:
    from urllib.parse import quote

    return f"/api/documents/{quote(doc_id)}/file" + (f"#page={page}" if page else "")
