"""Word files (.docx): paragraphs and table rows as text."""

from __future__ import annotations

import io

from .base import Extracted
from .plain_text import first_line

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
