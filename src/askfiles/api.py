"""The JSON API: ``/api/ask``, ``/api/documents``, ``/api/openapi.json`` and ``/healthz``."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import ApiError
from .openapi import spec

bp = Blueprint("api", __name__)

TOP_K_DEFAULT = 3
TOP_K_MAX = 20


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
    """``top_k`` as an int in 1..20, else an :class:`ApiError` (400 wrong type, 422 range).

    An integral float (``3.0``, ``1e1``) is an integer, as JSON Schema counts them.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "wrong_type", "top_k must be an integer from 1 to 20.")
    if not 1 <= value <= TOP_K_MAX:
        raise ApiError(422, "top_k_out_of_range",
                       f"top_k must be from 1 to {TOP_K_MAX}.")
    return value


def _json_body() -> dict[str, Any]:
    """The request's JSON object, or the contract's 415 / 413 / 400 error."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type",
                       "Send the question as JSON with Content-Type: application/json.")
    data = request.get_data(cache=False)  # 413 past MAX_CONTENT_LENGTH
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        # A chunked body is read only up to the limit: that it filled it means more.
        raise RequestEntityTooLarge()
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
        raise ApiError(400, "wrong_type", f"{name} must be an integer from 1 to 20.") from None


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no", ""):
        return value.lower() in ("1", "true", "yes")
    raise ApiError(400, "wrong_type", "explain must be true or false.")


@bp.route("/api/ask", methods=["GET", "POST"])
def ask():
    engine = holder().engine
    if request.method == "POST":
        body = _json_body()
        if "question" not in body:
            raise ApiError(400, "missing_field",
                           'The field "question" is required: {"question": "..."}.')
        question = body["question"]
        if not isinstance(question, str):
            raise ApiError(400, "wrong_type", 'The field "question" must be a string.')
        top_k = body.get("top_k", TOP_K_DEFAULT)
        explain = _flag(body.get("explain", False))
    else:
        question = request.args.get("q")
        if question is None:
            raise ApiError(400, "missing_field",
                           "The query parameter q (the question) is required: "
                           "/api/ask?q=...")
        top_k = _query_int("top_k", TOP_K_DEFAULT)
        explain = _flag(request.args.get("explain", ""))
    question = check_question(question)
    top_k = check_top_k(top_k)
    return jsonify(engine.ask(question, top_k, explain).to_json())


@bp.get("/api/documents")
def documents():
    engine = holder().engine
    return jsonify([
        {"id": d.id, "title": d.title, "passages": engine.passage_count(d.id),
         "chars": len(d.text)}
        for d in sorted(engine.documents.values(), key=lambda d: d.id)
    ])


@bp.get("/api/documents/<path:doc_id>")
def document(doc_id: str):
    doc = holder().engine.documents.get(doc_id)
    if doc is None:
        raise ApiError(404, "not_found", "No document has this id; "
                       "GET /api/documents lists them.")
    return jsonify({"id": doc.id, "title": doc.title, "text": doc.text, "meta": doc.meta})


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/healthz")
def healthz():
    engine = holder().engine
    return jsonify({"status": "ok", "documents": len(engine.documents),
                    "passages": len(engine.passages), "index_version": engine.version,
                    "skipped": len(getattr(engine.corpus, "skipped", ()))})
