"""Fuzzing the JSON API: schemathesis over ``/api/openapi.json`` and hypothesis by hand.

Whatever arrives — arbitrary JSON, raw bytes, unicode of every kind (emoji, RTL,
combining marks, NUL, lone surrogates as JSON escapes), huge numbers, deep
nesting, wrong types — the answer is never a 5xx: it is either a valid answer
record (``text[start:end] == answer`` for every citation) or the contract's JSON
error ``{"error": {"code", "message"}}`` with a documented status.

Example counts are bounded so the module runs in well under a minute;
``ASKFILES_FUZZ_EXAMPLES`` raises them for a longer run. Every case is
counted; the totals are printed at the end (``pytest -s tests/test_fuzz.py``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from askfiles import create_app

jsonschema = pytest.importorskip("jsonschema")
schemathesis = pytest.importorskip(
    "schemathesis", reason="install the test extra: pip install -e '.[test]'")

N = int(os.environ.get("ASKFILES_FUZZ_EXAMPLES", "50"))
FUZZ = settings(max_examples=N, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
ERROR_STATUSES = {400, 401, 403, 404, 405, 413, 415, 422}
TOKEN = "fuzz-token"
# Routes whose 200 is not an answer record: no schema-level invalid input, or any id.
ANY_ID = ("/api/documents/{id}", "/api/documents/{id}/file")
CASES: Counter = Counter()          # cases fuzzed, by test
STATUSES: Counter = Counter()       # responses seen, by status


@pytest.fixture(scope="module")
def app(seed_engine):
    return create_app({"engine": seed_engine, "TESTING": True})


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/api/openapi.json").get_json()


def _validator(spec, name: str):
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


def check_response(resp, spec, engine, kind: str) -> dict | list:
    """Never a 5xx; JSON always; an answer record or the documented error shape."""
    CASES[kind] += 1
    status = resp.status_code
    STATUSES[status] += 1
    text = resp.get_data(as_text=True)
    assert status < 500, text
    assert resp.mimetype == "application/json", (status, text[:200])
    assert "Traceback" not in text and "<html" not in text.lower()
    body = json.loads(text)
    if status >= 400:
        assert status in ERROR_STATUSES, (status, text)
        _validator(spec, "Error").validate(body)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert body["error"]["message"]
    else:
        assert status == 200, status
    return body


def check_answers(body: dict, spec, engine) -> None:
    """An answer record as the contract has it, with exact citations."""
    _validator(spec, "AskResponse").validate(body)
    assert body["no_answer"] or body["answers"]
    for a in body["answers"]:
        c = a["citation"]
        text = engine.documents[c["document"]].text
        assert text[c["start"]:c["end"]] == a["answer"]
        assert text[c["snippet_start"]:c["snippet_end"]] == a["snippet"]
        assert 0 <= a["score"] <= 1


# -- strategies -----------------------------------------------------------------

# Unicode of every kind, lone surrogates included (the JSON encoder writes them
# as "\ud800" escapes), plus hand-picked hard cases.
HARD = ["\u202e\u0645\u0631\u062d\u0628\u0627", "e\u0301\u0302\u0303", "\x00", "\ud800",
        "\udfff", "\U0001f4a9\u200d\U0001f525", "\ufeff", "\u0000When?", "\r\n\t",
        "<script>alert(1)</script>", "%00", "../../etc/passwd", "\u2028\u2029",
        "When did Cairncross die?", "1" * 400, "\U000e0001"]
any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=60),
    st.sampled_from(HARD),
    st.lists(st.sampled_from(HARD), min_size=1, max_size=6).map(" ".join),
)
huge_numbers = st.one_of(
    st.integers(), st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, -0.0, 1e308, 2 ** 63, -2 ** 63 - 1]),
)
json_scalars = st.one_of(st.none(), st.booleans(), huge_numbers, any_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(any_text, inner, max_size=4)),
    max_leaves=12)
ask_bodies = st.fixed_dictionaries(
    {"question": st.one_of(any_text, json_values)},
    optional={"top_k": st.one_of(st.integers(-5, 25), json_values),
              "explain": st.one_of(st.booleans(), json_values),
              "extra": json_values})


def _dumps(obj) -> bytes:
    # ensure_ascii: lone surrogates become "\ud800" escapes, as a client would send them.
    return json.dumps(obj, ensure_ascii=True).encode("ascii")


# -- schemathesis over the OpenAPI description -------------------------------------

@pytest.fixture(scope="module")
def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return [r.ok() for r in schema.get_all_operations()]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_every_operation(operations, spec, seed_engine, mode):
    """Cases generated from the schema (valid ones, then invalid ones) for every operation."""
    from schemathesis import GenerationMode

    gen_mode = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    seen = set()
    for op in operations:
        seen.add((op.method.upper(), op.path))
        if mode == "negative" and op.path in ("/healthz", "/metrics", "/api/openapi.json",
                                              *ANY_ID):
            continue   # no invalid input exists: no parameters, or any string is an id
        run_operation(op, gen_mode, mode, spec, seed_engine, writes=False)
    # Every route, the second wave's included, is fuzzed.
    assert {("POST", "/api/ask/batch"), ("PUT", "/api/documents/{id}"),
            ("DELETE", "/api/documents/{id}"), ("GET", "/api/documents/{id}/file"),
            ("GET", "/metrics")} <= seen


def run_operation(op, gen_mode, mode: str, spec, engine, writes: bool, headers=None):
    """Fuzz one operation: never a 5xx, JSON errors, answer records that hold."""
    strategy = op.as_strategy(generation_mode=gen_mode)

    @FUZZ
    @given(case=strategy)
    def run(case):
        resp = case.call(headers=headers)
        CASES[f"schemathesis {mode} {op.method.upper()} {op.path}"] += 1
        STATUSES[resp.status_code] += 1
        assert resp.status_code < 500, (case.method, case.path, case.body, resp.text)
        ctype = resp.headers.get("content-type", [""])[0]
        if resp.status_code in (204, 304):
            assert not resp.content
            return
        if op.path == "/metrics" or (op.path.endswith("/file") and resp.status_code == 200):
            return   # Prometheus text; the original file's bytes
        assert ctype.startswith("application/json"), (op.path, resp.status_code, ctype)
        body = resp.json()
        if resp.status_code >= 400:
            assert resp.status_code in ERROR_STATUSES | {429}, resp.status_code
            _validator(spec, "Error").validate(body)
        elif op.path == "/api/ask":
            check_answers(body, spec, engine)
        elif op.path == "/api/ask/batch":
            for result in body["results"]:
                check_answers(result, spec, engine)
        elif op.path == "/api/documents":
            _validator(spec, "DocumentList").validate(body)
        if mode == "positive" and op.method.upper() in ("PUT", "DELETE") and not writes:
            # Writes are off on this app: 403, or 404 for an id with a control
            # character, which no route takes ("0\n").
            # schemathesis may hand the id over percent-encoded ("0%0A").
            doc_id = unquote(str((case.path_parameters or {}).get("id", "")))  # the spec's name
            routed = not any(ord(c) < 32 or c == "\x7f" for c in doc_id)
            assert resp.status_code == 403 or (resp.status_code == 404 and not routed), \
                (repr(doc_id), resp.text)
        elif mode == "positive" and op.path not in ANY_ID and op.method.upper() == "POST":
            # Valid input (by the schema) is answered, not refused. (A valid question
            # of spaces only is empty once stripped; a valid pattern may match nothing:
            # 422.)
            assert resp.status_code in (200, 422), (case.query, case.body, resp.text)

    run()


@pytest.fixture(scope="module")
def write_app(tmp_path_factory):
    """An app with writes on, over a corpus of its own (the seed corpus is never written)."""
    root = tmp_path_factory.mktemp("fuzz-writes")
    (root / "a.txt").write_text("Mill\n\nThe old mill closed in 1911 after a fire.\n")
    return create_app({"corpus": str(root), "poll_seconds": 0, "api_token": TOKEN,
                       "max_file_mb": 0.05, "TESTING": True})


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_writes_with_the_token(write_app, mode):
    """PUT and DELETE with a valid token: any id and body is written safely or refused."""
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", write_app)
    spec = write_app.test_client().get("/api/openapi.json").get_json()
    engine = write_app.extensions["askfiles"].engine
    root = engine.corpus.report.root
    gen_mode = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    for result in schema.get_all_operations():
        op = result.ok()
        if op.method.upper() in ("PUT", "DELETE"):
            run_operation(op, gen_mode, mode, spec, engine, writes=True,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    import os
    real = os.path.realpath(root)
    for dirpath, _, names in os.walk(root):   # nothing was written outside the corpus
        assert os.path.realpath(dirpath).startswith(real)


# -- hypothesis by hand -------------------------------------------------------------

@FUZZ
@given(body=json_values)
def test_post_any_json_value(client, spec, seed_engine, body):
    resp = client.post("/api/ask", data=_dumps(body), content_type="application/json")
    out = check_response(resp, spec, seed_engine, "POST any JSON value")
    if resp.status_code == 200:
        check_answers(out, spec, seed_engine)


@FUZZ
@given(body=ask_bodies)
def test_post_ask_shaped_bodies(client, spec, seed_engine, body):
    resp = client.post("/api/ask", data=_dumps(body), content_type="application/json")
    out = check_response(resp, spec, seed_engine, "POST ask-shaped body")
    if resp.status_code == 200:
        check_answers(out, spec, seed_engine)
        assert isinstance(body["question"], str)
        top_k = body.get("top_k", 3)
        assert len(out["answers"]) <= top_k <= 20


@FUZZ
@given(question=any_text, top_k=st.integers(1, 20))
def test_valid_questions_of_any_unicode_are_answered(client, spec, seed_engine, question,
                                                     top_k):
    resp = client.post("/api/ask", data=_dumps({"question": question, "top_k": top_k}),
                       content_type="application/json")
    out = check_response(resp, spec, seed_engine, "POST unicode question")
    stripped = question.encode("utf-8", "replace").decode("utf-8").strip()
    if stripped and len(stripped) <= 1000:
        assert resp.status_code == 200, out
        check_answers(out, spec, seed_engine)
        assert len(out["answers"]) <= top_k
    else:
        assert resp.status_code == 422


@FUZZ
@given(data=st.binary(max_size=300),
       ctype=st.sampled_from(["application/json", "application/json; charset=latin-1",
                              "text/plain", "application/x-www-form-urlencoded",
                              "multipart/form-data; boundary=x", "", "application/*"]))
def test_post_raw_bytes(client, spec, seed_engine, data, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    resp = client.post("/api/ask", data=data, headers=headers)
    check_response(resp, spec, seed_engine, "POST raw bytes")
    assert resp.status_code != 200 or data.strip().startswith(b"{")


@FUZZ
@given(q=any_text, top_k=st.one_of(st.none(), any_text, st.integers().map(str),
                                    st.just("9" * 5000)),
       explain=st.one_of(st.none(), any_text, st.sampled_from(["true", "false", "1"])))
def test_get_ask_any_query(client, spec, seed_engine, q, top_k, explain):
    params = {"q": q}
    if top_k is not None:
        params["top_k"] = top_k
    if explain is not None:
        params["explain"] = explain
    qs = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}"
                  for k, v in params.items())
    out = check_response(client.get("/api/ask?" + qs), spec, seed_engine, "GET ask query")
    if isinstance(out, dict) and "answers" in out:
        check_answers(out, spec, seed_engine)


@FUZZ
@given(documents=st.one_of(json_values, st.lists(st.one_of(any_text, st.sampled_from(
    ["*", "**", "[", "[!", "**/", "cairncross-*.txt", "/", "?", "\\", "[a-", "]"])),
    max_size=5)))
def test_post_ask_any_documents(client, spec, seed_engine, documents):
    body = {"question": "When did Cairncross die?", "documents": documents}
    resp = client.post("/api/ask", data=_dumps(body), content_type="application/json")
    out = check_response(resp, spec, seed_engine, "POST any documents")
    if resp.status_code == 200:
        check_answers(out, spec, seed_engine)


@FUZZ
@given(items=st.lists(st.one_of(ask_bodies, json_values), max_size=4))
def test_post_batch_any_items(client, spec, seed_engine, items):
    resp = client.post("/api/ask/batch", data=_dumps({"questions": items}),
                       content_type="application/json")
    out = check_response(resp, spec, seed_engine, "POST batch items")
    if resp.status_code == 200:
        assert len(out["results"]) == len(items)
        for result in out["results"]:
            check_answers(result, spec, seed_engine)


@FUZZ
@given(limit=any_text, offset=any_text)
def test_document_paging_any_query(client, spec, seed_engine, limit, offset):
    qs = (f"limit={quote(limit.encode('utf-8', 'surrogatepass'))}"
          f"&offset={quote(offset.encode('utf-8', 'surrogatepass'))}")
    out = check_response(client.get("/api/documents?" + qs), spec, seed_engine,
                         "GET documents paging")
    if isinstance(out, dict) and "documents" in out:
        _validator(spec, "DocumentList").validate(out)


@FUZZ
@given(doc_id=any_text)
def test_document_ids_of_any_text(client, spec, seed_engine, doc_id):
    path = quote(doc_id.encode("utf-8", "surrogatepass"), safe="/")
    resp = client.get("/api/documents/" + path)
    out = check_response(resp, spec, seed_engine, "GET document id")
    if resp.status_code == 200:
        assert out["id"] in seed_engine.documents
    else:
        assert resp.status_code == 404


@FUZZ
@given(q=any_text, top_k=st.one_of(any_text, st.integers().map(str)))
def test_question_page_never_fails(client, seed_engine, q, top_k):
    qs = f"q={quote(q.encode('utf-8', 'surrogatepass'))}&top_k={quote(top_k.encode('utf-8', 'surrogatepass'))}"
    resp = client.get("/?" + qs)
    CASES["GET / page"] += 1
    STATUSES[resp.status_code] += 1
    assert resp.status_code in (200, 422), resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "text/html"


# -- hand-written hard cases ----------------------------------------------------------

HARD_BODIES = [
    b'{"question": "When \\ud800 did he die?"}',
    b'{"question": "\\udfff\\ud800"}',
    b'{"question": "\\u0000"}',
    b'{"question": "When\\u0000did Cairncross die?"}',
    b'{"question": "\\ud83d\\udca9 when?"}',
    b'{"question": "When?", "top_k": 1' + b"0" * 5000 + b"}",
    b'{"question": "When?", "top_k": -1' + b"0" * 5000 + b"}",
    b'{"question": "When?", "top_k": 3.0}',   # an integer to JSON Schema: accepted
    b'{"question": "When?", "top_k": 1e2}',
    b'{"question": "When?", "top_k": NaN}',
    b'{"question": "When?", "top_k": Infinity}',
    b'{"question": "When?", "top_k": -Infinity}',
    b'{"question": "When?", "question": 5}',
    b'{"question": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    b'{"a": ' * 2000 + b"1" + b"}" * 2000,
    b'\xef\xbb\xbf{"question": "When?"}',
    b'{"question": "When?"} trailing',
    b'{"question": "\xc3\x28"}',
    b'\xff\xfe{\x00"\x00q\x00',
]


@pytest.mark.parametrize("body", HARD_BODIES, ids=range(len(HARD_BODIES)))
def test_hard_bodies(client, spec, seed_engine, body):
    resp = client.post("/api/ask", data=body, content_type="application/json")
    out = check_response(resp, spec, seed_engine, "hard-coded body")
    if resp.status_code == 200:
        check_answers(out, spec, seed_engine)


def test_zz_report_counts():
    """Prints the totals (run with -s); fails if the fuzzers ran nothing."""
    total = sum(CASES.values())
    print(f"\nfuzz: {total} cases; by test: {dict(sorted(CASES.items()))}; "
          f"statuses: {dict(sorted(STATUSES.items()))}")
    if CASES:  # empty when this test is selected alone
        assert total >= N
        assert not any(s >= 500 for s in STATUSES)
