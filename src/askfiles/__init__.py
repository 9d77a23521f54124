"""askfiles: answers questions about a folder of documents, with exact citations."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # imported when first used (see __getattr__): import askfiles stays light
    from .library import Askfiles
    from .records import Answer, Citation, Document, Result
    from .select import NoMatch

__version__ = "0.1.0"

__all__ = ["open", "create_app", "__version__", "Askfiles", "Result", "Answer", "Citation",
           "Document", "NoMatch"]

# The classes of the Python API, for type hints (askfiles.Result) and isinstance.
_LAZY = {"Askfiles": "library", "Result": "records", "Answer": "records",
         "Citation": "records", "Document": "records", "NoMatch": "select"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'askfiles' has no attribute {name!r}")


def open(folder: str | os.PathLike[str] | None = None,  # noqa: A001 - like io.open
         **settings: Any) -> Askfiles:
    """Open a corpus folder for questions: ``askfiles.open("docs").ask("When ...?")``.

    ``folder``: the folder of documents (default: the ``corpus`` setting, else
    ``./corpus``); it is indexed through the saved index, like ``askfiles index``.
    ``settings``: those of :mod:`askfiles.config` by name (``index_dir="off"``,
    ``no_answer_threshold=0.5``, ``config="askfiles.toml"``), over the settings file and
    the ``ASKFILES_*`` variables.

    Returns an :class:`~askfiles.library.Askfiles`: ``.ask(question, top_k=3,
    documents=None, explain=False)`` gives a :class:`~askfiles.records.Result` whose
    ``answers`` hold :class:`~askfiles.records.Answer` records with a
    :class:`~askfiles.records.Citation` (document id and character offsets into
    ``.documents[id].text``); ``.refresh()`` re-reads the folder.

    Raises ``FileNotFoundError`` when ``folder`` is not a folder, ``TypeError`` when it
    is not a path, ``ValueError`` for an unknown setting or a wrong value.
    """
    from .library import open_folder

    return open_folder(folder, **settings)


# The keys of create_app's config besides the settings and upper-case Flask settings:
# a settings file, what to serve, and what askfiles serve sets (serve.py).
APP_KEYS = ("config", "engine", "holder", "read_only", "start_from_published")
_APP_KEYS_SAID = ("config (a settings file), engine or holder (an Engine or EngineHolder "
                  "to serve), read_only and start_from_published (set by askfiles serve)")


def _check_keys(keys) -> None:
    """``ValueError`` naming the first of ``keys`` that ``create_app`` does not take,
    and the ones it takes: a misspelt setting would otherwise be ignored."""
    import difflib

    from .config import SETTINGS

    names = [s.name for s in SETTINGS]
    for key in keys:
        if not isinstance(key, str):
            raise ValueError(f"create_app: config key {key!r} is not a string")
        lower = key.lower()
        if key.isupper() and not (lower in names or lower in APP_KEYS
                                  or lower.startswith("askfiles_")):
            continue                            # a Flask setting (TESTING, SECRET_KEY ...)
        if not key.isupper() and (lower in names or lower in APP_KEYS):
            continue
        wanted = lower.removeprefix("askfiles_")
        close = difflib.get_close_matches(wanted, names + list(APP_KEYS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if key.isupper():
            hint = (f" (askfiles keys are lower case: {wanted!r})"
                    if wanted in names or wanted in APP_KEYS else hint)
        raise ValueError(
            f"create_app: unknown config key {key!r}{hint}; the keys are the settings "
            f"{', '.join(names)}; {_APP_KEYS_SAID}; and upper-case Flask settings such "
            "as TESTING")


def create_app(config: dict[str, Any] | None = None):
    """The Flask app serving the form, the document view and the JSON API.

    ``config`` holds askfiles settings (``corpus``, ``max_body_bytes``, ... as
    in :mod:`askfiles.config`; ``ASKFILES_*`` variables fill in the rest),
    upper-case Flask settings such as ``TESTING``, and optionally an
    ``engine`` (an :class:`~askfiles.engine.Engine`) or a ``holder`` (an
    :class:`~askfiles.holder.EngineHolder`) to serve instead of building one.
    Any other key is refused (``ValueError``; see :data:`APP_KEYS`), before any
    work. The engine is built here, once per process, never per request.
    """
    from flask import Flask

    from . import web
    from .config import load_config
    from .holder import EngineHolder

    options = dict(config or {})
    _check_keys(options)
    holder = options.pop("holder", None)
    engine = options.pop("engine", None)
    flask_settings = {k: options.pop(k) for k in list(options) if k.isupper()}
    settings = load_config(options)
    if settings.get("read_only"):
        # A replica: it answers from the index its builder publishes, never builds.
        from . import nlp

        nlp.forbid_annotation("this is a read-only server (serve --read-only); "
                              "the builder (askfiles index --watch) annotates")
    if holder is None:
        if engine is None and (settings.get("read_only")
                               or settings.get("start_from_published")):
            import logging

            from .published import wait_for_engine

            engine = wait_for_engine(settings["corpus"], settings,
                                     say=logging.getLogger("askfiles").warning)
        elif engine is None:
            from .engine import Engine

            engine = Engine.from_folder(settings["corpus"], settings)
        holder = EngineHolder(engine)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings["max_body_bytes"]
    app.config["ASKFILES"] = settings
    app.config.update(flask_settings)
    app.extensions["askfiles"] = holder
    web.register(app)
    # Load spaCy and pick the example questions now, before gunicorn forks its
    # workers, so that no worker pays for it on its first question.
    from .examples import examples_for

    holder.engine.analyse("When was this written?")
    examples_for(holder.engine)
    from . import warmup, watch

    watch.install(app)   # live updates: a corpus watcher per process, from its first request
    warmup.install(app)  # common index terms weighed ahead of questions, per process
    return app
