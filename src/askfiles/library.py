"""The Python API: ``askfiles.open(folder).ask(question, top_k=3, documents=[...])``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .config import check_names, load_config
from .records import Document, Result


LIST_HINT = "askfiles.open(folder).documents lists the ids"


class Askfiles:
    """A corpus folder ready for questions; the same engine the server and CLI use.

    ``ask`` returns a :class:`~askfiles.records.Result`: the records the JSON API
    shows (``result.answers[0].answer``, ``.citation.document``, ``.citation.start``
    ...), and ``result.to_json()`` is the ``/api/ask`` response body.
    """

    def __init__(self, engine: Any):
        self.engine = engine

    @property
    def documents(self) -> dict[str, Document]:
        """The indexed documents by id."""
        return self.engine.documents

    @property
    def index_version(self) -> str:
        """Changes whenever the corpus does."""
        return self.engine.version

    def ask(self, question: str, top_k: int = 3, documents: Sequence[str] | None = None,
            explain: bool = False) -> Result:
        """The best ``top_k`` answers, searching only ``documents`` (ids or globs) if given.

        Raises ``ValueError`` for an empty or too long question, ``top_k`` outside
        1..20 or a pattern that matches no document (:class:`askfiles.select.NoMatch`).
        """
        from .select import NoMatch, allowed_passages, check_patterns

        if not isinstance(question, str) or not question.strip():
            raise ValueError("the question is empty; ask something")
        limit = self.engine.config["max_question_chars"]
        if len(question.strip()) > limit:
            raise ValueError(f"the question is longer than {limit} characters")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 20:
            raise ValueError("top_k must be an integer from 1 to 20")
        allowed = None
        if documents is not None:
            if isinstance(documents, str):
                documents = [documents]
            try:
                allowed = allowed_passages(self.engine, check_patterns(list(documents)))
            except NoMatch as exc:   # its own hint: the HTTP API's names GET /api/documents
                raise NoMatch(exc.pattern, LIST_HINT) from None
        return self.engine.ask(question.strip(), top_k, explain, allowed)

    def refresh(self) -> bool:
        """Re-read the corpus folder (only changed files); True when something changed."""
        from .engine import Engine

        report = getattr(self.engine.corpus, "report", None)
        folder = getattr(report, "root", None) or self.engine.config["corpus"]
        engine = Engine.from_folder(folder, self.engine.config)
        changed = engine.version != self.engine.version
        self.engine = engine
        return changed


def open_folder(folder: Path | str | None = None, **settings: Any) -> Askfiles:
    """Index ``folder`` (through the saved index) and return it ready for questions.

    ``settings`` are those of :mod:`askfiles.config` (``retrieve_depth=8``,
    ``index_dir="off"`` ...); ``ASKFILES_*`` variables fill in the rest.
    ``ValueError`` for an unknown name or a wrong value, before any work.
    """
    from .engine import Engine

    check_names(settings)
    cfg = load_config({**settings, **({"corpus": str(folder)} if folder else {})})
    return Askfiles(Engine.from_folder(cfg["corpus"], cfg))
