"""Read dates and numbers in answer text into normalized values (ISO 8601 where possible)."""

from __future__ import annotations

import re
from decimal import Decimal

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
# Words that may come before an amount ("about 3700 kB"); a number answer may also
# be bounded ("more than 40").
_ABOUT = "about|around|approximately|nearly|almost|over|some"
_NUMBER = re.compile(r"^(?:(?:" + _ABOUT + r"|more than|less than|under) )?(?P<cur>[£$€]?)(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
                     r"(?:(?:st|nd|rd|th)\b|(?P<short>k|m|mn|b|bn|tn)\b"
                     r"| (?P<scale>thousand|million|billion|trillion)\b)?")
_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}
_ORDINALS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
    "twentieth".split())}
# "$2.3 million" is 2300000, not 2.3; "£4bn" and "$1.25m" too, but a bare "15m" may be
# metres, so single letters count only after a currency sign.
_SCALES = {"thousand": 3, "k": 3, "million": 6, "m": 6, "mn": 6, "billion": 9, "bn": 9,
           "b": 9, "trillion": 12, "tn": 12}
# Labels of spans that are not entities; such an answer gets a value only when it
# is a number (with its unit): "15", "15 years", "45 percent".
_PLAIN = ("PHRASE",)
_MONTH_WORD = re.compile(r"\b(?:" + "|".join(MONTHS) + r")\b\.?")
_NUMERIC_PHRASE = re.compile(r"^(?:(?:" + _ABOUT + r") )?[£$€]?\d[\d,.]*(?:st|nd|rd|th)?(?: [a-z%]+){0,2}$")


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
    """``"15 years"`` -> ``"15"``, ``"£100"`` -> ``"100"``, ``"three"`` -> ``"3"``,
    ``"$2.3 million"`` -> ``"2300000"``, ``"first"`` -> ``"1"``."""
    t = " ".join(text.lower().split())
    first = t.split()[0] if t else ""
    if first in _WORDS:
        return str(_WORDS[first])
    if first in _ORDINALS:
        return str(_ORDINALS[first])
    m = _NUMBER.match(t)
    if not m:
        return None
    n = m.group("n").replace(",", "")
    short = m.group("short")
    if short and len(short) == 1 and not m.group("cur"):
        short = None
    zeros = _SCALES.get(m.group("scale") or short or "")
    if zeros:
        value = Decimal(n).scaleb(zeros)
        n = format(value.quantize(Decimal(1)) if value == value.to_integral_value()
                   else value.normalize(), "f")
    return n


def normalize(text: str, label: str) -> str | None:
    """The normalized value of an answer of the given entity label, if it can be read."""
    if label in ("DATE", "TIME"):
        return normalize_date(text)
    if label in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT", "ORDINAL"):
        return normalize_number(text)
    if label in _PLAIN:
        # "3 March" is a date the NER missed, not the number 3.
        date = normalize_date(text)
        if date or _MONTH_WORD.search(text.lower()):
            return date
        if _NUMERIC_PHRASE.match(" ".join(text.lower().split())):
            return normalize_number(text)
    return None
