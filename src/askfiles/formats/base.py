"""What every extractor returns, and the UTF-8 decoding the text formats share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Extracted:
    """The document text of one file, its title (may be empty) and meta."""

    text: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def looks_binary(data: bytes) -> bool:
    """NUL bytes near the start: not a text file, whatever its name says."""
    return b"\x00" in data[:8192]


def decode_utf8(data: bytes) -> str:
    """UTF-8 text (a BOM is kept, so offsets still index the file's characters)."""
    if looks_binary(data):
        raise ValueError("looks binary (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
