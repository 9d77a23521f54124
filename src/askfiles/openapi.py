"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from . import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_TEXT = {
    400: "Malformed JSON, a missing or unknown field, or a field or parameter of the "
         "wrong type.",
    404: "Unknown document or route.",
    405: "Method not allowed (the Allow header lists the methods).",
    413: "Request body larger than the limit (ASKFILES_MAX_BODY_BYTES; a batch 100 times "
         "that; a PUT ASKFILES_MAX_FILE_MB).",
    415: "Content-Type is not application/json; for a PUT, a file type askfiles does not "
         "read, or a Content-Type that does not fit the id's extension.",
    422: "A well-formed request with a bad value: an empty or too long question, top_k "
         "outside 1..20, a documents pattern that matches nothing, (batch) a bad item, "
         "named by its index, limit or offset out of range, or (PUT, DELETE) an id that "
         "cannot be written or a file that cannot be indexed.",
    500: "Unexpected server error.",
    401: "Writes need Authorization: Bearer <ASKFILES_API_TOKEN>.",
    403: "Writes are not enabled (ASKFILES_API_TOKEN is not set on the server: "
         "writes_disabled), or the server is a read-only replica (read_only).",
    414: "Request line over 8190 bytes (send a long question with POST).",
    429: "Rate limit (ASKFILES_RATE_LIMIT) reached; see Retry-After.",
}


def _errors(*statuses: int, limited: bool = True) -> dict[str, Any]:
    """Responses for these error statuses, 429 where the rate limit applies (every path
    under /api/, not /healthz) and 500 as the default."""
    out: dict[str, Any] = {str(s): {"$ref": f"#/components/responses/E{s}"}
                           for s in sorted({*statuses, *([429] if limited else [])})}
    out["default"] = {"$ref": "#/components/responses/E500"}
    return out


QUESTION_PARAMS = [
    {"name": "q", "in": "query", "required": True, "description": "The question.",
     "schema": {"type": "string", "minLength": 1, "maxLength": 1000}},
    {"name": "top_k", "in": "query", "required": False,
     "description": "How many answers to return.",
     "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3}},
    {"name": "explain", "in": "query", "required": False,
     "description": "Add an explain object to each answer (why it won).",
     "schema": {"type": "boolean", "default": False}},
    {"name": "documents", "in": "query", "required": False, "style": "form", "explode": True,
     "description": "Search only these documents: ids or glob patterns over ids "
                    "(news/*.txt, reports/**); repeat the parameter for several.",
     "schema": {"type": "array", "items": {"type": "string", "minLength": 1,
                                           "maxLength": 1000}, "maxItems": 100}},
]

DOC_ID = {"name": "id", "in": "path", "required": True,
          "description": "Document id: its path in the corpus, relative (it may contain "
                         "'/' but never starts with one).",
          "schema": {"type": "string", "pattern": "^[^/]"}}
PAGING = [
    {"name": "limit", "in": "query", "required": False, "description": "Documents per page.",
     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
    {"name": "offset", "in": "query", "required": False,
     "description": "Documents to skip (in id order).",
     "schema": {"type": "integer", "minimum": 0, "default": 0}},
]
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False,
                 "description": "An ETag from an earlier response: 304 when unchanged.",
                 "schema": {"type": "string"}}
NOT_MODIFIED = {"description": "Not modified: the ETag still matches."}
ETAG = {"ETag": {"description": "Index version and document id.",
                 "schema": {"type": "string"}}}
BEARER = [{"bearer": []}]
DOCUMENT_PATTERNS = {
    "type": "array", "minItems": 1, "maxItems": 100,
    "items": {"type": "string", "minLength": 1, "maxLength": 1000},
    "description": "Search only these documents: ids or glob patterns over ids "
                   "(* and ? within a folder, ** across folders, a trailing / for a folder).",
    "examples": [["news/*.txt"]],
}

SCHEMAS: dict[str, Any] = {
    "AskRequest": {
        "type": "object",
        "required": ["question"],
        "properties": {
            "question": {"type": "string", "minLength": 1, "maxLength": 1000,
                         "examples": ["When did Cairncross confess?"]},
            "top_k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3},
            "explain": {"type": "boolean", "default": False},
            "documents": DOCUMENT_PATTERNS,
        },
        "additionalProperties": False,
    },
    "BatchRequest": {
        "type": "object",
        "required": ["questions"],
        "properties": {"questions": {"type": "array", "minItems": 1, "maxItems": 100,
                                     "items": _ref("AskRequest")}},
        "additionalProperties": False,
    },
    "BatchResponse": {
        "type": "object",
        "required": ["results"],
        "properties": {"results": {"type": "array", "items": _ref("AskResponse"),
                                   "description": "One answer record per question, in order."}},
    },
    "DocumentList": {
        "type": "object",
        "required": ["documents", "total", "limit", "offset"],
        "properties": {
            "documents": {"type": "array", "items": _ref("DocumentSummary")},
            "total": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            "offset": {"type": "integer", "minimum": 0},
        },
    },
    "Written": {
        "type": "object",
        "required": ["id", "index_version"],
        "properties": {"id": {"type": "string"}, "index_version": {"type": "string"}},
    },
    "Citation": {
        "type": "object",
        "required": ["document", "title", "passage", "start", "end",
                     "snippet_start", "snippet_end", "url"],
        "properties": {
            "document": {"type": "string", "description": "Document id (path in the corpus)."},
            "title": {"type": "string"},
            "passage": {"type": "integer", "minimum": 0},
            "start": {"type": "integer", "minimum": 0,
                      "description": "text[start:end] == answer, in the document's text."},
            "end": {"type": "integer", "minimum": 0},
            "snippet_start": {"type": "integer", "minimum": 0},
            "snippet_end": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1, "description": "PDF page, if any."},
            "url": {"type": "string", "description": "Document view with the span highlighted."},
        },
    },
    "Answer": {
        "type": "object",
        "required": ["answer", "answer_type", "snippet", "score", "citation"],
        "properties": {
            "answer": {"type": "string", "description": "The shortest span that answers."},
            "answer_type": {"type": "string", "examples": ["DATE", "PERSON", "PHRASE"]},
            "normalized": {"type": "string", "description": "ISO date, year, range or number."},
            "snippet": {"type": "string", "description": "The sentence around the answer."},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "citation": _ref("Citation"),
            "explain": {"type": "object", "description": "Why this answer won (explain=true)."},
        },
    },
    "AskResponse": {
        "type": "object",
        "required": ["question", "answers", "no_answer", "index_version", "took_ms"],
        "properties": {
            "question": {"type": "string"},
            "answers": {"type": "array", "items": _ref("Answer")},
            "no_answer": {"type": "boolean"},
            "index_version": {"type": "string"},
            "took_ms": {"type": "number", "minimum": 0},
        },
    },
    "DocumentSummary": {
        "type": "object",
        "required": ["id", "title", "passages", "chars"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "passages": {"type": "integer", "minimum": 0},
            "chars": {"type": "integer", "minimum": 0},
        },
    },
    "Document": {
        "type": "object",
        "required": ["id", "title", "text", "meta"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "text": {"type": "string"},
            "meta": {"type": "object"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "documents", "passages", "index_version", "skipped"],
        "properties": {
            "status": {"type": "string", "const": "ok"},
            "documents": {"type": "integer", "minimum": 0},
            "passages": {"type": "integer", "minimum": 0},
            "index_version": {"type": "string", "description": "Changes with the corpus."},
            "skipped": {"type": "integer", "minimum": 0,
                        "description": "Corpus files not indexed (askfiles index lists why)."},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "examples": ["bad_json", "not_found"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    ask_ok = _json(_ref("AskResponse"), "Answers, best first, each with its citation.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "askfiles",
            "version": __version__,
            "description": "Exact answers to questions about a folder of documents, "
                           "each cited to the character. Every error is "
                           '{"error": {"code", "message"}}.',
        },
        "paths": {
            "/api/ask": {
                "get": {
                    "operationId": "askGet", "summary": "Answer a question (query string).",
                    "parameters": QUESTION_PARAMS,
                    "responses": {"200": ask_ok, **_errors(400, 405, 414, 422)},
                },
                "post": {
                    "operationId": "askPost", "summary": "Answer a question (JSON body).",
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": _ref("AskRequest")}}},
                    "responses": {"200": ask_ok, **_errors(400, 405, 413, 415, 422)},
                },
            },
            "/api/ask/batch": {
                "post": {
                    "operationId": "askBatch",
                    "summary": "Answer up to 100 questions; results in order.",
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": _ref("BatchRequest")}}},
                    "responses": {"200": _json(_ref("BatchResponse"), "One result per question."),
                                  **_errors(400, 405, 413, 415, 422)},
                },
            },
            "/api/documents": {
                "get": {
                    "operationId": "listDocuments",
                    "summary": "The documents in the index, a page at a time (by id).",
                    "parameters": [*PAGING, IF_NONE_MATCH],
                    "responses": {"200": {**_json(_ref("DocumentList"), "One page of documents."),
                                          "headers": ETAG},
                                  "304": NOT_MODIFIED, **_errors(400, 405, 422)},
                },
            },
            "/api/documents/{id}": {
                "get": {
                    "operationId": "getDocument",
                    "summary": "One document's full text (citation offsets index it).",
                    "parameters": [DOC_ID, IF_NONE_MATCH],
                    "responses": {"200": {**_json(_ref("Document"), "The document."),
                                          "headers": ETAG},
                                  "304": NOT_MODIFIED, **_errors(404, 405)},
                },
                "put": {
                    "operationId": "putDocument",
                    "summary": "Add or replace a document (the file's bytes); answers once "
                               "it is answerable. Needs ASKFILES_API_TOKEN.",
                    "security": BEARER,
                    "parameters": [DOC_ID],
                    "requestBody": {"required": True, "content": {
                        "application/octet-stream": {"schema": {"type": "string",
                                                                "format": "binary"}},
                        "text/plain": {"schema": {"type": "string"}}}},
                    "responses": {"201": _json(_ref("Written"), "Created."),
                                  "200": _json(_ref("Written"), "Replaced."),
                                  **_errors(401, 403, 404, 405, 413, 415, 422)},
                },
                "delete": {
                    "operationId": "deleteDocument",
                    "summary": "Remove a document's file from the corpus.",
                    "security": BEARER,
                    "parameters": [DOC_ID],
                    "responses": {"204": {"description": "Deleted."},
                                  **_errors(401, 403, 404, 405, 422)},
                },
            },
            "/api/documents/{id}/file": {
                "get": {
                    "operationId": "getDocumentFile",
                    "summary": "The document's original file (PDF, DOCX, text ...).",
                    "parameters": [DOC_ID, IF_NONE_MATCH],
                    "responses": {"200": {"description": "The file's bytes.",
                                          "content": {"*/*": {"schema": {
                                              "type": "string", "format": "binary"}}}},
                                  "304": NOT_MODIFIED, **_errors(404, 405)},
                },
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi", "summary": "This description.",
                    "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                          "content": {"application/json": {}}},
                                  **_errors(405)},
                },
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics (text format), summed over the workers.",
                    "responses": {"200": {"description": "Prometheus text exposition format.",
                                          "content": {"text/plain": {"schema": {
                                              "type": "string"}}}}},
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "health", "summary": "Ready check.",
                    "responses": {"200": _json(_ref("Health"), "The index is ready."),
                                  **_errors(405, limited=False)},
                },
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "ASKFILES_API_TOKEN"}},
            "schemas": SCHEMAS,
            "responses": {f"E{s}": _json(_ref("Error"), text)
                          for s, text in ERROR_TEXT.items()},
        },
    }
