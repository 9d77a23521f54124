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

import bisect
import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Callable

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".rst")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
DOCX_SUFFIXES = (".docx",)
SUPPORTED = TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES + DOCX_SUFFIXES
# A file without an extension (README, AUTHORS) is read when its content is text.
NO_SUFFIX = ""
# Bump when any extractor's output changes, so saved indexes re-read files.
EXTRACT_VERSION = 2


@dataclass(frozen=True)
class Extracted:
    """The document text of one file, its title (may be empty) and meta."""

    text: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def supported(suffix: str) -> bool:
    """Whether files ending in ``suffix`` (with the dot; "" for none) can be read."""
    return suffix.lower() in SUPPORTED or suffix == NO_SUFFIX


def extract(suffix: str, data: bytes) -> Extracted:
    """The text of a file's bytes, by its (lowercased) suffix."""
    suffix = suffix.lower()
    fn = _EXTRACTORS.get(suffix)
    if fn is None:
        raise ValueError(f"unsupported file type {suffix or '(none)'!r} "
                         f"(supported: {', '.join(SUPPORTED)})")
    return fn(data)


# -- plain text -------------------------------------------------------------

def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def decode_utf8(data: bytes) -> str:
    """UTF-8 text (a BOM is kept, so offsets still index the file's characters)."""
    if _looks_binary(data):
        raise ValueError("looks binary (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


_ATX = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_RST_ADORN = re.compile(r"([=\-`:'\"~^_*+#<>])\1{2,}[ \t]*$")
# Lines that are not prose: badges, images, links alone, HTML, front matter fences.
_NOISE = re.compile(r"\s*(?:(?:\[?!\[[^\]]*\]\([^)]*\)\]?(?:\([^)]*\))?\s*)+"
                    r"|<[^>]*>.*|\[[^\]]*\]:\s.*|\.\. .*|-{3,}|\*{3,}|_{3,})\s*$")


def first_line(text: str, fallback: str = "") -> str:
    """The first line that reads as text (not a badge, image, HTML tag or rule)."""
    for line in text.splitlines():
        if line.strip() and not _NOISE.fullmatch(line):
            return " ".join(line.split())[:200]
    return fallback


def title_of(text: str, fallback: str = "") -> str:
    """A Markdown title: the first level-1 heading (``# T`` or ``T`` over ``===``),
    else a heading that opens the text, else its first line of prose."""
    lines = text.splitlines()
    headings: list[tuple[int, int, str]] = []   # (level, line number, text)
    start = 0
    if lines and lines[0].strip() == "---":      # YAML front matter
        for i in range(1, min(len(lines), 60)):
            m = re.match(r"title:\s*[\"']?(.*?)[\"']?\s*$", lines[i])
            if m and m.group(1):
                return m.group(1)[:200]
            if lines[i].strip() in ("---", "..."):
                start = i + 1
                break
    fence = False
    for i in range(start, len(lines)):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if fence:
            continue
        m = _ATX.match(line)
        if m and m.group(2).strip():
            headings.append((len(m.group(1)), i, m.group(2).strip()))
        elif (i + 1 < len(lines) and line.strip() and not line.startswith("    ")
              and _SETEXT.match(lines[i + 1]) and not _NOISE.fullmatch(line)
              and (i == start or not lines[i - 1].strip())):
            headings.append((1 if lines[i + 1].strip()[0] == "=" else 2, i, line.strip()))
    top = next((h for h in headings if h[0] == 1), None)
    if top is not None:
        return " ".join(top[2].split())[:200]
    first = next((i for i in range(start, len(lines))
                  if lines[i].strip() and not _NOISE.fullmatch(lines[i])), None)
    if headings and (first is None or headings[0][1] <= first):
        return " ".join(headings[0][2].split())[:200]
    return first_line("\n".join(lines[start:]), fallback)


def rst_title_of(text: str, fallback: str = "") -> str:
    """A reStructuredText title: the first section title (underlined, maybe overlined)."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        under = lines[i + 1]
        if (line.strip() and not _RST_ADORN.match(line) and _RST_ADORN.match(under)
                and len(under.rstrip()) >= len(line.rstrip())):
            return " ".join(line.split())[:200]
    return first_line(text, fallback)


def extract_text(data: bytes) -> Extracted:
    """Plain text: the title is the first line of prose (no Markdown headings)."""
    text = decode_utf8(data)
    return Extracted(text, first_line(text))


def extract_markdown(data: bytes) -> Extracted:
    text = decode_utf8(data)
    return Extracted(text, title_of(text))


def extract_rst(data: bytes) -> Extracted:
    text = decode_utf8(data)
    return Extracted(text, rst_title_of(text))


def extract_plain(data: bytes) -> Extracted:
    """A file without an extension: indexed when its content is UTF-8 text."""
    text = decode_utf8(data)
    sample = text[:8192]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v")
    if controls > len(sample) // 100:
        raise ValueError("no extension and the content is not plain text")
    return Extracted(text, first_line(text))


# -- Word (.docx) ------------------------------------------------------------

DOCX_MAX_UNPACKED = 200 * 1024 * 1024


def extract_docx(data: bytes) -> Extracted:
    """Paragraphs (and table rows, cells split by " | ") joined by blank lines."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > DOCX_MAX_UNPACKED:
                raise ValueError("DOCX unpacks to more than 200 MB")
    except zipfile.BadZipFile:
        raise ValueError("not a DOCX file (not a zip archive)") from None
    try:
        import docx
        from docx.table import Table

        d = docx.Document(io.BytesIO(data))
        blocks, heading = [], ""
        for item in d.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells = [" ".join(c.text.split()) for c in row.cells]
                    line = " | ".join(dict.fromkeys(c for c in cells if c))
                    if line:
                        blocks.append(line)
                continue
            para = item.text.strip()
            if not para:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            if not heading and style.startswith(("Title", "Heading")):
                heading = para
            blocks.append(para)
        title = (d.core_properties.title or "").strip()
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"unreadable DOCX ({type(exc).__name__}: {exc})") from None
    text = "\n\n".join(blocks)
    return Extracted(text, " ".join((title or heading or first_line(text)).split())[:200])


# -- HTML -------------------------------------------------------------------

# Elements whose content is never shown.
_HIDDEN = frozenset("script style noscript template svg math iframe object".split())
# Elements that start a new paragraph (a blank line in the text).
_BLOCK = frozenset("""
address article aside blockquote body caption dd details dialog div dl dt fieldset
figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html li main nav ol p pre
section summary table tbody tfoot thead tr ul
""".split())
_LINE = frozenset("br td th option".split())
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SPACE = re.compile(r"\s+")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


class _Visible(HTMLParser):
    """Collects visible text with whitespace collapsed and block breaks kept."""

    def __init__(self, line_starts: list[int]):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.source_map: list[list[int]] = []
        self.hidden = 0
        self.pre = 0
        self.pending = ""            # a break or space owed before the next text
        self.title_parts: list[str] = []
        self.in_title = False
        self.heading: str | None = None
        self.heading_parts: list[str] = []
        self.first_heading = ""
        self._line_starts = line_starts

    def _source_offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _owe(self, brk: str) -> None:
        if not self.parts:
            return
        if len(brk) > len(self.pending):
            self.pending = brk

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _HIDDEN:
            if tag not in _VOID:
                self.hidden += 1
            return
        if tag == "pre":
            self.pre += 1
        if tag in _HEADINGS and self.heading is None and not self.first_heading:
            self.heading, self.heading_parts = tag, []
        if tag in _BLOCK:
            self._owe("\n\n")
        elif tag in _LINE:
            self._owe("\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BLOCK:
            self._owe("\n\n")
        elif tag in _LINE:
            self._owe("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag == self.heading:
            self.first_heading = " ".join("".join(self.heading_parts).split())
            self.heading = None
        if tag in _BLOCK:
            self._owe("\n\n")
        elif tag in ("td", "th"):
            self._owe(" ")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
            return
        if self.hidden:
            return
        if self.heading is not None:
            self.heading_parts.append(data)
        trailing = False
        lead = 0
        if self.pre:
            chunk = data
        else:
            lead = len(data) - len(data.lstrip())
            chunk = _SPACE.sub(" ", data)
            if chunk.startswith(" "):
                self._owe(" ")
                chunk = chunk[1:]
            trailing = chunk.endswith(" ")
            chunk = chunk.rstrip(" ")
        if chunk:
            if self.pending:
                self.parts.append(self.pending)
                self.length += len(self.pending)
                self.pending = ""
            self.source_map.append([self.length, self._source_offset() + lead])
            self.parts.append(chunk)
            self.length += len(chunk)
        if trailing:
            self._owe(" ")


def _decode_html(data: bytes) -> str:
    if _looks_binary(data):
        raise ValueError("looks binary (NUL bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = _CHARSET.search(data[:4096])
    for enc in ([m.group(1).decode("ascii")] if m else []) + ["cp1252"]:
        try:
            return data.decode(enc, errors="replace")
        except LookupError:
            continue
    return data.decode("latin-1")


def extract_html(data: bytes) -> Extracted:
    source = _decode_html(data)
    line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", source)]
    p = _Visible(line_starts)
    try:
        p.feed(source)
        p.close()
    except Exception as exc:  # html.parser is lenient; be safe anyway
        raise ValueError(f"unreadable HTML ({exc})") from None
    text = "".join(p.parts)
    title = " ".join("".join(p.title_parts).split()) or p.first_heading or title_of(text)
    return Extracted(text, title[:200], {"source_map": p.source_map,
                                         "source_chars": len(source)})


def source_offset(meta: dict[str, Any], offset: int) -> int | None:
    """For an HTML document, the source character where text ``offset`` came from.

    Exact at the start of every text run; inside a run it counts characters,
    which is exact unless the run had collapsed whitespace or entities.
    """
    smap = meta.get("source_map")
    if not smap:
        return None
    i = bisect.bisect_right([t for t, _ in smap], offset) - 1
    if i < 0:
        return None
    t, s = smap[i]
    return s + (offset - t)


# -- PDF --------------------------------------------------------------------

PAGE_BREAK = "\n\n"


def extract_pdf(data: bytes) -> Extracted:
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
        texts = []
        for page in reader.pages:
            try:
                texts.append(page.extract_text() or "")
            except Exception as exc:  # one bad page should not lose the rest
                log.warning("PDF page %d unreadable: %s", len(texts) + 1, exc)
                texts.append("")
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
    if not text.strip():
        raise ValueError("PDF has no extractable text (scanned images need OCR)")
    title = " ".join(info_title.split()) or title_of(text)
    return Extracted(text, title[:200], {"pages": pages})


def page_of(meta: dict[str, Any], offset: int) -> int | None:
    """The 1-based page holding text ``offset``, from ``meta["pages"]``."""
    pages = meta.get("pages")
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))


_EXTRACTORS: dict[str, Callable[[bytes], Extracted]] = {
    ".txt": extract_text,
    ".md": extract_markdown,
    ".rst": extract_rst,
    NO_SUFFIX: extract_plain,
    **{s: extract_docx for s in DOCX_SUFFIXES},
    **{s: extract_html for s in HTML_SUFFIXES},
    **{s: extract_pdf for s in PDF_SUFFIXES},
}
