"""``/api/openapi.json`` is valid OpenAPI 3.1, matches the routes, and describes the responses."""

from __future__ import annotations

import re

import pytest

from askfiles import create_app

openapi_spec_validator = pytest.importorskip(
    "openapi_spec_validator", reason="install the test extra: pip install -e '.[test]'")
jsonschema = pytest.importorskip("jsonschema")

DOC = "cairncross-mi5-confession.txt"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def app(seed_engine):
    return create_app({"engine": seed_engine, "TESTING": True})


@pytest.fixture(scope="module")
def spec(app):
    resp = app.test_client().get("/api/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json()


def _template(path: str) -> str:
    """``/a/<path:x>`` and ``/a/{x}`` both become ``/a/{}``."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_spec_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    openapi_spec_validator.validate(spec)


def test_spec_and_routes_match(app, spec):
    routes = {
        (_template(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/metrics")
        for method in rule.methods - IGNORED_METHODS
    }
    described = {
        (_template(path), method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert routes == described
    assert ("/api/ask", "POST") in routes and ("/api/documents/{}", "GET") in routes


def _validator(spec, name: str):
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("method,url,body,status,schema", [
    ("POST", "/api/ask", {"question": "When did Cairncross die?", "top_k": 3}, 200,
     "AskResponse"),
    ("GET", "/api/ask?q=When+did+Cairncross+marry%3F&explain=true", None, 200, "AskResponse"),
    ("GET", "/api/ask?q=Who+won+the+World+Cup%3F", None, 200, "AskResponse"),
    ("GET", f"/api/documents/{DOC}", None, 200, "Document"),
    ("GET", "/healthz", None, 200, "Health"),
    ("POST", "/api/ask", {"question": ""}, 422, "Error"),
    ("POST", "/api/ask", {}, 400, "Error"),
    ("GET", "/api/documents/nope", None, 404, "Error"),
    ("DELETE", "/api/ask", None, 405, "Error"),
])
def test_responses_follow_the_schemas(app, spec, method, url, body, status, schema):
    resp = app.test_client().open(url, method=method, json=body)
    assert resp.status_code == status
    _validator(spec, schema).validate(resp.get_json())


def test_document_list_follows_the_schema(app, spec):
    body = app.test_client().get("/api/documents").get_json()
    _validator(spec, "DocumentList").validate(body)
    listed = body["documents"]
    assert isinstance(listed, list) and listed
    for item in listed:
        _validator(spec, "DocumentSummary").validate(item)


def test_every_documented_status_is_documented_for_the_errors_we_send(spec):
    post = spec["paths"]["/api/ask"]["post"]["responses"]
    assert {"200", "400", "405", "413", "415", "422", "default"} <= set(post)
    assert set(spec["paths"]["/api/documents/{id}"]["get"]["responses"]) >= {"200", "404"}
