"""Text files (.txt, .md, .rst, no extension): the file itself, and its title."""

from __future__ import annotations

import re

from .base import Extracted, decode_utf8

TITLE_LINE_CHARS = 1000       # a line is cut to this before it is read as a title


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
