"""Normalized values for date and number answers."""

import pytest

from askfiles.dates import normalize


@pytest.mark.parametrize("text, label, value", [
    ("16 February 1964", "DATE", "1964-02-16"),
    ("February 16, 1964", "DATE", "1964-02-16"),
    ("16 Jan 2025", "DATE", "2025-01-16"),
    ("8 October 1995", "DATE", "1995-10-08"),
    ("1997", "DATE", "1997"),
    ("March 1964", "DATE", "1964-03"),
    ("1 March", "DATE", "--03-01"),
    ("1934 to 1936", "DATE", "1934/1936"),
    ("1940-1942", "DATE", "1940/1942"),
    ("the 1930s", "DATE", "1930/1939"),
    ("the spring", "DATE", None),
    ("31 February 1964x", "DATE", None),
    ("15 years", "CARDINAL", "15"),
    ("£100", "MONEY", "100"),
    ("three or four", "CARDINAL", "3"),
    ("1,000", "CARDINAL", "1000"),
    ("Cleveland", "GPE", None),
    ("$2.3 million", "MONEY", "2300000"),
    ("4.5 million euros", "MONEY", "4500000"),
    ("1.2 billion", "CARDINAL", "1200000000"),
    ("£4bn", "MONEY", "4000000000"),
    ("$1.25m", "MONEY", "1250000"),
    ("15m", "QUANTITY", "15"),            # metres as likely as millions
    ("3bn", "CARDINAL", "3000000000"),
    ("2,000 thousand", "CARDINAL", "2000000"),
    ("0.0015 million", "CARDINAL", "1500"),
    ("1.234567 thousand", "CARDINAL", "1234.567"),
    ("about 3700 kB", "QUANTITY", "3700"),
    ("first", "ORDINAL", "1"),
    ("21st", "ORDINAL", "21"),
    ("45 percent", "PERCENT", "45"),
    ("15", "PHRASE", "15"),              # a number the NER did not label
    ("15 years", "PHRASE", "15"),
    ("45 percent", "PHRASE", "45"),
    ("the 15 men who stayed", "PHRASE", None),
    ("Highway 61", "PHRASE", None),
    ("15", "SENTENCE", None),
    ("3 March", "PHRASE", "--03-03"),     # a date the NER missed
    ("3 March 1921", "PHRASE", "1921-03-03"),
    ("3 mar. onwards", "PHRASE", None),
])
def test_normalize(text, label, value):
    assert normalize(text, label) == value
