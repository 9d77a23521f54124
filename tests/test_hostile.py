"""Hostile requests: markup everywhere renders inert, traversal finds nothing, oversize
requests are refused without being read whole, numbers are bounded.

``tests/test_web.py`` covers the basic error statuses, one XSS question and the
common traversal spellings; this module goes further: a corpus whose file
names, titles and text are attacks, every page they reach parsed for live
markup, more id spellings on both document routes, bodies that claim a gigabyte,
and the raw-socket requests that only the real server (gunicorn) sees.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from askfiles import create_app

ROOT = Path(__file__).resolve().parents[1]
EVIL_NAME = '"><img src=x onerror=alert(3)>.txt'
BAD_TAGS = {"script", "img", "iframe", "object", "embed", "svg", "math", "base", "form",
            "input", "meta", "link", "style"}
# Tags the templates themselves use (checked by name and by attributes).
PAGE_TAGS_OK = {"form", "input", "meta", "link"}


def load_bench():
    """``benchmarks/load.py`` (free_port, wait_ready), shared with the soak."""
    spec = importlib.util.spec_from_file_location("askfiles_bench_load",
                                                  ROOT / "benchmarks" / "load.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(page: str) -> list:
    """No live markup came from the corpus or the request: no script, no handlers."""
    p = _Tags()
    p.feed(page)
    for tag, attrs in p.tags:
        assert tag not in BAD_TAGS - PAGE_TAGS_OK, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, attrs)
            if name in ("href", "src", "action", "formaction", "srcset"):
                assert not (value or "").strip().lower().startswith(
                    ("javascript:", "data:", "vbscript:", "//", "http:", "https:")), (tag, attrs)
        if tag == "meta":
            assert set(attrs) <= {"charset", "name", "content"}, attrs
            assert "refresh" not in (attrs.get("http-equiv") or "").lower()
        if tag in ("link",):
            assert (attrs.get("href") or "").startswith("/static/"), attrs
        if tag == "form":
            assert attrs.get("action") == "/", attrs
    return p.tags


# -- a corpus of attacks ---------------------------------------------------------------

@pytest.fixture(scope="module")
def evil_engine(tmp_path_factory):
    from askfiles.engine import Engine

    root = tmp_path_factory.mktemp("evil")
    (root / "evil.txt").write_text(
        '<script>alert("title")</script> Harbour notes\n\n'
        "The lighthouse was built in 1871 by <script>alert(1)</script> engineers "
        'from Leith. The keeper said "><img src=x onerror=alert(2)> every night.\n')
    (root / EVIL_NAME).write_text(
        "Bridge notes\n\nThe iron bridge opened in 1901 after <b onmouseover=alert(7)>"
        "four years</b> of work.\n")
    (root / "mill.html").write_text(
        "<html><head><title>&lt;script&gt;alert(4)&lt;/script&gt; Mill</title>"
        "<script>alert(6)</script></head><body><p>The old mill closed in 1923 "
        "&lt;img src=x onerror=alert(5)&gt; after the flood.</p>"
        '<a href="javascript:alert(8)">link</a></body></html>')
    (root / "data.csv").write_text("a,b\n1,2\n")            # unsupported: skipped
    os.symlink("/etc/passwd", root / "passwd.txt")          # leaves the corpus
    return Engine.from_folder(root, {"poll_seconds": 0, "index_dir": "off"})


@pytest.fixture(scope="module")
def client(evil_engine):
    return create_app({"engine": evil_engine, "TESTING": True}).test_client()


QUESTIONS = ["When was the lighthouse built?", "When did the iron bridge open?",
             "When did the old mill close?", "What did the keeper say every night?"]


def test_the_corpus_of_attacks_is_indexed(evil_engine):
    assert sorted(evil_engine.documents) == sorted([EVIL_NAME, "evil.txt", "mill.html"])
    assert "<script>alert(6)" not in evil_engine.documents["mill.html"].text
    assert "<img src=x onerror=alert(5)>" in evil_engine.documents["mill.html"].text
    skipped = {s.path for s in evil_engine.corpus.skipped}
    assert "data.csv" in skipped
    assert "passwd.txt" not in evil_engine.documents


@pytest.mark.parametrize("question", QUESTIONS)
def test_answers_and_snippets_from_hostile_text_are_inert(client, question):
    page = client.get("/", query_string={"q": question})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_inert(html)
    body = client.get("/api/ask", query_string={"q": question, "top_k": 5})
    assert body.status_code == 200
    raw = body.get_data()
    assert b"<" not in raw and b">" not in raw      # escaped as \u003c \u003e
    for a in body.get_json()["answers"]:
        assert a["citation"]["url"].startswith("/documents/")
        doc = client.get(a["citation"]["url"])
        assert doc.status_code == 200
        assert_inert(doc.get_data(as_text=True))


def test_the_hostile_text_is_shown_escaped_not_dropped(client):
    html = client.get("/documents/evil.txt").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    html = client.get("/", query_string={"q": QUESTIONS[0]}).get_data(as_text=True)
    assert "1871" in html and "&lt;script&gt;" in html


def test_hostile_file_names_and_titles(client):
    listing = client.get("/documents").get_data(as_text=True)
    tags = assert_inert(listing)
    hrefs = [a.get("href") for t, a in tags if t == "a"]
    assert "/documents/" + quote(EVIL_NAME) in hrefs or \
        any(h and "onerror" in h and '"' not in h for h in hrefs)
    page = client.get("/documents/" + quote(EVIL_NAME))
    assert page.status_code == 200
    assert_inert(page.get_data(as_text=True))
    api = client.get("/api/documents/" + quote(EVIL_NAME))
    assert api.status_code == 200 and api.get_json()["id"] == EVIL_NAME
    assert b"<" not in api.get_data()
    for d in client.get("/api/documents").get_json()["documents"]:
        assert_inert(client.get("/documents/" + quote(d["id"]) + "?start=0&end=5")
                     .get_data(as_text=True))


@pytest.mark.parametrize("q", [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>", 'javascript:alert(1)//"', "{{7*7}}<%= 7*7 %>",
    "\u202e<script>", "<ScRiPt>alert(1)</sCrIpT>", "&lt;script&gt;", "<!--", "]]>",
])
def test_question_attacks_in_the_page_and_api(client, q):
    for top_k in ("3", "<script>", '"><img src=x onerror=alert(1)>'):
        resp = client.get("/", query_string={"q": q, "top_k": top_k})
        assert resp.status_code == 200
        assert_inert(resp.get_data(as_text=True))
    for resp in (client.get("/api/ask", query_string={"q": q}),
                 client.post("/api/ask", json={"question": q})):
        assert resp.status_code == 200
        assert b"<" not in resp.get_data() and resp.get_json()["question"] == q.strip()


def test_error_pages_do_not_reflect_markup(client):
    for url in ["/<script>alert(1)</script>", "/documents/<img src=x onerror=alert(1)>",
                '/documents/"><script>x</script>.txt']:
        resp = client.get(quote(url, safe="/"))
        assert resp.status_code == 404
        assert_inert(resp.get_data(as_text=True))
    resp = client.get("/api/" + quote("<script>alert(1)</script>"))
    assert resp.status_code == 404 and b"<" not in resp.get_data()


# -- traversal and odd ids ---------------------------------------------------------------

ODD_IDS = [
    "..", "../", "../..", "%2e%2e", "%2e%2e/%2e%2e/etc/passwd", "%252e%252e/etc/passwd",
    "%c0%ae%c0%ae/etc/passwd", "..%c0%af..%c0%afetc/passwd", "..;/etc/passwd",
    "....//....//etc/passwd", "%2Fetc%2Fpasswd", "/etc/passwd", "//etc/passwd",
    "C:%5Cwindows%5Cwin.ini", "C:/windows/win.ini", "..%5C..%5Cetc%5Cpasswd",
    "evil.txt%00", "evil.txt%00.html", "%00", "evil.txt/", "./evil.txt", "sub/../evil.txt",
    "EVIL.TXT", "evil.txt%2F..", "evil.txt/..", "data.csv", "passwd.txt", ".askfiles",
    ".askfiles/manifest.json", "~", "~root/.ssh/id_rsa", "file:///etc/passwd",
    "%", "%zz", "%ff%fe", "%ed%a0%80", "a" * 3000, "evil.txt%3Fx%3D1",
    "%0d%0aSet-Cookie:%20x=1", " evil.txt", "evil.txt ", "\\evil.txt",
]


@pytest.mark.parametrize("odd", ODD_IDS, ids=lambda s: s[:40])
def test_odd_ids_are_404_on_both_routes(client, odd):
    api = client.get("/api/documents/" + odd)
    assert api.status_code == 404, api.get_data(as_text=True)[:200]
    assert api.mimetype == "application/json"
    assert api.get_json()["error"]["code"] == "not_found"
    page = client.get("/documents/" + odd)
    assert page.status_code == 404 and page.mimetype == "text/html"
    for resp in (api, page):
        text = resp.get_data(as_text=True)
        assert "root:" not in text and "Traceback" not in text
        assert "Set-Cookie" not in resp.headers


# -- oversize bodies: refused without being read ----------------------------------------

class Endless(io.RawIOBase):
    """A request body that never ends, counting what the server reads of it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self):
        return True

    def tell(self):        # the test client asks where the stream starts
        return 0

    def readinto(self, b):
        n = len(b)
        b[:] = b"a" * n
        self.read_bytes += n
        return n


def post_stream(app, body, **environ) -> tuple[int, dict]:
    """POST /api/ask with ``body`` as wsgi.input, bypassing the test client's buffering."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    env = EnvironBuilder(path="/api/ask", method="POST",
                         headers={"Content-Type": "application/json"}).get_environ()
    env.pop("CONTENT_LENGTH", None)
    env.update({"wsgi.input": body, **environ})
    app_iter, status, _ = run_wsgi_app(app, env, buffered=True)
    return int(status.split()[0]), json.loads(b"".join(app_iter))


def test_content_length_over_the_limit_is_413_before_reading(evil_engine):
    app = create_app({"engine": evil_engine})
    body = Endless()
    status, out = post_stream(app, body, CONTENT_LENGTH=str(10 ** 9))
    assert status == 413 and out["error"]["code"] == "body_too_large"
    assert body.read_bytes == 0


def test_an_endless_chunked_body_is_read_only_up_to_the_limit(evil_engine):
    app = create_app({"engine": evil_engine, "max_body_bytes": 4096})
    body = Endless()
    status, out = post_stream(app, body, **{"wsgi.input_terminated": True})  # as gunicorn
    assert status == 413 and out["error"]["code"] == "body_too_large"
    assert body.read_bytes <= 4096 + 65536


@pytest.mark.parametrize("q,top_k,expect_max", [
    ("When was the lighthouse built?", "999999999999999999999999999999", 20),
    ("When was the lighthouse built?", "-99999999999999999999", 1),
    ("When was the lighthouse built?", "1e9", 3),
])
def test_page_top_k_is_bounded(client, q, top_k, expect_max):
    resp = client.get("/", query_string={"q": q, "top_k": top_k})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.count('class="answer-text"') <= expect_max


def test_span_numbers_are_bounded(client):
    for query in ("?start=0&end=" + "9" * 5000, "?start=-" + "9" * 500 + "&end=3",
                  "?start=1e3&end=2e3", "?start=%00&end=%ff"):
        resp = client.get("/documents/evil.txt" + query)
        assert resp.status_code == 200
        assert 'id="answer"' not in resp.get_data(as_text=True)


# -- the real server: what gunicorn refuses before the app sees it -------------------------

@pytest.fixture(scope="module")
def server():
    bench = load_bench()
    port = bench.free_port()
    env = dict(os.environ, ASKFILES_POLL_SECONDS="0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "askfiles.cli", "serve", "--corpus", str(ROOT / "corpus"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        bench.wait_ready(port, proc, timeout=120)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> tuple[int, dict, bytes, float]:
    """Send raw bytes; the status, headers and body of the answer, and seconds taken."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass   # the server may refuse before it has read everything
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        want = int(headers.get("content-length", "0"))
        while len(body) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body, time.perf_counter() - t0


CHUNKED_40K = b"".join(b"1000\r\n" + b"a" * 4096 + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"
RAW_ATTACKS = [
    # (name, request bytes, status, code)
    ("long request line", b"GET /api/ask?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, "uri_too_long"),
    ("long header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
     431, "headers_too_large"),
    ("too many headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
     + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431, "headers_too_large"),
    ("not HTTP", b"GARBAGE\r\n\r\n", 400, "bad_request"),
    ("NUL in the path", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("bad content length", b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
     400, "bad_request"),
    ("a gigabyte announced", b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: "
     b"application/json\r\nContent-Length: 1000000000\r\n\r\n{\"question\":", 413,
     "body_too_large"),
    ("chunked past the limit", b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: "
     b"application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
     + CHUNKED_40K, 413, "body_too_large"),
    ("traversal on the wire", b"GET /api/documents/../../etc/passwd HTTP/1.1\r\nHost: x\r\n"
     b"\r\n", 404, "not_found"),
    ("absolute URI traversal", b"GET http://x/api/documents/%2e%2e/%2e%2e/etc/passwd "
     b"HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,data,status,code", RAW_ATTACKS, ids=[a[0] for a in RAW_ATTACKS])
def test_raw_attacks_on_the_real_server(server, name, data, status, code):
    got, headers, body, seconds = raw_request(server, data)
    assert got == status, body[:300]
    assert headers.get("content-type", "").startswith("application/json"), headers
    err = json.loads(body)["error"]
    assert err["code"] == code and err["message"]
    assert b"<" not in body and b"root:" not in body
    assert seconds < 5, f"{name}: {seconds:.1f} s (was the body read whole?)"


@pytest.mark.slow
def test_server_still_answers_after_the_attacks(server):
    got, _, body, _ = raw_request(server, b"GET /api/ask?q=When+did+Cairncross+die%3F "
                                          b"HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert got == 200 and json.loads(body)["answers"][0]["answer"] == "8 October 1995"
