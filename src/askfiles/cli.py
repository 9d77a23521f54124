"""``askfiles index|ask|serve|eval``: the command line, over the same Engine as the web app."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Sequence

from .config import load_config
from .formats import READABLE_SAID, SUFFIXES_SAID
from .records import TOP_K_MAX, collapse


def _engine(args: argparse.Namespace, config: dict | None = None):
    from .engine import Engine

    return Engine.from_folder(args.corpus, config or _config(args))


def _config(args: argparse.Namespace) -> dict:
    overrides = {}
    if args.corpus:
        overrides["corpus"] = args.corpus
    if getattr(args, "config", None):
        overrides["config"] = args.config
    try:
        return load_config(overrides)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None


def _print_answer(result, explain: bool) -> None:
    if result.no_answer:
        print("No answer found in the corpus.")
        if result.answers:
            print("Closest candidates:")
    for i, a in enumerate(result.answers, 1):
        c = a.citation
        norm = f"  [{a.normalized}]" if a.normalized else ""
        print(f"{i}. {collapse(a.answer)}{norm}  ({a.answer_type}, confidence {a.score:.2f})")
        print(f"   “{collapse(a.snippet)}”")
        page = f"page {c.page}, " if c.page is not None else ""
        # Passages counted from 1 for people, as on the pages; --json keeps the 0-based field.
        print(f"   — {c.document}, {page}passage {c.passage + 1}, characters {c.start}–{c.end}")
        if explain and a.explain:
            print("   why: " + json.dumps(a.explain, ensure_ascii=False))


def _many(n: int, word: str) -> str:
    """"1 document", "2 documents"."""
    return f"{n} {word}{'s' if n != 1 else ''}"


def _usable(engine, args: argparse.Namespace):
    """The passages to search, or an error message (no documents, a pattern matching none)."""
    from .select import NoMatch, allowed_passages, check_patterns

    if not engine.documents:
        skipped = len(getattr(engine.corpus, "skipped", ()) or ())
        return None, (f"no documents to answer from in {engine.config['corpus']!r}"
                      + (f" ({skipped} file{'s' if skipped != 1 else ''} skipped; "
                         "askfiles index lists why)"
                         if skipped else f"; put {READABLE_SAID} in it"))
    if not getattr(args, "documents", None):      # eval has no --documents
        return None, None
    try:
        return allowed_passages(engine, check_patterns(args.documents)), None
    except (NoMatch, TypeError, ValueError) as exc:
        return None, str(exc).replace("GET /api/documents lists the ids",
                                      "the document ids are paths in the corpus folder")


def _too_long(question: str, limit: int) -> str | None:
    """What is wrong with a question over the ``max_question_chars`` limit, else None
    (the limit of the web API and the Python API too)."""
    if len(question) <= limit:
        return None
    return (f"the question has {len(question)} characters; the limit is {limit} "
            f"(shorten it, or raise the max_question_chars setting)")


def cmd_ask(args: argparse.Namespace) -> int:
    config = _config(args)
    question = args.question.strip() if args.question is not None else None
    # Refused before the corpus is read: nothing a long wait would change.
    problem = None
    if question == "":
        problem = ("the question is empty; ask something, e.g. askfiles ask \"When did "
                   "Cairncross confess?\"")
    elif question is not None:
        problem = _too_long(question, config["max_question_chars"])
    if problem:
        print(f"askfiles: {problem}", file=sys.stderr)
        return 2
    engine = _engine(args, config)
    allowed, problem = _usable(engine, args)
    if problem:
        print(f"askfiles: {problem}", file=sys.stderr)
        return 2
    if question is None:
        # One question per line on stdin, one JSON object per line out; engine loaded once.
        # The status as for one question: 1 when any went unanswered (a script can
        # tell), 2 when there was none to ask or one was refused (too long: its line
        # says so, as the web API's error body would, and the rest are answered).
        asked = unanswered = refused = 0
        limit = config["max_question_chars"]
        for line in sys.stdin:
            question = line.strip()
            if not question:
                continue
            problem = _too_long(question, limit)
            if problem:
                print(json.dumps({"error": {"code": "question_too_long", "message": problem}}),
                      flush=True)
                refused += 1
                continue
            result = engine.ask(question, args.top_k, args.explain, allowed)
            print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
            asked += 1
            unanswered += result.no_answer
        if not asked and not refused:
            print("askfiles: no question on standard input; give one a line, or ask "
                  "one: askfiles ask \"When did Cairncross confess?\"", file=sys.stderr)
            return 2
        return 2 if refused else 1 if unanswered else 0
    result = engine.ask(question, args.top_k, args.explain, allowed)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_answer(result, args.explain)
    return 1 if result.no_answer else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evalfile import read_questions
    from .evaluate import evaluate, table

    try:
        records = read_questions(args.questions)
    except (OSError, ValueError) as exc:
        print(f"askfiles eval: {exc}", file=sys.stderr)
        return 2
    engine = _engine(args)
    _, problem = _usable(engine, args)
    if problem:
        # As askfiles ask: scoring every question 0 would blame the answers, not the folder.
        print(f"askfiles eval: {problem}", file=sys.stderr)
        return 2
    tallies, rows = evaluate(records, lambda q: engine.ask(q, 1))
    if args.details:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    print(f"{_many(len(records), 'question')}, corpus {engine.config['corpus']} "
          f"({_many(len(engine.documents), 'document')}, "
          f"{_many(len(engine.passages), 'passage')})")
    print(table(tallies))
    return 0


class _ProgressLine:
    """One self-rewriting progress line on stderr: on a terminal, or once work is long."""

    LONG = 2.0   # seconds before progress is shown when stderr is not a terminal

    def __init__(self, stream=None):
        import time

        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self.clock = time.perf_counter
        self.shown = False
        self.last_plain = 0.0

    def __call__(self, event: dict) -> None:
        elapsed = self.clock() - self.t0
        if not self.tty and elapsed < self.LONG:
            return
        if event.get("phase") == "read":
            line = f"reading files {event['files']}/{event['total_files']}"
        else:
            done, total = event["passages"], event["total_passages"]
            pct = 100.0 * done / total if total else 100.0
            width = 24
            bar = "#" * int(width * done / total if total else width)
            line = (f"annotating [{bar:<{width}}] {done}/{total} passages ({pct:.0f}%), "
                    f"{event['rate']:.0f} passages/s, {event['processes']} process"
                    f"{'es' if event['processes'] > 1 else ''}")
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
        elif (elapsed - self.last_plain >= 5.0 or not self.shown
              or event.get("passages") == event.get("total_passages")):
            self.last_plain = elapsed
            self.stream.write(line + "\n")
        else:
            return
        self.shown = True
        self.stream.flush()

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def cmd_index(args: argparse.Namespace) -> int:
    from .store import open_corpus

    cfg = _config(args)
    if getattr(args, "cluster", None):
        from .cluster import parse_address

        try:
            parse_address(args.cluster)
        except ValueError as exc:
            raise RuntimeError(str(exc)) from None
        cfg["cluster"] = args.cluster
    if getattr(args, "watch", False):
        from .builder import run_builder

        return run_builder(cfg, say=lambda s: print(s, flush=True), progress=_ProgressLine)
    progress = _ProgressLine()
    try:
        built = open_corpus(cfg["corpus"], cfg, progress)
    finally:
        progress.close()
    print(built.report.summary())
    for s in built.skipped:
        print(f"skipped {s.path}: {s.reason}")
    if not built.documents:
        # As `askfiles ask` on the same folder: a corpus error (--watch waits for files).
        n = len(built.skipped)
        print(f"askfiles: no documents it can read in {cfg['corpus']!r}"
              + (f" ({n} file{'s' if n != 1 else ''} skipped, listed above)" if n else "")
              + f"; put {READABLE_SAID} in it", file=sys.stderr)
        return 2
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(_config(args), host=args.host, port=args.port, workers=args.workers,
                 read_only=args.read_only)


def _whole(text: str, low: int, high: int | None, problem: str) -> int:
    """An integer argument from ``low`` to ``high``; else argparse's error, ``problem``
    (argparse would print "invalid int value" or, past it, fail later with a traceback)."""
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or n < low or (high is not None and n > high):
        raise argparse.ArgumentTypeError(f"{text!r} is not {problem}")
    return n


def _port(text: str) -> int:
    """``--port``: a TCP port number a server can listen on."""
    return _whole(text, 1, 65535,
                  "a port number; pass one from 1 to 65535, e.g. --port 8001")


def _workers(text: str) -> int:
    """``--workers``: how many server processes, at least one."""
    # 0 and below once meant one per CPU, silently; leaving the option out says that.
    return _whole(text, 1, None,
                  f"a number of worker processes; pass 1 or more, or leave --workers out "
                  f"for one per CPU ({os.cpu_count() or 1} here)")


def _verbose_arg(p: argparse.ArgumentParser, default=False) -> None:
    """``-v``: INFO logging."""
    p.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="log progress and skips")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="askfiles",
        description=f"Answers questions about a folder of documents ({SUFFIXES_SAID} files, "
                    "or text files without an extension), citing the exact characters.",
        epilog="askfiles COMMAND --help shows the options of a command.")
    _verbose_arg(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           title="commands")

    def corpus_arg(sp):
        # -v after the command too; SUPPRESS: left out there, it keeps a -v given before.
        _verbose_arg(sp, argparse.SUPPRESS)
        sp.add_argument("--corpus", metavar="DIR",
                        help="corpus folder (default: $ASKFILES_CORPUS, else ./corpus)")
        sp.add_argument("--config", metavar="FILE",
                        help="settings file (default: askfiles.toml in the corpus folder; "
                             "ASKFILES_* variables win over it)")

    sp = sub.add_parser("ask", help="answer a question (or one per line from stdin)",
                        description="Exit status: 0 answered, 1 no answer, "
                                    "2 usage or corpus error.")
    sp.add_argument("question", nargs="?", help="the question; omit to read stdin")
    corpus_arg(sp)
    sp.add_argument("--top-k", type=int, default=3, choices=range(1, TOP_K_MAX + 1),
                    metavar="N", help=f"answers to show, 1..{TOP_K_MAX} (default 3)")
    sp.add_argument("--json", action="store_true", help="print the JSON answer record")
    sp.add_argument("--explain", action="store_true", help="show why each answer won")
    sp.add_argument("--documents", action="append", metavar="PATTERN",
                    help="search only these documents: an id or a glob over ids "
                         "('news/*.txt', 'reports/'); repeatable")
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="score answers against a JSONL file of questions")
    sp.add_argument("questions", help="JSONL with question and answers fields")
    corpus_arg(sp)
    sp.add_argument("--details", action="store_true", help="print one JSON row per question")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("index", help="build or refresh the saved index")
    corpus_arg(sp)
    sp.add_argument("--watch", action="store_true",
                    help="stay running as the single builder: publish a new index "
                         "whenever the corpus changes (serve --read-only replicas follow it)")
    sp.add_argument("--cluster", metavar="ADDRESS",
                    help="annotate new passages on a Dask cluster: a scheduler address "
                         "(tcp://host:8786) or local:N for N local worker processes "
                         "(needs askfiles[cluster])")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("serve", help="run the production web server (gunicorn)")
    corpus_arg(sp)
    sp.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only; "
                         "0.0.0.0 for every interface)")
    sp.add_argument("--port", type=_port, default=8000, help="TCP port (default: 8000)")
    sp.add_argument("--workers", type=_workers, metavar="N",
                    help="worker processes, 1 or more (default: number of CPUs)")
    sp.add_argument("--read-only", action="store_true",
                    help="a replica: never build or annotate; serve the index the builder "
                         "(askfiles index --watch) publishes and follow its new versions")
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"askfiles: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `askfiles ask ... | head -1`: the reader has gone; no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
