"""The Python API: ``askfiles.open(folder).ask(question, top_k=3, documents=[...])``."""

from __future__ import annotations

import operator
import os
import warnings
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from .config import check_names, load_config
from .formats import READABLE_SAID
from .load import Skipped, check_root
from .records import TOP_K_MAX, Document, Result


LIST_HINT = "askfiles.open(folder).documents lists the ids"
OPEN_HINT = "pass askfiles.open() the folder of your documents (or set ASKFILES_CORPUS)"
ASK_ARGUMENTS = ("top_k", "documents", "explain")


class Askfiles:
    """A corpus folder ready for questions; the same engine the server and CLI use.

    ``ask`` returns a :class:`~askfiles.records.Result`: the records the JSON API
    shows (``result.answers[0].answer``, ``.citation.document``, ``.citation.start``
    ...), and ``result.to_json()`` is the ``/api/ask`` response body.
    """

    def __init__(self, engine: Any):
        """Wraps an :class:`~askfiles.engine.Engine`; :func:`askfiles.open` makes one."""
        if isinstance(engine, (str, bytes, os.PathLike)):
            # Exported for type hints; Askfiles("docs") failed at its first question.
            raise TypeError(f"Askfiles({engine!r}) takes an engine, not a folder; open a "
                            "folder with askfiles.open(folder)")
        self.engine = engine
        self._closed_folder: Path | None = None   # set by close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed_folder is not None

    def close(self) -> None:
        """Let go of the index (its memory-mapped files) and stop work ahead of
        questions; asking afterwards raises ``ValueError``. Closing twice is fine;
        ``with askfiles.open(folder) as corpus:`` closes at the end of the block."""
        if self.closed:
            return
        folder = self.folder
        retire = getattr(self.engine, "retire", None)   # (stops a warm-up under way)
        if retire is not None:
            retire()
        self.engine = None
        self._closed_folder = folder

    def __enter__(self) -> "Askfiles":
        self._live()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _live(self) -> Any:
        """The engine, or the error saying this corpus was closed."""
        if self._closed_folder is not None:
            raise ValueError(f"this corpus ({str(self._closed_folder)!r}) was closed; "
                             "open it again with askfiles.open(folder)")
        return self.engine

    def __repr__(self) -> str:
        if self.closed:
            return f"<askfiles.open({str(self._closed_folder)!r}): closed>"
        n, p = len(self.engine.documents), len(self.engine.passages)
        return (f"<askfiles.open({str(self.folder)!r}): {n} document{'s' * (n != 1)}, "
                f"{p} passage{'s' * (p != 1)}, index_version {self.index_version!r}>")

    def __reduce__(self):
        # Its index is memory-mapped and spaCy loaded: pickle had "cannot pickle
        # 'mmap.mmap' object". The folder travels; the saved index makes reopening quick.
        raise TypeError("an opened corpus cannot be pickled or copied; for another "
                        "process, pass its folder and call askfiles.open(folder) there")

    @property
    def folder(self) -> Path:
        """The corpus folder (as given, made absolute: a symlink switched to another
        folder is read where it leads now by :meth:`refresh`)."""
        if self._closed_folder is not None:
            return self._closed_folder
        report = getattr(self.engine.corpus, "report", None)
        return Path(getattr(report, "folder", None) or getattr(report, "root", None)
                    or self.engine.config["corpus"])

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        """The corpus files not indexed, each with its ``path`` and the ``reason``."""
        return tuple(getattr(self._live().corpus, "skipped", None) or ())

    @property
    def documents(self) -> Mapping[str, Document]:
        """The indexed documents by id, read-only (the engine answers from this mapping:
        a document removed from it broke every question that found it, with a KeyError)."""
        return MappingProxyType(self._live().documents)

    @property
    def index_version(self) -> str:
        """Changes whenever the corpus does."""
        return self._live().version

    def ask(self, question: str, top_k: int = 3, documents: str | Sequence[str] | None = None,
            explain: bool = False) -> Result:
        """The best ``top_k`` answers, searching only ``documents`` (ids or globs) if given.

        Raises ``TypeError`` for a question that is not a ``str`` or ``documents`` that are
        not ids, and ``ValueError`` for an empty or too long question, ``top_k`` outside
        1..20 or a pattern that matches no document (:class:`askfiles.select.NoMatch`).
        """
        from .select import NoMatch, allowed_passages, check_patterns

        # Read once: refresh() in another thread may swap it, and passage numbers chosen
        # in one index would select other passages (or none) in the next.
        engine = self._live()
        question = _question(question, engine.config["max_question_chars"])
        top_k = _top_k(top_k)
        allowed = None
        if documents is not None:
            try:
                allowed = allowed_passages(engine, check_patterns(_patterns(documents)))
            except NoMatch as exc:   # its own hint: the HTTP API's names GET /api/documents
                raise NoMatch(exc.pattern, LIST_HINT) from None
        return engine.ask(question, top_k, explain, allowed)

    def refresh(self) -> bool:
        """Re-read the corpus folder (only changed files); True when something changed."""
        from .engine import Engine

        old = self._live()
        check_root(self.folder, OPEN_HINT)
        engine = Engine.from_folder(self.folder, old.config)
        changed = engine.version != old.version
        self.engine = engine
        self._warn_if_empty(stacklevel=3)
        return changed

    def _warn_if_empty(self, stacklevel: int = 2) -> None:
        """Warn when there is nothing to answer from: every question would get no answer,
        with no sign why (the command line stops there, exit status 2)."""
        if self.engine.documents:
            return
        n = len(self.skipped)
        why = (f" ({n} file{'s' * (n != 1)} skipped: .skipped says why)" if n
               else f"; put {READABLE_SAID} in it")
        warnings.warn(f"no documents to answer from in {str(self.folder)!r}{why}; "
                      "every question gets no answer until refresh() finds some",
                      stacklevel=stacklevel)


def _question(question: object, limit: int) -> str:
    """``question`` stripped, else the ``TypeError`` or ``ValueError`` saying what to change."""
    if not isinstance(question, str):
        # None once read "the question is empty", and bytes were refused as empty too.
        decode = " (decode it first: question.decode('utf-8'))" if isinstance(
            question, (bytes, bytearray)) else ""
        raise TypeError(f"the question must be a str, not {type(question).__name__}{decode}")
    question = question.strip()
    if not question:
        raise ValueError("the question is empty; ask something")
    if len(question) > limit:
        raise ValueError(f"the question is longer than {limit} characters (it has "
                         f"{len(question)}); shorten it, or open the folder with a higher "
                         f"max_question_chars")
    return question


def _top_k(top_k: object) -> int:
    """``top_k`` as an int in 1..TOP_K_MAX; any integer type counts (numpy's too), bool
    does not."""
    try:
        n = None if isinstance(top_k, bool) else operator.index(top_k)
    except TypeError:
        n = None
    if n is None or not 1 <= n <= TOP_K_MAX:
        raise ValueError(f"top_k must be an integer from 1 to {TOP_K_MAX} (how many answers "
                         f"to return), not {top_k!r}")
    return n


def _patterns(documents: object) -> list:
    """``documents`` as a list: one id or glob, or several (``Path`` ids as ``a/b.txt``)."""
    def one(p):
        return p.as_posix() if isinstance(p, PurePath) else p

    if isinstance(documents, (str, PurePath)):
        return [one(documents)]
    try:
        return [one(p) for p in documents]
    except TypeError:     # not iterable: 'int' object is not iterable, from deep inside
        raise TypeError(f"documents must be a document id or glob pattern, or a list of "
                        f"them (e.g. ['news/*.txt']), not {type(documents).__name__}"
                        ) from None


def open_folder(folder: str | os.PathLike[str] | None = None, **settings: Any) -> Askfiles:
    """Index ``folder`` (through the saved index) and return it ready for questions.

    ``settings`` are those of :mod:`askfiles.config` (``retrieve_depth=8``,
    ``index_dir="off"`` ...); ``ASKFILES_*`` variables fill in the rest.
    ``ValueError`` for an unknown name or a wrong value, ``TypeError`` for a folder that
    is not a path, ``FileNotFoundError`` for one that is not a folder, before any work.
    """
    from .engine import Engine

    path = _folder(folder, settings.get("corpus"))
    for name in ASK_ARGUMENTS:
        if name in settings:       # else "unknown setting 'top_k'", and a list of settings
            raise ValueError(f"{name} is an argument of ask(), not a setting: "
                             f"askfiles.open(folder).ask(question, {name}=...)")
    check_names(settings)
    cfg = load_config({**settings, **({"corpus": path} if path is not None else {})})
    check_root(cfg["corpus"], OPEN_HINT)
    opened = Askfiles(Engine.from_folder(cfg["corpus"], cfg))
    opened._warn_if_empty(stacklevel=4)   # the line calling askfiles.open, past open_folder
    return opened


def _folder(folder: object, corpus: object) -> str | None:
    """``folder`` as a str (None: left to the settings), else the error saying what to pass."""
    if folder is None:
        return None
    try:
        path = os.fsdecode(folder)
    except TypeError:     # str(5) once made it a folder named '5'
        raise TypeError(f"the folder must be a path (a str or pathlib.Path), not "
                        f"{type(folder).__name__}") from None
    if not path:          # '' once opened ./corpus, as if no folder were given
        raise ValueError("the folder is '' (empty); pass a folder, or leave it out for "
                         "$ASKFILES_CORPUS, else ./corpus")
    if isinstance(corpus, (str, os.PathLike)) and os.fsdecode(corpus) != path:
        raise ValueError(f"two folders: askfiles.open({path!r}, corpus={corpus!r}); "
                         "pass one")
    return path
