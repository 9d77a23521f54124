"""Errors: JSON ``{"error": {"code", "message"}}`` under ``/api/``, a plain page elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# The error code sent for each HTTP status that Flask or Werkzeug raise themselves.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_value",
    429: "too_many_requests",
    500: "internal_error",
}

HTTP_MESSAGES = {
    404: "There is nothing at this address.",
    413: "The request body is too large.",
    500: "The server hit an unexpected error; it has been logged.",
}


class ApiError(Exception):
    """An error the API reports to the client with a status, a code and a message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class SafeJSONProvider(DefaultJSONProvider):
    """JSON as the contract shows it: keys in order, UTF-8, ``<`` and ``>`` escaped.

    The escapes decode to the same strings, but a response can never be read as
    markup, even by a client that ignores its content type. Text that cannot be
    UTF-8 (a lone surrogate) falls back to ``\\u`` escapes instead of failing.
    """

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        text = super().dumps(obj, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = super().dumps(obj, **{**kwargs, "ensure_ascii": True})
        return text.replace("<", "\\u003c").replace(">", "\\u003e")


def is_api_path(path: str) -> bool:
    """Paths whose errors are JSON: the API and the health check."""
    return path == "/api" or path.startswith("/api/") or path == "/healthz"


def error_response(status: int, code: str, message: str,
                   headers: list[tuple[str, str]] | None = None) -> Response:
    """The contract's error body with ``status``."""
    from flask import current_app

    resp = current_app.json.response({"error": {"code": code, "message": message}})
    resp.status_code = status
    for name, value in headers or []:
        resp.headers[name] = value
    return resp


def error_page(status: int, title: str, message: str,
          headers: list[tuple[str, str]] | None = None) -> Response:
    """An HTML error page with ``status`` (for the pages; the API answers JSON)."""
    html = render_template("error.html", status=status, title=title, message=message)
    resp = Response(html, status=status, mimetype="text/html")
    for name, value in headers or []:
        resp.headers[name] = value
    return resp


def _http_message(exc: HTTPException) -> str:
    if exc.code == 405:
        allowed = [m for m in getattr(exc, "valid_methods", None) or []
                   if m not in ("HEAD", "OPTIONS")]
        return (f"{request.method} is not allowed here; use "
                f"{' or '.join(sorted(allowed)) or 'another method'}.")
    if exc.code == 404 and is_api_path(request.path):
        return "No such endpoint; the API is described at /api/openapi.json."
    if exc.code == 413:
        limit = request.max_content_length
        return (f"The request body is larger than {limit} bytes."
                if limit else HTTP_MESSAGES[413])
    return HTTP_MESSAGES.get(exc.code or 500) or (exc.description or exc.name)


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        # Keep headers such as Allow (405); the body is ours.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        message = _http_message(exc)
        if is_api_path(request.path):
            return error_response(status, HTTP_CODES.get(status, f"http_{status}"),
                                  message, headers)
        return error_page(status, exc.name, message, headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_path(request.path):
            return error_response(500, "internal_error", HTTP_MESSAGES[500])
        return error_page(500, "Server error", HTTP_MESSAGES[500])

