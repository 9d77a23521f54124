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
import codecs
import io
import logging
import re
from array import array
from dataclasses import dataclass, field
from html import unescape
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
EXTRACT_VERSION = 3
# Caps that keep one hostile file from hanging or flooding indexing (README, "Limits").
TITLE_LINE_CHARS = 1000       # a line is cut to this before it is read as a title
SOURCE_MAP_MAX = 20_000       # HTML source_map entries kept (evenly spread beyond it)
HTML_TAG_CHARS = 64 << 10     # a start tag longer than this: its attributes are not read
HTML_RESUMES = 8              # unfinished tags re-parsed past before the rest is plain text
PDF_MAX_PAGES = 1000          # pages read from one PDF
PDF_PAGE_BYTES = 512 << 10    # a page whose content streams decompress to more: text not read
PDF_TOTAL_BYTES = 8 << 20     # content stream bytes read from one PDF in all


@dataclass(frozen=True)
class Extracted:
    """The document text of one file, its title (may be empty) and meta."""

    text: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


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


# Markdown and reST title rules. Every line is cut to TITLE_LINE_CHARS before it
# is looked at, and no pattern here backtracks over a line more than once: a
# title bomb ("# a" + 8,000 spaces + "b", many times over) is read in linear time.
_ATX_OPEN = re.compile(r" {0,3}(#{1,6})[ \t]")
_SETEXT = re.compile(r" {0,3}(?:=+|-+)[ \t]*")
_RST_ADORN = re.compile(r"([=\-`:'\"~^_*+#<>])\1{2,}[ \t]*")
# Lines that are not prose (matched against the stripped line): badges, images,
# links alone, HTML, link definitions, reST directives, rules.
_NOISE = re.compile(r"(?:\[?!\[[^\]]*\]\([^)]*\)\]?(?:\([^)]*\))?\s*)+"
                    r"|<[^>]*>.*|\[[^\]]*\]:\s.*|\.\. .*|-{3,}|\*{3,}|_{3,}")


def _lines(text: str) -> list[str]:
    """The text's lines, each cut to :data:`TITLE_LINE_CHARS`."""
    return [line[:TITLE_LINE_CHARS] for line in text.splitlines()]


def _noise(line: str) -> bool:
    return _NOISE.fullmatch(line.strip()) is not None


def _atx(line: str) -> tuple[int, str] | None:
    """An ATX heading's level and text (closing ``#``s dropped), else None.

    String methods instead of one regex: a lazy group followed by an optional
    closing sequence retried the line's ending at every position (quadratic on
    long runs of spaces)."""
    m = _ATX_OPEN.match(line)
    if not m:
        return None
    content = line[m.end():].strip(" \t")
    if content.endswith("#"):
        bare = content.rstrip("#")
        if bare.endswith((" ", "\t")):    # a closing sequence: "# Title ##"
            content = bare.rstrip(" \t")
    return len(m.group(1)), content.strip()


def _front_matter_title(line: str) -> str:
    """``title: Foo`` (quotes dropped) in YAML front matter, else ""."""
    if not line.startswith("title:"):
        return ""
    value = line[len("title:"):].strip()
    if value[:1] in ("'", '"'):
        value = value[1:]
    if value[-1:] in ("'", '"'):
        value = value[:-1]
    return value


def first_line(text: str, fallback: str = "") -> str:
    """The first line that reads as text (not a badge, image, HTML tag or rule)."""
    for line in text.splitlines():
        line = line[:TITLE_LINE_CHARS]
        if line.strip() and not _noise(line):
            return " ".join(line.split())[:200]
    return fallback


def title_of(text: str, fallback: str = "") -> str:
    """A Markdown title: the first level-1 heading (``# T`` or ``T`` over ``===``),
    else a heading that opens the text, else its first line of prose."""
    lines = _lines(text)
    headings: list[tuple[int, int, str]] = []   # (level, line number, text)
    start = 0
    if lines and lines[0].strip() == "---":      # YAML front matter
        for i in range(1, min(len(lines), 60)):
            title = _front_matter_title(lines[i])
            if title:
                return title[:200]
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
        atx = _atx(line)
        if atx and atx[1]:
            headings.append((atx[0], i, atx[1]))
        elif (i + 1 < len(lines) and line.strip() and not line.startswith("    ")
              and _SETEXT.fullmatch(lines[i + 1]) and not _noise(line)
              and (i == start or not lines[i - 1].strip())):
            headings.append((1 if lines[i + 1].strip()[0] == "=" else 2, i, line.strip()))
        if headings and headings[-1][0] == 1:
            break                                # the first level-1 heading wins
    top = next((h for h in headings if h[0] == 1), None)
    if top is not None:
        return " ".join(top[2].split())[:200]
    first = next((i for i in range(start, len(lines))
                  if lines[i].strip() and not _noise(lines[i])), None)
    if headings and (first is None or headings[0][1] <= first):
        return " ".join(headings[0][2].split())[:200]
    return first_line("\n".join(lines[start:]), fallback)


def rst_title_of(text: str, fallback: str = "") -> str:
    """A reStructuredText title: the first section title (underlined, maybe overlined)."""
    lines = _lines(text)
    for i, line in enumerate(lines[:-1]):
        under = lines[i + 1]
        if (line.strip() and not _RST_ADORN.fullmatch(line) and _RST_ADORN.fullmatch(under)
                and len(under.rstrip()) >= len(line.rstrip())):
            return " ".join(line.split())[:200]
    return first_line(text, fallback)


def extract_text(data: bytes, max_chars: int = 0) -> Extracted:
    """Plain text: the title is the first line of prose (no Markdown headings)."""
    text = decode_utf8(data)
    return Extracted(text, first_line(text))


def extract_markdown(data: bytes, max_chars: int = 0) -> Extracted:
    text = decode_utf8(data)
    return Extracted(text, title_of(text))


def extract_rst(data: bytes, max_chars: int = 0) -> Extracted:
    text = decode_utf8(data)
    return Extracted(text, rst_title_of(text))


def extract_plain(data: bytes, max_chars: int = 0) -> Extracted:
    """A file without an extension: indexed when its content is UTF-8 text."""
    text = decode_utf8(data)
    sample = text[:8192]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v")
    if controls > len(sample) // 100:
        raise ValueError("no extension and the content is not plain text")
    return Extracted(text, first_line(text))


# -- Word (.docx) ------------------------------------------------------------

DOCX_MAX_UNPACKED = 200 * 1024 * 1024


def extract_docx(data: bytes, max_chars: int = 0) -> Extracted:
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
_TAG_NAME = re.compile(r"[a-zA-Z][^\t\n\r\f />\x00]*")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


class _Visible(HTMLParser):
    """Collects visible text with whitespace collapsed and block breaks kept."""

    def __init__(self, line_starts: list[int]):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        # Two flat arrays, not a list per run: 2.5M runs were 347 MB as lists.
        self.map_text = array("q")
        self.map_source = array("q")
        self.hidden = 0
        self.pre = 0
        self.pending = ""            # a break or space owed before the next text
        self.title_parts: list[str] = []
        self.in_title = False
        self.heading: str | None = None
        self.heading_parts: list[str] = []
        self.first_heading = ""
        self._line_starts = line_starts

    def parse_starttag(self, i: int) -> int:
        # A start tag of megabytes of attributes took html.parser 12 s to split
        # (a Python step per attribute); none of them is shown, so a giant tag is
        # taken by its name alone.
        end = self.check_for_whole_start_tag(i)
        if end < 0 or end - i <= HTML_TAG_CHARS:
            return super().parse_starttag(i)
        m = _TAG_NAME.match(self.rawdata, i + 1)
        tag = m.group().lower() if m else ""
        self.lasttag = tag
        self.handle_starttag(tag, [])
        if tag in self.CDATA_CONTENT_ELEMENTS:
            self.set_cdata_mode(tag)
        return end

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
            self.map_text.append(self.length)
            self.map_source.append(self._source_offset() + lead)
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
    declared = _sane_codec(m.group(1).decode("ascii")) if m else None
    return data.decode(declared or "cp1252", errors="replace")


# Codecs a web page may declare (the WHATWG encodings Python has). Anything else
# (punycode, idna, rot13, utf-7, *_codec ...) falls back to cp1252: some of those
# decode in quadratic time or are not text encodings at all.
_SANE_CODECS = frozenset(codecs.lookup(n).name for n in """
utf-8 ascii latin-1 iso8859-2 iso8859-3 iso8859-4 iso8859-5 iso8859-6 iso8859-7
iso8859-8 iso8859-10 iso8859-13 iso8859-14 iso8859-15 iso8859-16 cp1250 cp1251
cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 cp1258 cp874 koi8-r koi8-u mac-roman
mac-cyrillic gbk gb18030 big5 big5hkscs euc-jp iso2022-jp shift_jis euc-kr
""".split())


def _sane_codec(name: str) -> str | None:
    """The codec a page declares when it is an ordinary text encoding, else None."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return codec if codec in _SANE_CODECS else None


def extract_html(data: bytes, max_chars: int = 0) -> Extracted:
    source = _decode_html(data)
    line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", source)]
    p = _Visible(line_starts)
    try:
        if _feed(p, source, max_chars):
            _finish(p)
    except Exception as exc:  # html.parser is lenient; be safe anyway
        raise ValueError(f"unreadable HTML ({exc})") from None
    text = "".join(p.parts)
    title = " ".join("".join(p.title_parts).split()) or p.first_heading or title_of(text)
    return Extracted(text, title[:200], {"source_map": _thin(p.map_text, p.map_source),
                                         "source_chars": len(source)})


def _feed(p: _Visible, source: str, max_chars: int) -> bool:
    """Feed ``source``, in pieces so as to stop once the text passes ``max_chars``
    (0: no limit). False when it stopped early (the rest is not parsed)."""
    step = 1 << 18
    pos = 0
    while pos < len(source):
        if not max_chars or len(p.rawdata) > step:
            # No limit, or stuck before an unfinished tag: feeding it more pieces
            # would rescan it each time, so the rest goes in at once (one scan);
            # when no ">" follows, no tag can end: it is all text, as close() makes it.
            if max_chars and source.find(">", pos) < 0 and not p.cdata_elem:
                rest = p.rawdata + source[pos:pos + max_chars]
                p.rawdata = ""
                p.handle_data(unescape(rest))
                return pos + max_chars >= len(source)
            p.feed(source[pos:])
            return True
        p.feed(source[pos:pos + step])
        pos += step
        if p.length >= max_chars:
            p.rawdata = ""
            return False
    return True


def _finish(p: _Visible) -> None:
    """``p.close()`` without Python 3.11's quadratic end-of-file pass.

    ``feed`` stops before the first unfinished tag or comment and keeps the
    rest; ``close`` then rescans that rest once per ``<`` in it (160 KB of
    "<a" took 16 s). Here the unfinished construct becomes text, as ``close``
    would make it, and parsing goes on after it. When no ``>`` follows (no tag
    can end), or after :data:`HTML_RESUMES` unfinished constructs, the rest is
    text in one piece.
    """
    for _ in range(HTML_RESUMES + 1):
        rest = p.rawdata
        if p.cdata_elem or len(rest) < 2 or not rest.startswith("<"):
            break
        k = rest.find(">", 1) + 1
        if not k or _ == HTML_RESUMES:
            p.handle_data(unescape(rest))
            p.updatepos(0, len(rest))
            p.rawdata = ""
            break
        p.handle_data(unescape(rest[:k]))
        p.updatepos(0, k)
        p.rawdata = rest[k:]
        p.feed("")
    p.close()


def _thin(text_offsets: array, source_offsets: array) -> list[list[int]]:
    """``[text offset, source offset]`` pairs, at most :data:`SOURCE_MAP_MAX` evenly spread."""
    step = max(1, -(-len(text_offsets) // SOURCE_MAP_MAX))
    return [[t, s] for t, s in zip(text_offsets[::step], source_offsets[::step])]


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


_EXTRACTORS: dict[str, Callable[..., Extracted]] = {
    ".txt": extract_text,
    ".md": extract_markdown,
    ".rst": extract_rst,
    NO_SUFFIX: extract_plain,
    **{s: extract_docx for s in DOCX_SUFFIXES},
    **{s: extract_html for s in HTML_SUFFIXES},
    **{s: extract_pdf for s in PDF_SUFFIXES},
}
