"""The optional per-client rate limit: off by default, 429 in the JSON error shape."""

from __future__ import annotations

import pytest

from askfiles import create_app
from askfiles.ratelimit import MAX_CLIENTS, RateLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_bucket_bursts_then_refills_at_the_rate():
    clock = Clock()
    rl = RateLimiter(60, clock)                 # one a second
    assert all(rl.check("a") == 0 for _ in range(60))
    wait = rl.check("a")
    assert 0 < wait <= 1.0
    assert rl.check("b") == 0                   # another client is not affected
    clock.now += 1.0
    assert rl.check("a") == 0
    assert rl.check("a") > 0
    clock.now += 3600
    assert sum(rl.check("a") == 0 for _ in range(100)) == 60   # never more than the burst


def test_memory_is_bounded():
    rl = RateLimiter(10, Clock())
    for i in range(MAX_CLIENTS + 500):
        rl.check(f"10.0.{i // 256}.{i % 256}")
    assert len(rl) == MAX_CLIENTS


@pytest.fixture()
def limited(seed_engine):
    app = create_app({"engine": seed_engine, "rate_limit": 5, "TESTING": True})
    clock = Clock()
    app.extensions["askfiles.ratelimit"].clock = clock
    return app, clock


def test_429_json_with_retry_after(limited):
    app, clock = limited
    client = app.test_client()
    for _ in range(5):
        assert client.get("/api/documents").status_code == 200
    resp = client.post("/api/ask", json={"question": "When did Cairncross die?"})
    assert resp.status_code == 429 and resp.mimetype == "application/json"
    assert resp.get_json()["error"]["code"] == "too_many_requests"
    assert set(resp.get_json()["error"]) == {"code", "message"}
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= 12                     # 5 a minute: one every 12 s
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    clock.now += retry
    assert client.get("/api/documents").status_code == 200


def test_only_the_api_is_limited_and_clients_are_separate(limited):
    app, _ = limited
    a = app.test_client()
    b = app.test_client()
    for _ in range(5):
        a.get("/api/documents", environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert a.get("/api/documents", environ_base={"REMOTE_ADDR": "127.0.0.2"}).status_code == 429
    assert b.get("/api/documents", environ_base={"REMOTE_ADDR": "127.0.0.3"}).status_code == 200
    # The health check, the pages and static files are never limited.
    for url in ("/healthz", "/", "/documents", "/static/style.css"):
        assert a.get(url, environ_base={"REMOTE_ADDR": "127.0.0.2"}).status_code == 200
    # A forged X-Forwarded-For does not buy a new bucket.
    resp = a.get("/api/documents", environ_base={"REMOTE_ADDR": "127.0.0.2"},
                 headers={"X-Forwarded-For": "10.9.9.9"})
    assert resp.status_code == 429


def test_cors_preflights_are_not_limited_and_the_429_carries_cors(seed_engine):
    origin = "https://app.example"
    app = create_app({"engine": seed_engine, "rate_limit": 5, "cors_origins": origin,
                      "TESTING": True})
    app.extensions["askfiles.ratelimit"].clock = Clock()
    client = app.test_client()
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Content-Type"}
    for _ in range(5):
        assert client.get("/api/documents", headers={"Origin": origin}).status_code == 200
    for _ in range(3):                  # the bucket is empty: preflights still pass
        resp = client.options("/api/ask", headers=preflight)
        assert resp.status_code == 200
        assert resp.headers["Access-Control-Allow-Origin"] == origin
    resp = client.post("/api/ask", json={"question": "When did Cairncross die?"},
                       headers={"Origin": origin})
    assert resp.status_code == 429      # readable by the page that asked
    assert resp.headers["Access-Control-Allow-Origin"] == origin


def test_off_by_default(seed_engine):
    app = create_app({"engine": seed_engine, "TESTING": True})
    assert "askfiles.ratelimit" not in app.extensions
    client = app.test_client()
    assert all(client.get("/api/documents").status_code == 200 for _ in range(100))


def test_setting_from_the_environment(seed_engine, monkeypatch):
    monkeypatch.setenv("ASKFILES_RATE_LIMIT", "2")
    client = create_app({"engine": seed_engine}).test_client()
    assert [client.get("/api/documents").status_code for _ in range(3)] == [200, 200, 429]


def test_questions_asked_through_the_page_are_limited_too(limited):
    """/?q= does the work of /api/ask: it spends from the same bucket (an HTML 429)."""
    app, _ = limited
    c = app.test_client()
    env = {"REMOTE_ADDR": "127.0.0.4"}
    codes = [c.get("/", query_string={"q": "When did Cairncross confess?"},
                   environ_base=env).status_code for _ in range(5)]
    assert codes == [200] * 5
    resp = c.get("/", query_string={"q": "When did Cairncross die?"}, environ_base=env)
    assert resp.status_code == 429 and resp.mimetype == "text/html"
    assert int(resp.headers["Retry-After"]) >= 1
    assert "Too many requests: the limit is 5 per minute per client" in resp.get_data(True)
    # The same bucket as the API; the form itself (no question) is not limited.
    assert c.get("/api/ask?q=When", environ_base=env).status_code == 429
    assert c.get("/", environ_base=env).status_code == 200
    assert c.get("/?q=++", environ_base=env).status_code == 200


def test_the_pages_closest_passages_need_no_second_parse(seed_engine, monkeypatch):
    """When nothing answers, the page lists the closest passages with the index
    tokenizer alone: the question is not parsed by spaCy a second time."""
    from askfiles import nlp, pages

    calls = []
    app = create_app({"engine": seed_engine, "TESTING": True})
    monkeypatch.setattr(nlp, "parse_many", lambda texts, *a: calls.extend(texts))
    with app.test_request_context("/?q=x"):
        shown = pages._closest_passages(seed_engine, "When did Cairncross confess?")
    assert shown and shown[0].document == "cairncross-mi5-confession.txt"
    assert calls == []
