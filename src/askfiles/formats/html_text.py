"""HTML: the visible text, and a map from its offsets back to the source."""

from __future__ import annotations

import bisect
import codecs
import re
from array import array
from html import unescape
from html.parser import HTMLParser
from typing import Any

from .base import Extracted, looks_binary
from .plain_text import title_of

SOURCE_MAP_MAX = 20_000       # HTML source_map entries kept (evenly spread beyond it)
HTML_TAG_CHARS = 64 << 10     # a start tag longer than this: its attributes are not read
HTML_RESUMES = 8              # unfinished tags re-parsed past before the rest is plain text

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
    if looks_binary(data):
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
