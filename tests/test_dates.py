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
])
def test_normalize(text, label, value):
    assert normalize(text, label) == value
