"""The Python API: ``askfiles.open(folder).ask(...)``, and the README example run as written."""

from __future__ import annotations

import os
import pathlib
import pickle
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import askfiles
from askfiles.select import NoMatch
from conftest import ROOT


def readme_example() -> tuple[str, str]:
    """The README's Python API example and the output it documents."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- python-api-example[^>]*-->\s*```python\n(.*?)```\s*\n"
                  r"prints[^\n]*\n\s*```\n(.*?)```", text, re.S)
    assert m, "README lost its Python API example"
    return m.group(1), m.group(2)


def test_the_readme_example_prints_what_the_readme_says():
    code, expected = readme_example()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    (root / "news").mkdir()
    (root / "news" / "mill.txt").write_text("Mill\n\nThe old mill closed in 1911 after a fire.\n")
    (root / "quay.md").write_text("# Quay\n\nThe quay was paved in 1871 by the trust.\n")
    return askfiles.open(root, index_dir="off", poll_seconds=0)


def test_ask_returns_the_records_the_json_shows(engine):
    result = engine.ask("When did the mill close?", top_k=1)
    best = result.answers[0]
    assert (best.answer, best.citation.document) == ("1911", "news/mill.txt")
    assert result.to_json()["answers"][0]["answer"] == "1911"
    assert engine.documents["quay.md"].title == "Quay" and engine.index_version


def test_repr_names_the_folder_and_what_it_holds(engine):
    assert repr(engine) == (f"<askfiles.open({str(engine.folder)!r}): 2 documents, "
                            f"2 passages, index_version {engine.index_version!r}>")


def test_pickling_says_to_send_the_folder(engine):
    """It said "cannot pickle 'mmap.mmap' object" (the saved index is memory-mapped)."""
    with pytest.raises(TypeError, match=re.escape(
            "an opened corpus cannot be pickled or copied; for another process, pass its "
            "folder and call askfiles.open(folder) there")):
        pickle.dumps(engine)
    best = engine.ask("When did the mill close?").answers[0]
    assert pickle.loads(pickle.dumps(best)) == best          # the records pickle


@pytest.mark.parametrize("explain", [False, True])
def test_results_and_answers_hash_with_or_without_explain(engine, explain):
    """A frozen record; with explain=True hash() raised "unhashable type: 'dict'"."""
    result = engine.ask("When did the mill close?", explain=explain)
    assert len(set(result.answers)) == len(result.answers) and hash(result)
    assert (result.answers[0].explain is not None) is explain


def test_documents_are_read_only(engine):
    """Removing one from the dict the engine answers from made its answers a KeyError."""
    with pytest.raises(TypeError):
        engine.documents["news/mill.txt"] = None
    with pytest.raises(AttributeError):
        engine.documents.clear()
    assert engine.ask("When did the mill close?").answers[0].answer == "1911"


def test_ask_within_documents(engine):
    result = engine.ask("When?", top_k=5, documents=["quay.md"])
    assert {a.citation.document for a in result.answers} <= {"quay.md"}
    assert engine.ask("When did the mill close?", documents="news/*").answers[0].answer == "1911"


def test_a_lone_surrogate_in_a_question_is_replaced_not_raised(engine):
    """spaCy raised UnicodeEncodeError from deep inside; one U+FFFD for each, as the API."""
    result = engine.ask("When did the mill \ud800close?", top_k=1)
    assert result.answers[0].answer == "1911"
    assert result.question == "When did the mill \ufffdclose?"


@pytest.mark.parametrize("kwargs, error, message", [
    ({"question": "  "}, ValueError, "the question is empty; ask something"),
    ({"question": "x" * 1001}, ValueError, "the question is longer than 1000 characters "
     "(it has 1001); shorten it, or open the folder with a higher max_question_chars"),
    ({"question": "When?", "top_k": 0}, ValueError,
     "top_k must be an integer from 1 to 20 (how many answers to return), not 0"),
    ({"question": "When?", "top_k": 10**9}, ValueError, "from 1 to 20 (how many answers "
     "to return), not 1000000000"),
    ({"question": "When?", "top_k": True}, ValueError, "from 1 to 20 (how many answers to "
     "return), not True"),
    ({"question": "When?", "top_k": 3.0}, ValueError, "not 3.0"),
    ({"question": "When?", "top_k": "3"}, ValueError, "not '3'"),
    ({"question": "When?", "documents": ["nope/*"]}, NoMatch, "nope/"),
    ({"question": "When?", "documents": []}, ValueError, "empty"),
])
def test_bad_arguments_raise_value_errors(engine, kwargs, error, message):
    with pytest.raises(error) as caught:
        engine.ask(**kwargs)
    assert issubclass(error, ValueError)
    assert message in str(caught.value)


@pytest.mark.parametrize("kwargs, message", [
    # None and bytes once read "the question is empty"; a number of documents, a bare
    # "'int' object is not iterable" from inside.
    ({"question": None}, "the question must be a str, not NoneType"),
    ({"question": 42}, "the question must be a str, not int"),
    ({"question": b"When?"}, "the question must be a str, not bytes (decode it first: "
     "question.decode('utf-8'))"),
    ({"question": "When?", "documents": 5}, "documents must be a document id or glob "
     "pattern, or a list of them (e.g. ['news/*.txt']), not int"),
    ({"question": "When?", "documents": [None]}, '"documents" must be a list of document '
     'ids or glob patterns'),
])
def test_arguments_of_the_wrong_type_raise_type_errors_saying_so(engine, kwargs, message):
    with pytest.raises(TypeError) as caught:
        engine.ask(**kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize("kwargs", [
    {"top_k": np.int64(1)},                                     # any integer type
    {"documents": pathlib.PurePosixPath("news/mill.txt")},      # a Path id
    {"documents": [pathlib.PureWindowsPath("news\\mill.txt")]},
    {"documents": ("news/mill.txt",)},
    {"documents": {"news/*.txt"}},
])
def test_integers_paths_and_any_iterable_of_ids_are_taken(engine, kwargs):
    result = engine.ask("When did the mill close?", **kwargs)
    assert result.answers[0].answer == "1911"
    assert {a.citation.document for a in result.answers} == {"news/mill.txt"}


@pytest.mark.parametrize("documents, message", [
    ("zzz", "No document matches 'zzz'; askfiles.open(folder).documents lists the ids."),
    (["quay.md", "news/*.pdf"], "No document matches 'news/*.pdf'; "
     "askfiles.open(folder).documents lists the ids."),
])
def test_no_match_names_the_python_way_to_list_documents(engine, documents, message):
    with pytest.raises(NoMatch) as caught:
        engine.ask("When?", documents=documents)
    assert str(caught.value) == message and "GET /api" not in message


OPEN_HINT = "; pass askfiles.open() the folder of your documents (or set ASKFILES_CORPUS)"


@pytest.mark.parametrize("folder, settings, error, message", [
    # Each once said "does not exist or is not a folder; pass --corpus DIR ...", the
    # command line's hint; 5 and ['docs'] became folders named '5' and "['docs']", and ''
    # opened ./corpus.
    ("{root}/a.txt", {}, FileNotFoundError, "corpus folder '{root}/a.txt' is a file, not a "
     "folder (the folder holding it is '{root}')" + OPEN_HINT),
    ("{root}/nope", {}, FileNotFoundError, "corpus folder '{root}/nope' does not exist"
     + OPEN_HINT),
    ("nope", {}, FileNotFoundError, "corpus folder 'nope' does not exist (looked for in "
     "{root})" + OPEN_HINT),
    ("{root}/gone", {}, FileNotFoundError, "corpus folder '{root}/gone' is a symlink to "
     "nothing" + OPEN_HINT),
    (5, {}, TypeError, "the folder must be a path (a str or pathlib.Path), not int"),
    (["docs"], {}, TypeError, "the folder must be a path (a str or pathlib.Path), not list"),
    ("", {}, ValueError, "the folder is '' (empty); pass a folder, or leave it out for "
     "$ASKFILES_CORPUS, else ./corpus"),
    ("{root}", {"corpus": "other"}, ValueError, "two folders: askfiles.open('{root}', "
     "corpus='other'); pass one"),
])
def test_a_folder_that_cannot_be_opened_says_why(tmp_path, monkeypatch, folder, settings,
                                                  error, message):
    (tmp_path / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    (tmp_path / "gone").symlink_to(tmp_path / "missing")
    monkeypatch.chdir(tmp_path)
    if isinstance(folder, str):
        folder = folder.format(root=tmp_path)
    with pytest.raises(error) as caught:
        askfiles.open(folder, index_dir="off", **settings)
    assert str(caught.value) == message.format(root=tmp_path)


def test_a_folder_given_as_bytes_or_path_or_twice_alike_is_opened(tmp_path):
    (tmp_path / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    for folder, settings in [(bytes(tmp_path), {}), (tmp_path, {"corpus": str(tmp_path)}),
                             (None, {"corpus": tmp_path})]:
        assert list(askfiles.open(folder, index_dir="off", **settings).documents) == ["a.txt"]


def test_refresh_of_a_folder_removed_says_so(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    engine = askfiles.open(folder, index_dir="off")
    (folder / "a.txt").unlink()
    folder.rmdir()
    with pytest.raises(FileNotFoundError) as caught:
        engine.refresh()
    assert str(caught.value) == f"corpus folder {str(folder)!r} does not exist" + OPEN_HINT
    assert engine.ask("When did the mill close?").answers[0].answer == "1911"   # kept


def mapped_files(folder: pathlib.Path) -> set[str]:
    """Files under ``folder`` this process has memory-mapped (Linux)."""
    with open("/proc/self/maps", encoding="utf-8") as f:
        return {line.split()[-1] for line in f if str(folder) in line}


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="Linux's /proc only")
def test_close_lets_go_of_the_index_and_asking_after_says_so(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    with askfiles.open(folder) as corpus:   # the saved index in docs/.askfiles
        assert corpus.ask("When did the mill close?").answers[0].answer == "1911"
        assert mapped_files(folder / ".askfiles")   # its arrays are memory-mapped
        assert not corpus.closed
    import gc
    gc.collect()
    assert corpus.closed and mapped_files(folder / ".askfiles") == set()
    assert repr(corpus) == f"<askfiles.open({str(folder)!r}): closed>"
    closed = f"this corpus ({str(folder)!r}) was closed; open it again with askfiles.open(folder)"
    for use in (lambda: corpus.ask("When did the mill close?"), lambda: corpus.documents,
                corpus.refresh, lambda: corpus.index_version, lambda: corpus.skipped):
        with pytest.raises(ValueError) as caught:
            use()
        assert str(caught.value) == closed
    corpus.close()                                  # twice: nothing more to do
    assert corpus.folder == folder
    with pytest.raises(ValueError, match="was closed"):
        with corpus:
            pass


@pytest.mark.parametrize("settings, message", [
    ({"bogus": 1}, "unknown setting 'bogus'; the settings are corpus, index_dir, "),
    ({"retrieve_depht": 5}, "unknown setting 'retrieve_depht' (did you mean "
     "'retrieve_depth'?); the settings are "),
    ({"askfiles_retrieve_depth": 5}, "unknown setting 'askfiles_retrieve_depth' (did you "
     "mean 'retrieve_depth'?)"),
    ({"no_answer_treshold": 0.5}, "(did you mean 'no_answer_threshold'?)"),
])
def test_unknown_setting_names_are_refused(tmp_path, settings, message):
    with pytest.raises(ValueError) as caught:
        askfiles.open(tmp_path, index_dir="off", **settings)
    assert message in str(caught.value)
    assert "retrieve_depth, no_answer_threshold" in str(caught.value)


@pytest.mark.parametrize("name", ["top_k", "documents", "explain"])
def test_an_argument_of_ask_given_to_open_says_where_it_goes(tmp_path, name):
    """It said "unknown setting 'top_k'" and listed the sixteen settings."""
    with pytest.raises(ValueError) as caught:
        askfiles.open(tmp_path, index_dir="off", **{name: 1})
    assert str(caught.value) == (f"{name} is an argument of ask(), not a setting: "
                                 f"askfiles.open(folder).ask(question, {name}=...)")


@pytest.mark.parametrize("settings, message", [
    ({"retrieve_depth": "x"}, "argument retrieve_depth='x' is not an integer: "
     "passages taken from BM25 before reranking"),
    ({"poll_seconds": "soon"}, "argument poll_seconds='soon' is not a number"),
])
def test_bad_setting_values_are_refused_at_open(tmp_path, settings, message):
    (tmp_path / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    with pytest.raises(ValueError) as caught:
        askfiles.open(tmp_path, index_dir="off", **settings)
    assert message in str(caught.value)


READABLE = ".txt, .md, .rst, .html, .htm, .pdf or .docx files (or text files without an " \
           "extension)"


@pytest.mark.parametrize("files, message", [
    ({}, "no documents to answer from in '{root}'; put " + READABLE + " in it; every "
     "question gets no answer until refresh() finds some"),
    ({"data.csv": "a,b\n", "empty.txt": ""}, "no documents to answer from in '{root}' (2 "
     "files skipped: .skipped says why); every question gets no answer until refresh()"),
])
def test_a_folder_without_documents_warns_and_says_why(tmp_path, files, message):
    """It opened silently and answered nothing; the command line stops there (exit 2)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.warns(UserWarning) as caught:
        engine = askfiles.open(tmp_path, index_dir="off")
    assert message.format(root=tmp_path) in str(caught[0].message)
    assert caught[0].filename == __file__          # points at the caller's line
    assert sorted(s.path for s in engine.skipped) == sorted(files)
    assert all(s.reason for s in engine.skipped)
    (tmp_path / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # documents now: no warning
        assert engine.refresh() is True
    assert sorted(s.path for s in engine.skipped) == sorted(files)
    assert engine.ask("When did the mill close?").answers[0].answer == "1911"


def test_a_refresh_while_asking_within_documents_keeps_one_index(tmp_path, monkeypatch):
    """ask() chose the passages in one engine and read self.engine again to search them:
    a refresh() in another thread between the two searched the new index with the old
    index's passage numbers. The swap is made at that moment here."""
    from askfiles import select

    (tmp_path / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    opened = askfiles.open(tmp_path, index_dir="off")
    first = opened.engine
    (tmp_path / "0.txt").write_text("Quay\n\nThe quay was paved in 1871.\n")
    second = askfiles.open(tmp_path, index_dir="off").engine
    real = select.allowed_passages

    def allowed_then_refreshed(engine, patterns):
        chosen = real(engine, patterns)
        opened.engine = second                 # as refresh() in another thread does
        return chosen

    monkeypatch.setattr(select, "allowed_passages", allowed_then_refreshed)
    result = opened.ask("When did the mill close?", documents=["a.txt"])
    assert result.index_version == first.version != second.version
    assert result.answers[0].answer == "1911"


def test_refresh_reads_a_changed_folder(tmp_path):
    (tmp_path / "a.txt").write_text("Mill\n\nThe mill closed in 1911.\n")
    engine = askfiles.open(tmp_path, index_dir="off")
    assert engine.refresh() is False
    (tmp_path / "b.txt").write_text("Quay\n\nThe quay was paved in 1871.\n")
    assert engine.refresh() is True and set(engine.documents) == {"a.txt", "b.txt"}



def test_the_api_types_are_exported_and_typed():
    """A type checker skipped askfiles ("missing library stubs or py.typed marker") and
    Result, Answer, ... had to be imported from the modules that define them."""
    import inspect

    from askfiles import library, records, select

    assert (pathlib.Path(askfiles.__file__).parent / "py.typed").is_file()
    data = re.search(r"\[tool\.setuptools\.package-data\]\naskfiles = (.*)",
                     (ROOT / "pyproject.toml").read_text()).group(1)
    assert '"py.typed"' in data                               # and installed with it
    for module, names in ((library, ["Askfiles"]), (select, ["NoMatch"]),
                          (records, ["Result", "Answer", "Citation", "Document"])):
        for name in names:
            assert getattr(askfiles, name) is getattr(module, name) and name in askfiles.__all__
    signature = inspect.signature(askfiles.open)
    assert signature.return_annotation == "Askfiles"
    assert signature.parameters["folder"].annotation == "str | os.PathLike[str] | None"
    with pytest.raises(AttributeError, match="module 'askfiles' has no attribute 'Engine'"):
        askfiles.Engine
    with pytest.raises(TypeError, match=re.escape(
            "Askfiles('docs') takes an engine, not a folder; open a folder with "
            "askfiles.open(folder)")):
        askfiles.Askfiles("docs")
