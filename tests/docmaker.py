"""Test fixtures made on the fly: a minimal PDF written by hand, HTML pages, corpora."""

from __future__ import annotations

from pathlib import Path


def _pdf_string(s: str) -> str:
    return "(" + s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A valid PDF, one list of text lines per page (Helvetica, WinAnsi/ASCII text)."""
    objs: list[bytes] = []   # object n is objs[n - 1]
    n_pages = len(pages)
    font = 3
    page_ids = [4 + 2 * i for i in range(n_pages)]
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                b"/Encoding /WinAnsiEncoding >>")
    for i, lines in enumerate(pages):
        content = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            content.append(f"{_pdf_string(line)} Tj T*")
        content.append("ET")
        stream = "\n".join(content).encode("latin-1")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 {font} 0 R >> >> "
                    f"/Contents {page_ids[i] + 1} 0 R >>".encode())
        objs.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n"
                    + stream + b"\nendstream")
    info = None
    if title is not None:
        objs.append(f"<< /Title {_pdf_string(title)} >>".encode("latin-1"))
        info = len(objs)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    trailer = f"<< /Size {len(objs) + 1} /Root 1 0 R"
    if info:
        trailer += f" /Info {info} 0 R"
    out += f"trailer\n{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


PDF_PAGES = [
    ["Harbour Works Annual Report",
     "The harbour bridge was opened in 1932 by the premier.",
     "Its arch spans five hundred metres across the water."],
    ["The lighthouse at Cape Byron was completed in 1901.",
     "It was designed by the architect Charles Harding.",
     "The keeper's cottage stands beside it."],
]

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Glacier Survey &amp; Findings</title>
<style>p { color: red; } .x::before { content: "Mallory led everything"; }</style>
<script>var decoy = "The survey was led by George Mallory in 1850.";</script>
</head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Glacier   Survey</h1>
<p>The Vatnaj&ouml;kull glacier covers about 7,700 square kilometres of Iceland.</p>
<p>The survey was led by Helga Jonsdottir in
   <b>2019</b>, with a team of twelve.</p>
<script>document.write("The survey was led by Mallory.");</script>
<ul><li>Ice depth was measured with radar.</li><li>Melt water was sampled weekly.</li></ul>
<noscript>Enable scripts to see Mallory.</noscript>
</body></html>
"""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path
