"""The README's sample outputs are what askfiles prints today (they went stale once)."""

from __future__ import annotations

import json
import re

from askfiles import cli, create_app
from conftest import ROOT, SEED_CORPUS


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_quick_start_answer_is_what_the_command_prints(capsys):
    m = re.search(r'\$ \.venv/bin/askfiles ask "(?P<q>[^"]+)"\n(?P<out>(?:.+\n){3})\.\.\.\n',
                  readme())
    assert m, "README lost its quick-start sample"
    assert cli.main(["ask", m.group("q"), "--corpus", str(SEED_CORPUS)]) == 0
    printed = capsys.readouterr().out.splitlines()[:3]
    assert printed == m.group("out").splitlines()


def test_the_api_sample_is_what_the_api_answers(seed_engine):
    m = re.search(r"\$ curl -s -X POST \S+/api/ask .*?-d '(?P<body>\{[^']+\})'.*?\n"
                  r"(?P<json>\{\n.*?\n\})\n```", readme(), re.S)
    assert m, "README lost its POST /api/ask sample"
    client = create_app({"engine": seed_engine, "TESTING": True, "poll_seconds": 0}
                        ).test_client()
    got = client.post("/api/ask", json=json.loads(m.group("body"))).get_json()
    shown = json.loads(m.group("json"))
    for body in (got, shown):
        body.pop("took_ms")               # differs from run to run, as the README says
    assert got == shown
