"""askfiles: answers questions about a folder of documents, with exact citations."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["open", "create_app", "__version__"]


def open(folder=None, **settings: Any):  # noqa: A001 - askfiles.open(folder), like io.open
    """A corpus folder ready for questions: ``askfiles.open("docs").ask("When ...?")``.

    See :class:`askfiles.library.Askfiles`; ``settings`` as in :mod:`askfiles.config`.
    """
    from .library import open_folder

    return open_folder(folder, **settings)


def create_app(config: dict[str, Any] | None = None):
    """The Flask app serving the form, the document view and the JSON API.

    ``config`` holds askfiles settings (``corpus``, ``max_body_bytes``, ... as
    in :mod:`askfiles.config`; ``ASKFILES_*`` variables fill in the rest),
    upper-case Flask settings such as ``TESTING``, and optionally an
    ``engine`` (an :class:`~askfiles.engine.Engine`) or a ``holder`` (an
    :class:`~askfiles.holder.EngineHolder`) to serve instead of building one.
    The engine is built here, once per process, never per request.
    """
    from flask import Flask

    from . import web
    from .config import load_config
    from .holder import EngineHolder

    options = dict(config or {})
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
