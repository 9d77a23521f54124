"""Read dates and numbers in answer text into normalized values (ISO 8601 where possible)."""

from __future__ import annotations

import re

MONTHS = {m: i + 1 for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"))}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9

_M = r"(?P<{}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_Y = r"(?P<{}>\d{{4}})"
_D = r"(?P<{}>\d{{1,2}})(?:st|nd|rd|th)?"
_PATTERNS = [
    re.compile(rf"^(?:on |the )?{_D.format('d')} (?:of )?{_M.format('m')},? {_Y.format('y')}$"),
    re.compile(rf"^(?:on )?{_M.format('m')} {_D.format('d')},? {_Y.format('y')}$"),
    re.compile(rf"^(?:in )?{_M.format('m')},? {_Y.format('y')}$"),
    re.compile(rf"^(?:on |the )?{_D.format('d')} (?:of )?{_M.format('m')}$"),
    re.compile(rf"^(?:on )?{_M.format('m')} {_D.format('d')}$"),
    re.compile(r"^(?:in )?(?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<mn>\d{2})-(?P<d>\d{2})$"),
]
_RANGE = re.compile(r"^(?:from |between )?(?P<a>\d{4}) ?(?:to|and|until|-|–|—) ?(?P<b>\d{2,4})$")
_DECADE = re.compile(r"^(?:the )?(?P<y>\d{3})0s$")
_NUMBER = re.compile(r"^[£$€]?(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\b")
_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}


def _valid(y: int | None, m: int | None, d: int | None) -> bool:
    if m is not None and not 1 <= m <= 12:
        return False
    return d is None or 1 <= d <= 31


def normalize_date(text: str) -> str | None:
    """``"16 February 1964"`` -> ``"1964-02-16"``, ``"1934 to 1936"`` -> ``"1934/1936"``."""
    t = " ".join(text.lower().replace(",", ", ").split()).replace(" ,", ",")
    t = t.strip(" .")
    m = _RANGE.match(t)
    if m:
        a, b = m.group("a"), m.group("b")
        if len(b) == 2:
            b = a[:2] + b
        return f"{a}/{b}" if int(b) >= int(a) else None
    m = _DECADE.match(t)
    if m:
        return f"{m.group('y')}0/{m.group('y')}9"
    for pat in _PATTERNS:
        m = pat.match(t)
        if not m:
            continue
        g = m.groupdict()
        y = int(g["y"]) if g.get("y") else None
        mon = MONTHS.get(g["m"].rstrip(".")) if g.get("m") else (
            int(g["mn"]) if g.get("mn") else None)
        d = int(g["d"]) if g.get("d") else None
        if not _valid(y, mon, d):
            return None
        if y is None:
            return f"--{mon:02d}-{d:02d}"
        if mon is None:
            return f"{y:04d}"
        if d is None:
            return f"{y:04d}-{mon:02d}"
        return f"{y:04d}-{mon:02d}-{d:02d}"
    return None


def normalize_number(text: str) -> str | None:
    """``"15 years"`` -> ``"15"``, ``"£100"`` -> ``"100"``, ``"three"`` -> ``"3"``."""
    t = text.strip().lower()
    first = t.split()[0] if t.split() else ""
    if first in _WORDS:
        return str(_WORDS[first])
    m = _NUMBER.match(t)
    return m.group("n").replace(",", "") if m else None


def normalize(text: str, label: str) -> str | None:
    """The normalized value of an answer of the given entity label, if it can be read."""
    if label in ("DATE", "TIME"):
        return normalize_date(text)
    if label in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT", "ORDINAL"):
        return normalize_number(text)
    return None
