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


def _fields(spec, name: str) -> set[str]:
    return set(spec["components"]["schemas"][name]["properties"])


def test_every_field_sent_is_described(app, spec):
    """The fields of each response are properties of its schema (/healthz's skipped was
    sent but not described)."""
    client = app.test_client()
    asked = client.post("/api/ask", json={"question": "When did Cairncross die?",
                                          "explain": True}).get_json()
    assert set(asked) <= _fields(spec, "AskResponse")
    for a in asked["answers"]:
        assert set(a) <= _fields(spec, "Answer")
        assert set(a["citation"]) <= _fields(spec, "Citation")
    listed = client.get("/api/documents").get_json()
    assert set(listed) <= _fields(spec, "DocumentList")
    assert set(listed["documents"][0]) <= _fields(spec, "DocumentSummary")
    assert set(client.get(f"/api/documents/{DOC}").get_json()) <= _fields(spec, "Document")
    health = client.get("/healthz").get_json()
    assert set(health) <= _fields(spec, "Health")
    _validator(spec, "Health").validate(health)


def test_429_is_described_where_the_rate_limit_applies(seed_engine, spec):
    """Every path under /api/ may answer 429 with ASKFILES_RATE_LIMIT set; /healthz and
    /metrics never do, so their descriptions do not list it."""
    client = create_app({"engine": seed_engine, "TESTING": True, "rate_limit": 1}
                        ).test_client()
    for path, item in spec["paths"].items():
        if "get" not in item:
            continue
        url = path.replace("{id}", DOC)
        sent = {client.get(url).status_code for _ in range(3)}   # the bucket holds one
        assert (429 in sent) == ("429" in item["get"]["responses"]), (path, sent)


@pytest.fixture(scope="module")
def write_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("openapi-writes")
    (root / "a.txt").write_text("Mill\n\nThe old mill closed in 1911 after a fire.\n")
    return create_app({"corpus": str(root), "poll_seconds": 0, "api_token": "t0ken",
                       "max_file_mb": 0.01, "TESTING": True}).test_client()


AUTH = {"Authorization": "Bearer t0ken"}


@pytest.mark.parametrize("method,url,kwargs,status", [
    ("PUT", "/api/documents/b.txt", {"data": b"The quay was paved in 1871.\n",
                                     "headers": AUTH}, 201),
    ("PUT", "/api/documents/b.txt", {"data": b"The quay was paved in 1872.\n",
                                     "headers": AUTH}, 200),
    ("PUT", "/api/documents/b.txt", {"data": b"x"}, 401),
    ("PUT", "/api/documents/b.xyz", {"data": b"x", "headers": AUTH}, 415),
    ("PUT", "/api/documents/.b.txt", {"data": b"x", "headers": AUTH}, 422),
    ("PUT", "/api/documents/c.txt", {"data": b"x" * 20000, "headers": AUTH}, 413),
    ("DELETE", "/api/documents/b.txt", {"headers": AUTH}, 204),
    ("DELETE", "/api/documents/b.txt", {"headers": AUTH}, 404),
    ("DELETE", "/api/documents/../a.txt", {"headers": AUTH}, 422),
    ("PATCH", "/api/documents/a.txt", {"headers": AUTH}, 405),
    ("GET", "/api/documents/a.txt/file", {}, 200),
    ("GET", "/api/documents/zz.txt/file", {}, 404),
    ("GET", "/api/documents?limit=0", {}, 422),
    ("GET", "/api/documents?limit=x", {}, 400),
    ("POST", "/api/ask/batch", {"json": {"questions": []}}, 422),
    ("POST", "/api/ask/batch", {"data": "{}"}, 415),
    ("GET", "/api/ask?q=x&topk=1", {}, 400),
    ("POST", "/api/openapi.json", {}, 405),
    ("POST", "/healthz", {}, 405),
])
def test_statuses_sent_are_described(write_client, spec, method, url, kwargs, status):
    resp = write_client.open(url, method=method, **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    path = url.split("?")[0].replace("/api/documents/a.txt/file", "/api/documents/{id}/file")
    path = re.sub(r"^/api/documents/(?!.*/file$).+", "/api/documents/{id}", path)
    path = path.replace("/api/documents/zz.txt/file", "/api/documents/{id}/file")
    item = spec["paths"][path]
    if method.lower() in item:
        assert str(status) in item[method.lower()]["responses"], (method, path, status)
    else:
        assert status == 405
    if status >= 400:
        _validator(spec, "Error").validate(resp.get_json())
