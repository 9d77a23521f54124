"""The command line: ask (one question, --json, stdin), eval and clear errors."""

import io
import json

import pytest

from askfiles import cli
from conftest import SEED_CORPUS, SEED_QUESTIONS


@pytest.fixture
def corpus(tmp_path):
    """A two-document corpus, so the tests own their saved index."""
    (tmp_path / "a.txt").write_text(
        "Harbour notes\n\nThe lighthouse at Port Ellen was built in 1832 by Robert Stevenson.\n")
    (tmp_path / "b.md").write_text(
        "# Mill\n\nThe old mill closed in 1911 after a fire destroyed the roof.\n")
    return str(tmp_path)


def test_ask_json_prints_the_answer_record(corpus, capsys):
    assert cli.main(["ask", "Who built the lighthouse?", "--corpus", corpus, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    top = body["answers"][0]
    assert top["answer"] == "Robert Stevenson"
    assert top["citation"]["document"] == "a.txt"
    assert top["citation"]["passage"] == 0         # the JSON counts passages from 0
    assert body["no_answer"] is False


def test_ask_prints_answer_snippet_and_citation(corpus, capsys):
    assert cli.main(["ask", "When did the mill close?", "--corpus", corpus,
                     "--top-k", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. 1911  [1911]  (DATE, confidence ")
    assert "“The old mill closed in 1911 after a fire destroyed the roof.”" in out
    # For people, passages count from 1 (as on the pages); --json keeps the 0-based field.
    assert "— b.md, passage 1, characters " in out


def test_ask_reads_questions_from_stdin_one_json_line_each(corpus, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(
        "When was the lighthouse built?\n\nWhen did the mill close?\n"))
    assert cli.main(["ask", "--corpus", corpus, "--top-k", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["answers"][0]["answer"] for x in lines] == ["1832", "1911"]
    assert json.loads(lines[0])["question"] == "When was the lighthouse built?"


@pytest.mark.parametrize("stdin, status", [
    ("When did the mill close?\nWho won the World Cup in 2010?\n", 1),   # one unanswered
    ("When did the mill close?\n", 0),
    ("\n  \n", 2),                                                       # nothing to ask
])
def test_stdin_exit_status_says_whether_every_question_was_answered(corpus, capsys,
                                                                     monkeypatch, stdin, status):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert cli.main(["ask", "--corpus", corpus, "--top-k", "1"]) == status
    if status == 2:
        assert "no question on standard input" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["ask", "   "], "the question is empty"),
    (["ask", "Why?", "--corpus", "/nonexistent/folder"], "askfiles: corpus folder "
     "'/nonexistent/folder' does not exist; pass --corpus DIR or set ASKFILES_CORPUS"),
    (["ask", "Why?", "--corpus", "{corpus}/a.txt"], "askfiles: corpus folder "
     "'{corpus}/a.txt' is a file, not a folder (the folder holding it is '{corpus}'); "
     "pass --corpus DIR"),
    (["index", "--corpus", "{corpus}/a.txt"], "is a file, not a folder"),
    (["eval", "/nonexistent/q.jsonl"], "No such file"),
])
def test_errors_say_what_went_wrong(argv, message, capsys, corpus):
    if argv[0] == "ask" and "--corpus" not in argv:
        argv = argv + ["--corpus", corpus]
    assert cli.main([a.format(corpus=corpus) for a in argv]) == 2
    assert message.format(corpus=corpus) in capsys.readouterr().err


@pytest.mark.parametrize("how", ["argv", "stdin", "eval"])
def test_a_question_with_a_lone_surrogate_is_answered(corpus, capsys, monkeypatch, tmp_path,
                                                      how):
    """A byte that is not UTF-8 in argv or stdin reaches Python as a lone surrogate, and a
    question file may hold "\\ud800": spaCy raised UnicodeEncodeError with a traceback."""
    question = "When did the mill \udcffclose?"
    if how == "argv":
        assert cli.main(["ask", question, "--corpus", corpus, "--json"]) == 0
    elif how == "stdin":
        monkeypatch.setattr("sys.stdin", io.StringIO(question + "\n"))
        assert cli.main(["ask", "--corpus", corpus]) == 0
    else:
        path = tmp_path / "q.jsonl"
        path.write_text('{"question": "When did the mill \\ud800close?", "answers": ["1911"]}\n')
        assert cli.main(["eval", str(path), "--corpus", corpus, "--details"]) == 0
    out = capsys.readouterr().out
    if how == "eval":
        assert '"em": 1.0' in out
    else:
        body = json.loads(out)
        assert body["answers"][0]["answer"] == "1911"
        assert body["question"] == "When did the mill \ufffdclose?"


def test_top_k_is_bounded(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["ask", "x", "--top-k", "50"])
    assert exc.value.code == 2
    assert "--top-k" in capsys.readouterr().err


@pytest.mark.skipif(not SEED_QUESTIONS.exists(), reason="../shared/eval is not beside the clone")
def test_eval_prints_the_table(capsys):
    assert cli.main(["eval", str(SEED_QUESTIONS), "--corpus", str(SEED_CORPUS)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("17 questions, corpus ")
    header, first = out.splitlines()[1:3]
    assert header.split() == ["type", "n", "answerable", "EM", "F1", "snippet", "false",
                              "abst.", "correct", "abst."]
    assert first.split()[:3] == ["all", "17", "14"]
    unanswerable = next(r for r in out.splitlines() if r.startswith("unanswerable"))
    assert unanswerable.split() == ["unanswerable", "3", "0", "-", "-", "-", "0", "3/3"]


@pytest.mark.parametrize("files, message", [
    ({}, "askfiles eval: no documents to answer from in '{root}'; " + "{readable}"),
    ({"data.csv": b"a,b\n"}, "askfiles eval: no documents to answer from in '{root}' "
     "(1 file skipped; askfiles index lists why)"),
])
def test_eval_on_a_folder_without_documents_is_a_corpus_error(tmp_path, capsys, files,
                                                              message):
    """It scored every question 0 (false abstentions) and exited 0, as if the answers were
    wrong; askfiles ask on the same folder exits 2."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in files.items():
        (corpus / name).write_bytes(data)
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "When did the mill close?", "answers": ["1911"]}\n')
    assert cli.main(["eval", str(questions), "--corpus", str(corpus)]) == 2
    out, err = capsys.readouterr()
    assert message.format(root=corpus, readable=READABLE) in err and "EM" not in out


def test_eval_counts_in_words(tmp_path, capsys):
    (tmp_path / "mill.txt").write_text("Mill\n\nThe old mill closed in 1911.\n")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "When did the mill close?", "answers": ["1911"]}\n')
    assert cli.main(["eval", str(questions), "--corpus", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(
        f"1 question, corpus {tmp_path} (1 document, 1 passage)\n")


def test_exit_status_says_whether_it_answered(corpus, capsys):
    assert cli.main(["ask", "When did the mill close?", "--corpus", corpus]) == 0
    assert cli.main(["ask", "Who won the World Cup in 2010?", "--corpus", corpus]) == 1
    assert "No answer found" in capsys.readouterr().out
    assert cli.main(["ask", "Who won the World Cup in 2010?", "--corpus", corpus,
                     "--json"]) == 1


READABLE = ("put .txt, .md, .rst, .html, .htm, .pdf or .docx files (or text files "
            "without an extension) in it")


@pytest.mark.parametrize("files, message", [
    ({}, "no documents to answer from in '{root}'; " + READABLE),
    ({"data.bin": b"\x00\x01"}, "(1 file skipped; askfiles index lists why)"),
])
def test_an_empty_corpus_is_a_corpus_error(tmp_path, capsys, files, message):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert cli.main(["ask", "When?", "--corpus", str(tmp_path)]) == 2
    assert message.format(root=tmp_path) in capsys.readouterr().err


@pytest.mark.parametrize("files, message", [
    ({}, "no documents it can read in '{root}'; " + READABLE),
    ({"data.bin": b"\x00\x01"},
     "no documents it can read in '{root}' (1 file skipped, listed above); " + READABLE),
    ({"a.txt": b"\xff\xfe not UTF-8", "b.xyz": b"text"}, "(2 files skipped, listed above)"),
])
def test_index_of_a_folder_without_documents_is_a_corpus_error(tmp_path, capsys, files,
                                                                message):
    """As `askfiles ask` on the same folder (exit status 2), with the formats it reads;
    it once printed "0 documents" and exited 0."""
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert cli.main(["index", "--corpus", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("askfiles: ")
    assert message.format(root=tmp_path) in err
    for name in files:                       # the reasons, as for any skipped file
        assert f"skipped {name}: " in out
    assert cli.main(["ask", "When?", "--corpus", str(tmp_path)]) == 2


def test_index_of_a_folder_with_documents_exits_0(corpus, capsys):
    assert cli.main(["index", "--corpus", corpus]) == 0
    assert capsys.readouterr().out.startswith("2 documents, ")


def test_index_watch_waits_for_documents_in_an_empty_folder(tmp_path, capsys, monkeypatch):
    """--watch is the builder: an empty folder is not an error, it looks again."""
    import signal
    import threading

    from askfiles import builder

    stop = threading.Event()
    said = []
    real = builder.run_builder

    def run_builder(cfg, say, progress):
        def hear(line):
            said.append(line)
            if line.startswith("watching "):
                stop.set()               # looked once, waiting: enough
        return real(cfg, say=hear, stop=stop, progress=progress)

    monkeypatch.setattr(builder, "run_builder", run_builder)
    monkeypatch.setattr(signal, "signal", lambda *a: None)   # pytest keeps its Ctrl-C
    assert cli.main(["index", "--watch", "--corpus", str(tmp_path)]) == 0
    assert said[0].startswith("0 documents, ")
    assert said[1].startswith(f"watching {tmp_path.resolve()} every ")
    assert "no documents" not in capsys.readouterr().err


def test_pdf_citations_print_their_page(tmp_path, capsys):
    from docmaker import make_pdf

    (tmp_path / "report.pdf").write_bytes(make_pdf(
        [["Harbour report", "", "The harbour opened in 1850."],
         ["The pier was rebuilt in 1902 by the county engineer."]]))
    assert cli.main(["ask", "When was the pier rebuilt?", "--corpus", str(tmp_path),
                     "--top-k", "1"]) == 0
    assert "— report.pdf, page 2, passage " in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--port", "99999"], "'99999' is not a port number; pass one from 1 to 65535"),
    (["--port", "-1"], "'-1' is not a port number; pass one from 1 to 65535"),
    (["--port", "0"], "'0' is not a port number; pass one from 1 to 65535"),
    (["--port", "http"], "'http' is not a port number; pass one from 1 to 65535"),
])
def test_serve_refuses_a_bad_port_before_anything_starts(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["serve", "--corpus", "/nonexistent/folder"] + argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port: " + message in err
    assert "Traceback" not in err


def test_port_problem_checks_the_range_itself():
    """The Python API too: getaddrinfo() would check 99999 as port 34463."""
    from askfiles.serve import port_problem

    for port in (99999, 65536, 0, -1):
        assert port_problem("127.0.0.1", port) == (
            f"port {port} is not a port number; pass --port with one from 1 to 65535")


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_serve_refuses_fewer_than_one_worker(workers, capsys):
    """0 and below once started one worker per CPU, silently; leaving --workers out does."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["serve", "--corpus", "/nonexistent/folder", "--port", "59999",
                  "--workers", workers])
    assert exc.value.code == 2
    assert (f"argument --workers: {workers!r} is not a number of worker processes; pass 1 "
            "or more, or leave --workers out for one per CPU") in capsys.readouterr().err


def test_serve_workers_default_to_one_per_cpu():
    import os

    from askfiles.serve import options

    assert cli.parser().parse_args(["serve"]).workers is None
    assert options("127.0.0.1", 8001, None)["workers"] == (os.cpu_count() or 1)
    assert options("127.0.0.1", 8001, 3)["workers"] == 3
    with pytest.raises(ValueError, match="pass 1 or more"):
        options("127.0.0.1", 8001, 0)


@pytest.mark.parametrize("argv, verbose", [
    (["-v", "ask", "q"], True),
    (["ask", "q", "-v"], True),
    (["ask", "--verbose", "q"], True),
    (["index", "-v"], True),
    (["serve", "--verbose"], True),
    (["eval", "q.jsonl", "-v"], True),
    (["ask", "q"], False),
])
def test_verbose_goes_before_or_after_the_command(argv, verbose):
    assert cli.parser().parse_args(argv).verbose is verbose


@pytest.mark.parametrize("argv, shown", [
    (["--help"], "Answers questions about a folder of documents (.txt, .md, .rst, .html, "
                 ".htm, .pdf or .docx files, or text files without an extension)"),
    (["serve", "--help"], "--host HOST address to listen on (default: 127.0.0.1"),
    (["serve", "--help"], "--port PORT TCP port (default: 8000)"),
])
def test_help_reads_as_plain_text(argv, shown, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())   # as wrapped for any terminal width
    assert shown in out
    assert "``" not in out


@pytest.mark.parametrize("address, message", [
    ("bogus", "--cluster 'bogus' is not a scheduler address; use tcp://HOST:PORT "
              "(e.g. tcp://10.0.0.5:8786) or local:N for N worker processes on this machine"),
    ("tcp://10.0.0.5", "--cluster 'tcp://10.0.0.5' is not a scheduler address; use "
                       "tcp://HOST:PORT"),
    ("tcp://10.0.0.5:99999", "is not a scheduler address; use tcp://HOST:PORT"),
    ("tcp://:8786", "is not a scheduler address; use tcp://HOST:PORT"),
    ("tls://10.0.0.5:8786", "is not a scheduler address; use tcp://HOST:PORT"),
    ("local:0", "--cluster 'local:0': local:N needs N >= 1 worker processes"),
])
def test_index_refuses_a_bad_cluster_address_at_once(address, message, corpus, capsys):
    """Dask took 'bogus', failed when it connected, then hung 60 s closing its client."""
    import time

    t0 = time.perf_counter()
    assert cli.main(["index", "--corpus", corpus, "--cluster", address]) == 2
    assert time.perf_counter() - t0 < 5
    err = capsys.readouterr().err
    assert err.startswith("askfiles: --cluster ")
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("address, parsed", [
    ("local:2", ("local", 2)),
    ("tcp://10.0.0.5:8786", ("remote", "tcp://10.0.0.5:8786")),
    ("10.0.0.5:8786", ("remote", "tcp://10.0.0.5:8786")),     # Dask's default scheme
    (" tcp://scheduler.example.org:8786 ", ("remote", "tcp://scheduler.example.org:8786")),
    ("tcp://[::1]:8786", ("remote", "tcp://[::1]:8786")),
])
def test_cluster_addresses_dask_can_reach_are_taken(address, parsed):
    from askfiles.cluster import parse_address

    assert parse_address(address) == parsed


def test_a_question_over_the_limit_is_refused_as_the_web_api_refuses_it(corpus, capsys,
                                                                       monkeypatch):
    monkeypatch.setenv("ASKFILES_MAX_QUESTION_CHARS", "40")
    long = "When was the lighthouse at Port Ellen built?"          # 44 characters
    assert cli.main(["ask", long, "--corpus", corpus]) == 2
    assert ("askfiles: the question has 44 characters; the limit is 40 (shorten it, or "
            "raise the max_question_chars setting)") in capsys.readouterr().err
    # On standard input: an error line in its place, the other questions answered.
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{long}\nWhen did the mill close?\n"))
    assert cli.main(["ask", "--corpus", corpus, "--top-k", "1"]) == 2
    first, second = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert first == {"error": {"code": "question_too_long", "message":
                               "the question has 44 characters; the limit is 40 (shorten "
                               "it, or raise the max_question_chars setting)"}}
    assert second["answers"][0]["answer"] == "1911"
