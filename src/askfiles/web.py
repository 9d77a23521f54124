"""The web app's parts put together: JSON API, pages, errors and security headers."""

from __future__ import annotations

from flask import Flask, Response, request

from . import api, errors, observe, pages, ratelimit, writes

# No inline script or style anywhere: everything comes from /static.
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _secure(resp: Response) -> Response:
    # As headers.setdefault for each, which costs an exception per absent header.
    headers = resp.headers
    present = {name.lower() for name, _ in headers}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            headers.set(name, value)
    if "cache-control" not in present and resp.mimetype == "application/json":
        headers.set("Cache-Control", "no-store")
    return resp


def register(app: Flask) -> None:
    """Blueprints, error handlers, JSON settings and headers on ``app``."""
    app.json = errors.SafeJSONProvider(app)
    # "//x" must not answer with an HTML redirect; document ids never hold "//" anyway.
    app.url_map.merge_slashes = False
    app.register_blueprint(api.bp)
    app.register_blueprint(writes.bp)
    app.register_blueprint(pages.bp)
    observe.install(app)
    errors.register(app)
    ratelimit.install(app)
    app.after_request(_api_options)   # after flask-cors's hook, before observe's
    _cors(app)
    app.after_request(_secure)


def _api_options(resp: Response) -> Response:
    """``OPTIONS`` on an API path: 204 No Content, the methods in ``Allow``.

    Flask's automatic answer was 200 with an empty ``text/html`` body. A CORS
    preflight (``Access-Control-Request-Method`` sent) is left as it was, to Flask
    and flask-cors."""
    rule = request.url_rule
    if request.method != "OPTIONS" or resp.status_code != 200 or rule is None \
            or not getattr(rule, "provide_automatic_options", False) \
            or "Access-Control-Request-Method" in request.headers \
            or not errors.is_api_path(request.path):
        return resp
    resp.status_code = 204
    resp.set_data(b"")
    resp.headers.remove("Content-Type")
    resp.headers.remove("Content-Length")
    resp.headers["Allow"] = ", ".join(sorted(resp.allow))
    return resp


def _cors(app: Flask) -> None:
    """CORS on /api/ only, for the origins in ``cors_origins`` (flask-cors); off when empty."""
    raw = str((app.config.get("ASKFILES") or {}).get("cors_origins") or "").strip()
    if not raw:
        return
    from flask_cors import CORS

    origins = "*" if raw == "*" else [o.strip() for o in raw.split(",") if o.strip()]
    CORS(app, resources={r"/api/*": {"origins": origins}},
         methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
         allow_headers=["Content-Type", "Authorization", "If-None-Match", "X-Request-Id"],
         expose_headers=["X-Request-Id", "ETag", "Retry-After"], max_age=600)
