"""A real browser (Playwright driving Debian's Chromium) asks a question and follows the citation.

Skipped, with the reason shown by ``pytest -ra``, where /usr/bin/chromium is absent
(``apt-get install chromium``; ``.ci/run`` installs it). Screenshots go to
``$ASKFILES_SCREENSHOTS`` or a temporary folder, printed at the end of the test.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from askfiles import create_app

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="browser test skipped: /usr/bin/chromium is not installed "
                              "(apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def base_url(seed_engine):
    """A real HTTP server on a free loopback port, in a thread, over the seed engine."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app({"engine": seed_engine}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="browser test skipped: playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@pytest.fixture()
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("ASKFILES_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _in_viewport(page, selector: str) -> bool:
    return page.eval_on_selector(selector, """el => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;
    }""")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_ask_then_follow_the_citation(browser, base_url, shots, seed_engine, javascript):
    context = browser.new_context(viewport={"width": 1100, "height": 800},
                                  java_script_enabled=javascript)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(base_url + "/")
    box = page.get_by_label("Ask a question about the documents")
    assert box.is_visible()
    # Keyboard only: type into the labelled box and press Enter.
    box.focus()
    page.keyboard.type("When did Cairncross marry?")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=When+did+Cairncross+marry%3F")

    best = page.locator(".answer.best")
    assert best.locator(".answer-text mark").inner_text() == "1952"
    assert best.locator(".snippet mark").inner_text() == "1952"
    assert "confidence" in best.locator(".conf").inner_text()
    page.screenshot(path=str(shots / f"answer-{'js' if javascript else 'nojs'}.png"),
                    full_page=True)

    link = best.locator(".cite a")
    c = seed_engine.ask("When did Cairncross marry?").answers[0].citation
    assert link.get_attribute("href") == c.url
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/documents/**start={c.start}&end={c.end}#answer")

    mark = page.locator("mark#answer")
    assert mark.inner_text() == "1952"
    assert _in_viewport(page, "mark#answer"), "the cited span is scrolled into view"
    path = shots / f"document-{'js' if javascript else 'nojs'}.png"
    page.screenshot(path=str(path))
    print(f"\nscreenshots: {shots}")
    assert not problems, problems  # no CSP violations, no script errors
    context.close()


def test_phone_layout_has_no_sideways_scroll(browser, base_url, shots):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(base_url + "/?q=When+did+Cairncross+die%3F")
    assert page.locator(".answer.best .answer-text mark").inner_text() == "8 October 1995"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    page.screenshot(path=str(shots / "phone.png"), full_page=True)
    context.close()


@pytest.fixture(scope="module")
def multi_url(tmp_path_factory):
    """A served corpus of several documents, one a two-page PDF."""
    from werkzeug.serving import make_server

    from docmaker import make_pdf

    root = tmp_path_factory.mktemp("browser-multi")
    (root / "news").mkdir()
    (root / "news" / "mill.txt").write_text(
        "Mill news\n\nThe old mill closed in 1911 after a fire destroyed the roof.\n")
    (root / "history.txt").write_text(
        "Valley history\n\nThe valley mill closed in 1899 after the flood.\n")
    (root / "report.pdf").write_bytes(make_pdf(
        [["Harbour report", "", "The harbour opened in 1850."],
         ["The pier was rebuilt in 1902 by the county engineer."]], title="Harbour Report"))
    app = create_app({"corpus": str(root), "poll_seconds": 0, "index_dir": "off"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_ask_within_one_document_from_the_form(browser, multi_url, shots):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(multi_url + "/")
    page.get_by_label("Search in").select_option("history.txt")
    box = page.get_by_label("Ask a question about the documents")
    box.fill("When did the mill close?")
    box.press("Enter")
    page.wait_for_url("**/?q=When+did+the+mill+close%3F&documents=history.txt")
    best = page.locator(".answer.best")
    assert best.locator(".answer-text mark").inner_text() == "1899"
    assert page.locator(".cite a").first.get_attribute("href").startswith("/documents/history.txt")
    # The choice stays in the form (and in the URL) for the next question.
    assert page.get_by_label("Search in").input_value() == "history.txt"
    page.screenshot(path=str(shots / "ask-within-document.png"), full_page=True)
    context.close()


def test_a_pdf_answer_shows_its_page_and_links_the_original(browser, multi_url, shots):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(multi_url + "/?q=When+was+the+pier+rebuilt%3F")
    best = page.locator(".answer.best")
    assert best.locator(".answer-text mark").inner_text() == "1902"
    assert best.locator(".where .page").inner_text() == "page 2"
    link = best.locator("a.original")
    assert link.get_attribute("href") == "/api/documents/report.pdf/file#page=2"
    assert link.inner_text() == "original PDF, page 2"
    resp = page.request.get(multi_url + "/api/documents/report.pdf/file")
    assert resp.ok and resp.headers["content-type"] == "application/pdf"
    assert resp.body().startswith(b"%PDF")
    page.screenshot(path=str(shots / "pdf-answer.png"), full_page=True)
    # The document view says the page too.
    best.locator(".cite a").first.click()
    page.wait_for_url("**/documents/report.pdf?**")
    assert "page 2" in page.locator(".facts").inner_text()
    assert page.locator(".facts a.original").get_attribute("href") == \
        "/api/documents/report.pdf/file#page=2"
    context.close()
