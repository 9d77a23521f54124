"""PDF: the text of each page, and where each page starts."""

from __future__ import annotations

import bisect
import io
import logging
from typing import Any

from .base import Extracted
from .plain_text import title_of

log = logging.getLogger(__name__)

PDF_MAX_PAGES = 1000          # pages read from one PDF
PDF_PAGE_BYTES = 512 << 10    # a page whose content streams decompress to more: text not read
PDF_TOTAL_BYTES = 8 << 20     # content stream bytes read from one PDF in all

PAGE_BREAK = "\n\n"


def extract_pdf(data: bytes, max_chars: int = 0) -> Extracted:
    """Text of each page joined by a blank line; ``meta["pages"]`` = page start offsets."""
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ValueError("not a PDF (no %PDF header)")
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ValueError(f"PDF support needs pypdf ({exc})") from None
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ValueError("encrypted PDF (needs a password)")
            except (NotImplementedError, PyPdfError) as exc:
                raise ValueError(f"encrypted PDF ({exc})") from None
        texts, too_big = _page_texts(reader, max_chars)
        info_title = ""
        try:
            info = reader.metadata
            info_title = str(info.title or "") if info else ""
        except Exception:
            info_title = ""
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    pages, parts, pos = [], [], 0
    for t in texts:
        t = t.replace("\x00", "").rstrip()
        pages.append(pos)
        parts.append(t)
        pos += len(t) + len(PAGE_BREAK)
    text = PAGE_BREAK.join(parts)
    if not text.strip() and too_big:
        raise ValueError(f"PDF content too large to read ({too_big} of {len(texts)} pages "
                         f"over {PDF_PAGE_BYTES // 1024} KB each or {PDF_TOTAL_BYTES >> 20} MB "
                         "in all)")
    if not text.strip():
        raise ValueError("PDF has no extractable text (scanned images need OCR)")
    title = " ".join(info_title.split()) or title_of(text)
    return Extracted(text, title[:200], {"pages": pages})


def _page_texts(reader, max_chars: int = 0) -> tuple[list[str], int]:
    """Each page's text within the caps (pages, content bytes per page and in all),
    and how many pages were left unread for their size.

    pypdf reads a content stream at under 1 MB/s, and a 9 KB PDF can point five
    pages at one stream that inflates to megabytes (30 s, 12.5M characters).
    The decompressed size is known before the slow part, so pages over the
    caps are left empty (logged) instead of read; a stream shared by pages is
    read once. Pages after the text passes ``max_chars`` are not read.
    """
    n_pages = len(reader.pages)
    if n_pages > PDF_MAX_PAGES:
        log.warning("PDF has %d pages; only the first %d are read", n_pages, PDF_MAX_PAGES)
    texts: list[str] = []
    done: dict[tuple, str] = {}
    budget = PDF_TOTAL_BYTES
    too_big = chars = 0
    for number in range(min(n_pages, PDF_MAX_PAGES)):
        if max_chars and chars >= max_chars:
            log.warning("PDF text passed %d characters at page %d; the rest is not read",
                        max_chars, number)
            break
        text = ""
        try:
            page = reader.pages[number]
            key, size = _content_size(page)
            if key in done:
                text = done[key]
            elif size > min(PDF_PAGE_BYTES, budget):
                too_big += 1
                log.warning("PDF page %d not read: its content is %d bytes (limit %d per "
                            "page, %d left for the file)", number + 1, size,
                            PDF_PAGE_BYTES, budget)
            else:
                budget -= size
                text = done[key] = page.extract_text() or ""
        except Exception as exc:  # one bad page should not lose the rest
            log.warning("PDF page %d unreadable: %s", number + 1, exc)
        texts.append(text)
        chars += len(text) + len(PAGE_BREAK)
    return texts, too_big


def _content_size(page) -> tuple[tuple, int]:
    """The page's content streams and form XObjects (what ``extract_text`` reads):
    their object numbers, as an identity, and their decompressed size in bytes."""
    from pypdf.generic import IndirectObject

    refs: list[tuple[int, int]] = []
    size = 0

    def deref(obj):
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in refs:
                return None                  # read once, and no reference loops
            refs.append(ref)
            return obj.get_object()
        return obj

    contents = deref(page.raw_get("/Contents")) if "/Contents" in page else None
    for stream in contents if isinstance(contents, list) else [contents]:
        stream = deref(stream)
        if hasattr(stream, "get_data"):
            size += len(stream.get_data())
    todo = [(page.get("/Resources"), 0)]
    while todo:
        resources, depth = todo.pop()
        xobjects = resources.get("/XObject") if hasattr(resources, "get") else None
        if not hasattr(xobjects, "values") or depth > 8:
            continue
        for name in list(xobjects.keys()):
            xobj = deref(xobjects.raw_get(name))
            if hasattr(xobj, "get_data") and xobj.get("/Subtype") == "/Form":
                size += len(xobj.get_data())
                todo.append((xobj.get("/Resources"), depth + 1))
    return tuple(refs) or (id(page),), size


def page_of(meta: dict[str, Any], offset: int) -> int | None:
    """The 1-based page holding text ``offset``, from ``meta["pages"]``."""
    pages = meta.get("pages")
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))
