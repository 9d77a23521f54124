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


def _table(heading: str) -> list[list[str]]:
    """The cells of the README table whose header row starts with ``heading``."""
    text = readme()
    start = text.index(heading)
    rows = text[start:text.index("\n\n", start)].splitlines()[2:]
    return [[cell.strip() for cell in row.strip().strip("|").split(" | ")] for row in rows]


def _codes(cell: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cell)


def _sent_error_codes() -> set[tuple[int, str]]:
    """(status, code) of every JSON error askfiles and its gunicorn can send."""
    from askfiles import errors, serve

    src = ROOT / "src" / "askfiles"
    found = set()
    for path in src.rglob("*.py"):
        for m in re.finditer(r'(?:ApiError|error_response)\(\s*(\d{3}),\s*"([a-z_]+)"',
                             path.read_text(encoding="utf-8")):
            found.add((int(m.group(1)), m.group(2)))
    api = (src / "api.py").read_text(encoding="utf-8")     # 422 f"{name}_out_of_range"
    assert 'f"{name}_out_of_range"' in api
    found |= {(422, f"{name}_out_of_range") for name in re.findall(r'_paging\("(\w+)"', api)}
    found |= {(status, code) for status, (code, _) in serve.GUNICORN_ERRORS.items()}
    # Werkzeug raises no 422 itself, and askfiles raises its own 422s as ApiError.
    found |= {(s, c) for s, c in errors.HTTP_CODES.items() if s != 422}
    return found


def test_the_error_table_lists_every_error_code():
    """Each (status, code) the server can send is in the README's error table, and the
    table lists no other (read_only and gunicorn's 431 were missing)."""
    listed = set()
    for status_cell, code_cell, _ in _table("| status | code | when |"):
        statuses = [int(s) for s in status_cell.split(",")]
        codes = _codes(code_cell)
        pairs = zip(statuses, codes) if len(statuses) == len(codes) else \
            ((s, c) for s in statuses for c in codes)
        listed |= set(pairs)
    sent = _sent_error_codes()
    assert sent - listed == set(), "sent but not in the README's table"
    assert listed - sent == set(), "in the README's table but never sent"


def test_the_metrics_table_lists_every_metric():
    """The README's metrics table names each metric askfiles defines, as /metrics shows
    it, and no other (askfiles_passages_annotated_total was missing)."""
    from askfiles import observe

    defined = {m._name + ("_total" if m._type == "counter" else "")
               for m in vars(observe.metrics()).values()}
    listed = {name for row in _table("| metric | what |")
              for name in re.findall(r"`(askfiles_\w+)", row[0])}
    assert defined == listed


def test_the_endpoint_table_matches_the_routes(seed_engine):
    """The JSON API table lists each method and path the app routes, and no other."""
    app = create_app({"engine": seed_engine, "TESTING": True, "poll_seconds": 0})
    routed = {(method, re.sub(r"<[^>]*>", "<id>", rule.rule))
              for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/metrics")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = set()
    for row in _table("| method and path | what it returns |"):
        m = re.match(r"`([A-Z]+) (/[^`?\s]*)", row[0])
        assert m, row[0]
        listed.add((m.group(1), m.group(2)))
    assert routed == listed


def test_the_command_synopsis_shows_every_option():
    """The Command line section's synopsis names each command and its options, as the
    parser has them (--config and -v, which every command takes, are said below it)."""
    import argparse

    block = re.search(r"## Command line\n\n```\n(.*?)```", readme(), re.S).group(1)
    shown: dict[str, set[str]] = {}
    for line in block.splitlines():
        command = line.split()[1]
        shown.setdefault(command, set()).update(re.findall(r"--[a-z-]+", line.split("#")[0]))
    sub = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {name: {o for a in p._actions for o in a.option_strings if o.startswith("--")}
               - {"--help", "--verbose", "--config"}
               for name, p in sub.choices.items()}
    assert shown == options
    assert "--config FILE" in readme() and "`-v`" in readme()


def test_the_module_table_names_every_module():
    """Each module and package of src/askfiles is in the README's module table, and each
    module of store/ in its row (watch.py, serve.py and store/merge.py were not)."""
    src = ROOT / "src" / "askfiles"
    rows = _table("| module | job |")
    named = {name for row in rows for name in re.findall(r"`([\w.]+/?)`", row[0])}
    modules = {p.name for p in src.glob("*.py") if p.name != "__init__.py"}
    packages = {p.parent.name + "/" for p in src.glob("*/__init__.py")}
    assert modules | packages <= named
    store_row = next(row[1] for row in rows if row[0] == "`store/`")
    assert {p.stem for p in (src / "store").glob("*.py") if p.stem != "__init__"} \
        <= set(re.findall(r"`(\w+)`", store_row))


def test_every_readme_table_row_has_its_header_cells():
    """A '|' inside a code span still splits a table cell (GFM): the cli.py row once had
    five cells under a header of two. Escaped as \\|, it does not."""
    in_code, header = False, None
    for n, line in enumerate(readme().splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("|"):
            header = None
            continue
        cells = len(re.split(r"(?<!\\)\|", line.strip())) - 2
        if header is None:
            header = cells
        assert cells == header, f"README.md:{n}: {cells} cells under a header of {header}"


def test_the_python_api_types_are_the_exports():
    """The Types paragraph names each class askfiles exports (askfiles.NoMatch was not)."""
    import askfiles

    para = re.search(r"\*\*Types\.\*\*(.*?)\n\n|\*\*Types\.\*\*(.*?)\n- ", readme(), re.S)
    named = set(re.findall(r"`askfiles\.([A-Z]\w*)`", para.group(0)))
    exported = {n for n in askfiles.__all__ if n[0].isupper()}
    assert named == exported
