"""Loading a corpus folder and splitting documents into passages with offsets."""

from pathlib import Path

import pytest

from askfiles.load import load_corpus, title_of
from askfiles.records import Document
from askfiles.split import MAX_WORDS, split_document


def write(root: Path, name: str, data: bytes | str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_load_txt_and_md_recursively_with_ids_titles_and_unchanged_text(tmp_path):
    write(tmp_path, "a.txt", "First line title\r\n\r\nBody – with “quotes”.\n")
    write(tmp_path, "sub/deeper/b.md", "## The Heading\n\ntext\n")
    write(tmp_path, "c.bin", b"\x00\x01")
    docs, skipped = load_corpus(tmp_path)
    assert [d.id for d in docs] == ["a.txt", "sub/deeper/b.md"]
    assert docs[0].text == "First line title\r\n\r\nBody – with “quotes”.\n"
    assert [d.title for d in docs] == ["First line title", "The Heading"]
    assert [s.path for s in skipped] == ["c.bin"]
    assert skipped[0].reason.startswith("unsupported file type '.bin'")
    assert skipped[0].reason.endswith(".docx, or text files without an extension)")


def test_unreadable_files_are_logged_and_skipped(tmp_path, caplog):
    write(tmp_path, "good.txt", "fine")
    write(tmp_path, "latin1.txt", "caf\xe9".encode("latin-1"))
    write(tmp_path, "nul.txt", b"abc\x00def")
    docs, skipped = load_corpus(tmp_path)
    assert [d.id for d in docs] == ["good.txt"]
    reasons = dict((s.path, s.reason) for s in skipped)
    assert reasons["latin1.txt"].startswith("not valid UTF-8")
    assert reasons["nul.txt"] == "looks binary (NUL bytes)"
    assert "skipped latin1.txt" in caplog.text


def test_missing_corpus_folder_says_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass --corpus DIR or set ASKFILES_CORPUS"):
        load_corpus(tmp_path / "nope")


@pytest.mark.parametrize("text, title", [
    ("# Heading\nbody", "Heading"),
    ("\n\n  plain first line  \nmore", "plain first line"),
    ("", "fallback"),
])
def test_title(text, title):
    assert title_of(text, "fallback") == title


def test_passages_carry_offsets_into_the_document():
    para = " ".join(f"Sentence number {i} ends here." for i in range(80))
    text = "Title\n\nShort para one.\n\n" + para + "\n\nLast one.\n"
    doc = Document("d.txt", "Title", text)
    passages = split_document(doc)
    assert [p.n for p in passages] == list(range(len(passages)))
    for p in passages:
        assert p.doc_id == "d.txt"
        assert text[p.start:p.end] == p.text
        assert len(p.text.split()) <= MAX_WORDS
        assert p.text == p.text.strip()
    # The long paragraph is cut at sentence ends, never mid-sentence.
    assert all(p.text.endswith(".") for p in passages)
    # Nothing is lost: every word of the document is in some passage.
    assert sum(len(p.text.split()) for p in passages) == len(text.split())


def test_seed_article_passages():
    from conftest import SEED_CORPUS

    docs, _ = load_corpus(SEED_CORPUS)
    passages = split_document(docs[0])
    assert passages[0].start == 0
    assert passages[0].text.startswith("The civil servant who spied")
    assert 10 <= len(passages) <= 30
