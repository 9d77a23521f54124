"""Request ids, the access log, Prometheus metrics and the reload log line, in one process."""

from __future__ import annotations

import logging
import re

import pytest

from askfiles import create_app
from askfiles.holder import EngineHolder
from askfiles.observe import describe_change


@pytest.fixture(scope="module")
def app(seed_engine):
    return create_app({"engine": seed_engine, "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


def metric(client, name: str, **labels) -> float:
    """One sample's value from /metrics (0 when absent)."""
    return sample(client.get("/metrics").get_data(as_text=True), name, **labels)


def sample(text: str, name: str, **labels) -> float:
    """A sample's value in Prometheus text (labels in any order), 0 when absent."""
    for line in text.splitlines():
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if got == {k: str(v) for k, v in labels.items()}:
            return float(m.group(3))
    return 0.0


def test_every_response_has_a_request_id_and_a_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="askfiles.access")
    ids = set()
    for url in ("/healthz", "/api/ask?q=When+did+Cairncross+die%3F", "/nope", "/"):
        resp = client.get(url)
        rid = resp.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid)
        ids.add(rid)
        assert f"rid={rid}" in caplog.text
    assert len(ids) == 4
    assert '"GET /api/ask?q=When+did+Cairncross+die%3F" 200' in caplog.text
    assert '"GET /nope" 404' in caplog.text


@pytest.mark.parametrize("given, kept", [
    ("abc-123.X_y", True), ("x" * 64, True), ("x" * 65, False), ("a b", False),
    ("<script>", False), ("", False),
])
def test_a_clean_incoming_request_id_is_kept(client, given, kept):
    rid = client.get("/healthz", headers={"X-Request-Id": given}).headers["X-Request-Id"]
    assert (rid == given) is kept


def test_error_responses_carry_the_request_id_too(client):
    resp = client.post("/api/ask", data="{", content_type="application/json")
    assert resp.status_code == 400 and resp.headers["X-Request-Id"]


def test_metrics_count_requests_asks_and_no_answers(client):
    route = dict(route="/api/ask", method="POST", status="200")
    before = metric(client, "askfiles_http_requests_total", **route)
    asked = metric(client, "askfiles_questions_total")
    none = metric(client, "askfiles_no_answer_total")
    hist = metric(client, "askfiles_ask_seconds_count")
    client.post("/api/ask", json={"question": "When did Cairncross die?"})
    client.post("/api/ask", json={"question": "Who won the World Cup in 2010?"})
    assert metric(client, "askfiles_http_requests_total", **route) == before + 2
    assert metric(client, "askfiles_questions_total") == asked + 2
    assert metric(client, "askfiles_no_answer_total") == none + 1
    assert metric(client, "askfiles_ask_seconds_count") == hist + 2
    bad = dict(route="/api/ask", method="POST", status="422")
    n = metric(client, "askfiles_http_requests_total", **bad)
    client.post("/api/ask", json={"question": ""})
    assert metric(client, "askfiles_http_requests_total", **bad) == n + 1
    unmatched = dict(route="unmatched", method="GET", status="404")
    n = metric(client, "askfiles_http_requests_total", **unmatched)
    client.get("/no/such/page")
    assert metric(client, "askfiles_http_requests_total", **unmatched) == n + 1


def test_metrics_text_format(client):
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    text = resp.get_data(as_text=True)
    for name in ("askfiles_http_requests_total", "askfiles_ask_seconds_bucket",
                 "askfiles_no_answer_total", "askfiles_documents", "askfiles_passages",
                 "askfiles_skipped_files", "askfiles_index_reloads_total"):
        assert f"# TYPE {name.removesuffix('_total').removesuffix('_bucket')}" in text, name


def test_a_swap_counts_a_reload_and_updates_the_gauges(seed_engine, tmp_path):
    from askfiles.engine import Engine

    (tmp_path / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    (tmp_path / "b.txt").write_text("Quay\n\nThe quay was paved in 1871.\n")
    other = Engine.from_folder(tmp_path, {"poll_seconds": 0, "index_dir": "off"})
    holder = EngineHolder(seed_engine)
    client = create_app({"holder": holder, "TESTING": True}).test_client()
    reloads = metric(client, "askfiles_index_reloads_total")
    assert metric(client, "askfiles_documents") == 1
    holder.swap(other)
    assert metric(client, "askfiles_index_reloads_total") == reloads + 1
    assert metric(client, "askfiles_documents") == 2
    assert metric(client, "askfiles_passages") == len(other.passages)
    line = describe_change(seed_engine, other)
    assert line.startswith(f"index {seed_engine.version} -> {other.version}: added 2 (a.txt, b.txt); "
                           "removed 1 (cairncross-mi5-confession.txt); now 2 documents")
