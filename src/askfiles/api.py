"""The JSON API: ``/api/ask`` (and batch), ``/api/documents``, ``/api/openapi.json``, ``/healthz``."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import observe, select
from .errors import ApiError
from .openapi import spec
from .records import TOP_K_MAX

bp = Blueprint("api", __name__)

TOP_K_DEFAULT = 3


def holder():
    """The :class:`EngineHolder` of this app."""
    return current_app.extensions["askfiles"]


def settings() -> dict[str, Any]:
    """The askfiles settings this app was created with."""
    return current_app.config["ASKFILES"]


def clean_question(text: str) -> str:
    """The question stripped, with lone surrogates (from JSON escapes) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8").strip()


def check_question(question: str) -> str:
    """A usable question, or an :class:`ApiError` (422) saying what is wrong with it."""
    question = clean_question(question)
    limit = settings()["max_question_chars"]
    if not question:
        raise ApiError(422, "empty_question", "The question is empty; ask something.")
    if len(question) > limit:
        raise ApiError(422, "question_too_long",
                       f"The question has {len(question)} characters; "
                       f"the limit is {limit}.")
    return question


def check_top_k(value: Any) -> int:
    """``top_k`` as an int from 1 to TOP_K_MAX, else an :class:`ApiError` (400 wrong
    type, 422 range).

    An integral float (``3.0``, ``1e1``) is an integer, as JSON Schema counts them.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "wrong_type",
                       f"top_k must be an integer from 1 to {TOP_K_MAX}.")
    if not 1 <= value <= TOP_K_MAX:
        raise ApiError(422, "top_k_out_of_range",
                       f"top_k must be from 1 to {TOP_K_MAX}.")
    return value


def read_body() -> bytes:
    """The request body, or 413 past ``request.max_content_length``."""
    data = request.get_data(cache=False)  # 413 past MAX_CONTENT_LENGTH
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        # A chunked body is read only up to the limit: that it filled it means more.
        raise RequestEntityTooLarge()
    return data


def _json_body() -> dict[str, Any]:
    """The request's JSON object, or the contract's 415 / 413 / 400 error."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type",
                       "Send the question as JSON with Content-Type: application/json.")
    data = read_body()
    if not data.strip():
        raise ApiError(400, "bad_json",
                       'The request body is empty; send {"question": "..."}.')
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "not_an_object",
                       'The request body must be a JSON object: {"question": "..."}.')
    return body


def _query_int(name: str, default: int) -> Any:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw.strip())
    except ValueError:
        pass
    try:  # "3.0" is 3, as in a JSON body
        value = float(raw.strip())
    except ValueError:
        value = None
    if value is not None and value.is_integer():
        return int(value)
    raise ApiError(400, "wrong_type", f"{name} must be an integer from 1 to {TOP_K_MAX}.")


def _query_flag(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if raw in ("", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise ApiError(400, "wrong_type", f"{name} must be true or false.")


ASK_FIELDS = ("question", "top_k", "explain", "documents")
ASK_PARAMS = ("q", "top_k", "explain", "documents")   # documents may repeat


def _check_query(args) -> None:
    """400 for a query parameter /api/ask does not know, or a single one given twice,
    as a POST body's unknown field is (a typo such as topk=1 would go unnoticed)."""
    unknown = [k for k in args if k not in ASK_PARAMS]
    if unknown:
        raise ApiError(400, "unknown_field",
                       f"Unknown query parameter {unknown[0]!r}; the parameters are "
                       f"{', '.join(ASK_PARAMS)}.")
    for name in ASK_PARAMS[:3]:
        if len(args.getlist(name)) > 1:
            raise ApiError(400, "wrong_type", f"{name} is given {len(args.getlist(name))} "
                                              f"times; give it once.")


def _patterns(value: Any, where: str = "") -> list[str]:
    try:
        return select.check_patterns(value)
    except TypeError as exc:
        raise ApiError(400, "wrong_type", where + str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_documents", where + str(exc)) from None


def parse_ask(body: dict[str, Any], where: str = "") -> tuple[str, int, bool, list[str] | None]:
    """Question, top_k, explain and document patterns of one ask object (400/422 if bad).

    ``where`` ("Question 3: ") starts every message, for batch items.
    """
    if "question" not in body:
        raise ApiError(400, "missing_field",
                       f'{where}The field "question" is required: {{"question": "..."}}.')
    unknown = [k for k in body if k not in ASK_FIELDS]
    if unknown:
        raise ApiError(400, "unknown_field",
                       f"{where}Unknown field {unknown[0]!r}; the fields are "
                       f"{', '.join(ASK_FIELDS)}.")
    question = body["question"]
    if not isinstance(question, str):
        raise ApiError(400, "wrong_type", f'{where}The field "question" must be a string.')
    explain = body.get("explain", False)
    if not isinstance(explain, bool):
        raise ApiError(400, "wrong_type", f"{where}explain must be true or false.")
    documents = body.get("documents")
    if documents is not None:
        documents = _patterns(documents, where)
    try:
        question = check_question(question)
        top_k = check_top_k(body.get("top_k", TOP_K_DEFAULT))
    except ApiError as exc:
        raise ApiError(exc.status, exc.code, where + exc.message) from None
    return question, top_k, explain, documents


def allowed_for(engine, patterns: list[str] | None, where: str = ""):
    """The passages to search for these patterns; 422 naming a pattern that matches nothing."""
    try:
        return select.allowed_passages(engine, patterns)
    except select.NoMatch as exc:
        raise ApiError(422, "no_matching_documents", where + str(exc)) from None


def answer(engine, question: str, top_k: int, explain: bool, allowed) -> dict[str, Any]:
    """One ``/api/ask`` response body (and the metrics of the ask)."""
    result = engine.ask(question, top_k, explain, allowed)
    observe.asked(result)
    return result.to_json()


@bp.route("/api/ask", methods=["GET", "POST"])
def ask():
    engine = holder().engine
    if request.method == "POST":
        question, top_k, explain, documents = parse_ask(_json_body())
    else:
        question = request.args.get("q")
        if question is None:
            raise ApiError(400, "missing_field",
                           "The query parameter q (the question) is required: "
                           "/api/ask?q=...")
        _check_query(request.args)
        top_k = check_top_k(_query_int("top_k", TOP_K_DEFAULT))
        explain = _query_flag("explain")
        documents = request.args.getlist("documents") or None
        if documents is not None:
            documents = _patterns(documents)
        question = check_question(question)
    allowed = allowed_for(engine, documents)
    return jsonify(answer(engine, question, top_k, explain, allowed))


BATCH_MAX = 100


@bp.post("/api/ask/batch")
def ask_batch():
    engine = holder().engine
    # A batch holds up to 100 questions: its body may be 100 times a question's.
    request.max_content_length = settings()["max_body_bytes"] * BATCH_MAX
    body = _json_body()
    extra = [k for k in body if k != "questions"]
    if extra:
        raise ApiError(400, "unknown_field",
                       f"Unknown field {extra[0]!r}; send {{\"questions\": [...]}}.")
    items = body.get("questions")
    if items is None:
        raise ApiError(400, "missing_field",
                       'The field "questions" is required: {"questions": [{"question": "..."}]}.')
    if not isinstance(items, list):
        raise ApiError(400, "wrong_type", '"questions" must be a list of question objects.')
    if not 1 <= len(items) <= BATCH_MAX:
        raise ApiError(422, "batch_size",
                       f'"questions" must hold 1 to {BATCH_MAX} questions; it holds {len(items)}.')
    parsed = []
    for n, item in enumerate(items):
        where = f"Question {n} (questions[{n}]): "
        if not isinstance(item, dict):
            raise ApiError(422, "invalid_item",
                           where + 'must be an object such as {"question": "..."}.')
        try:
            question, top_k, explain, documents = parse_ask(item, where)
            parsed.append((question, top_k, explain, allowed_for(engine, documents, where)))
        except ApiError as exc:  # one bad item: 422 naming its index
            raise ApiError(422, exc.code, exc.message) from None
    return jsonify({"results": [answer(engine, *p) for p in parsed]})


LIMIT_DEFAULT = 100
LIMIT_MAX = 1000


def _paging(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ApiError(400, "wrong_type", f"{name} must be an integer.") from None
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ApiError(422, f"{name}_out_of_range", f"{name} must be {bound}.")
    return value


def _conditional(resp, etag: str):
    """``resp`` with an ETag; 304 when the client's If-None-Match holds it."""
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "no-cache"
    return resp.make_conditional(request)


@bp.get("/api/documents")
def documents():
    engine = holder().engine
    limit = _paging("limit", LIMIT_DEFAULT, 1, LIMIT_MAX)
    offset = _paging("offset", 0, 0, None)
    ids = select.selector(engine).ids
    page = [engine.documents[i] for i in ids[offset:offset + limit]]
    resp = jsonify({
        "documents": [{"id": d.id, "title": d.title, "passages": engine.passage_count(d.id),
                       "chars": len(d.text)} for d in page],
        "total": len(ids), "limit": limit, "offset": offset,
    })
    return _conditional(resp, f"{engine.version}-{limit}-{offset}")


def _document(doc_id: str):
    doc = holder().engine.documents.get(doc_id)
    if doc is None:
        raise ApiError(404, "not_found", "No document has this id; "
                       "GET /api/documents lists them.")
    return doc


def document_etag(engine, doc_id: str) -> str:
    """A document response's ETag: the index version and the document id."""
    return hashlib.sha1(f"{engine.version}\0{doc_id}".encode("utf-8", "surrogatepass")
                        ).hexdigest()[:20]


@bp.get("/api/documents/<path:doc_id>")
def document(doc_id: str):
    doc = _document(doc_id)
    resp = jsonify({"id": doc.id, "title": doc.title, "text": doc.text, "meta": doc.meta})
    return _conditional(resp, document_etag(holder().engine, doc.id))


FILE_TYPES = {
    "pdf": "application/pdf", "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8", "rst": "text/x-rst; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@bp.get("/api/documents/<path:doc_id>/file")
def document_file(doc_id: str):
    engine = holder().engine
    if doc_id not in engine.documents and f"{doc_id}/file" in engine.documents:
        return document(f"{doc_id}/file")   # a document whose id ends in "/file"
    doc = _document(doc_id)
    path = corpus_path(engine, doc.id)
    try:
        data = path.read_bytes() if path is not None else None
    except OSError:
        data = None
    if data is None:
        raise ApiError(404, "not_found", "The original file is no longer in the corpus.")
    fmt = str(doc.meta.get("format") or "")
    resp = current_app.response_class(data, content_type=FILE_TYPES.get(
        fmt, "text/plain; charset=utf-8" if fmt in ("", "text") else "application/octet-stream"))
    name = doc.id.rsplit("/", 1)[-1]
    # HTML is sent as a download: never rendered as a page of this site.
    kind = "inline" if fmt in FILE_TYPES or fmt in ("", "text") else "attachment"
    resp.headers["Content-Disposition"] = f"{kind}; filename*=UTF-8''{quote(name)}"
    resp.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return _conditional(resp, document_etag(engine, doc.id) + "-file")


def corpus_path(engine, doc_id: str):
    """The file of an indexed document, inside the corpus folder (None when it is not)."""
    report = getattr(engine.corpus, "report", None)
    root = getattr(report, "root", None) or settings()["corpus"]
    root = Path(root).resolve()
    path = root.joinpath(*doc_id.split("/"))
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        return None
    return path


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/healthz")
def healthz():
    engine = holder().engine
    return jsonify({"status": "ok", "documents": len(engine.documents),
                    "passages": len(engine.passages), "index_version": engine.version,
                    "skipped": len(getattr(engine.corpus, "skipped", ()))})
