"""File formats: bytes of one corpus file -> its document text, title and meta.

Every extractor returns an :class:`Extracted` whose ``text`` is what the
engine indexes and what ``GET /api/documents/<id>`` serves, so citation
offsets index that text. ``.txt``/``.md``/``.rst`` and extensionless text
is the file itself (decoded UTF-8, unchanged); ``.docx`` is its paragraphs. HTML keeps the visible text only; ``meta["source_map"]``
lists ``[text_offset, source_offset]`` pairs (one per text run) so an offset
in the text can be followed back to the character in the HTML source. PDF
text is extracted page by page; ``meta["pages"]`` holds the offset where each
page starts in the text (page ``n`` starts at ``meta["pages"][n - 1]``).

Extractors raise :class:`ValueError` (or ``OSError``) with a reason a user can
read when a file cannot be used; the loader logs it and skips the file.
"""

from __future__ import annotations

from typing import Callable

from .base import Extracted, decode_utf8
from .docx_text import DOCX_MAX_UNPACKED, extract_docx
from .html_text import SOURCE_MAP_MAX, extract_html, source_offset
from .pdf_text import PAGE_BREAK, extract_pdf, page_of
from .plain_text import (TITLE_LINE_CHARS, extract_markdown, extract_plain, extract_rst,
                         extract_text, first_line, rst_title_of, title_of)

__all__ = ["DOCX_MAX_UNPACKED", "EXTRACT_VERSION", "Extracted", "NO_SUFFIX", "PAGE_BREAK",
           "READABLE_SAID", "SOURCE_MAP_MAX", "SUFFIXES_SAID", "SUPPORTED", "TEXT_SUFFIXES", "TITLE_LINE_CHARS", "capped",
           "decode_utf8", "extract", "extract_docx", "extract_html", "extract_markdown",
           "extract_pdf", "extract_plain", "extract_rst", "extract_text", "first_line",
           "page_of", "rst_title_of", "source_offset", "supported", "title_of"]

TEXT_SUFFIXES = (".txt", ".md", ".rst")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
DOCX_SUFFIXES = (".docx",)
SUPPORTED = TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES + DOCX_SUFFIXES
# A file without an extension (README, AUTHORS) is read when its content is text.
NO_SUFFIX = ""
# For messages: ".txt, .md, ... or .docx", and the files read (the CLI and the Python API).
SUFFIXES_SAID = f"{', '.join(SUPPORTED[:-1])} or {SUPPORTED[-1]}"
READABLE_SAID = f"{SUFFIXES_SAID} files (or text files without an extension)"
# Bump when any extractor's output changes, so saved indexes re-read files.
EXTRACT_VERSION = 3


def supported(suffix: str) -> bool:
    """Whether files ending in ``suffix`` (with the dot; "" for none) can be read."""
    return suffix.lower() in SUPPORTED or suffix == NO_SUFFIX


def extract(suffix: str, data: bytes, max_chars: int = 0) -> Extracted:
    """The text of a file's bytes, by its (lowercased) suffix.

    With ``max_chars``, HTML and PDF extraction may stop once the text is that
    long (the caller cuts it there: :func:`capped`)."""
    suffix = suffix.lower()
    fn = _EXTRACTORS.get(suffix)
    if fn is None:
        raise ValueError(f"unsupported file type {suffix or '(none)'!r} "
                         f"(supported: {', '.join(SUPPORTED)})")
    return fn(data, max_chars=max_chars)


def capped(ex: Extracted, max_chars: int) -> Extracted:
    """``ex`` with its text cut at ``max_chars`` characters, its meta trimmed to match.

    ``meta["truncated"]`` is then true; offsets still index the text served (a
    prefix of the whole)."""
    if max_chars <= 0 or len(ex.text) <= max_chars:
        return ex
    meta = dict(ex.meta, truncated=True)
    if "source_map" in meta:
        meta["source_map"] = [e for e in meta["source_map"] if e[0] < max_chars]
    if "pages" in meta:
        meta["pages"] = [p for p in meta["pages"] if p < max_chars]
    return Extracted(ex.text[:max_chars], ex.title, meta)


_EXTRACTORS: dict[str, Callable[..., Extracted]] = {
    ".txt": extract_text,
    ".md": extract_markdown,
    ".rst": extract_rst,
    NO_SUFFIX: extract_plain,
    **{s: extract_docx for s in DOCX_SUFFIXES},
    **{s: extract_html for s in HTML_SUFFIXES},
    **{s: extract_pdf for s in PDF_SUFFIXES},
}
