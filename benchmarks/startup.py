"""Start-up time through the saved index: cold build vs warm restart vs one edit.

Every measurement runs in a fresh Python process (a real restart) and times
``Engine.from_folder`` — load through ``askfiles.store``, split, annotate
what is new, save, build BM25 — without the spaCy load, which is timed on its
own (a warm restart does not load spaCy for indexing at all; the first
question loads it).

Corpora:

- ``seed``: the repository's ``corpus/`` (index in a scratch folder, so the
  project's own ``corpus/.askfiles`` is left alone);
- ``squad``: the 2,067 SQuAD v1.1 dev paragraphs, one ``.txt`` file per
  paragraph, made under ``--work`` from ``../shared/eval/dev-v1.1.json``.

Rows: ``cold`` (no saved index: every passage annotated, both cores above
1,000 passages), ``warm`` (unchanged corpus: nothing read or annotated),
``edit`` (one file changed: only its passages annotated).

    .venv/bin/python benchmarks/startup.py               # seed and squad
    .venv/bin/python benchmarks/startup.py --corpora seed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "eval" / "dev-v1.1.json"

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from askfiles import nlp
from askfiles.engine import Engine
t_import = time.perf_counter() - t0
folder, index_dir, load_spacy = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
t_spacy = 0.0
if load_spacy:                       # loaded before the clock, when annotation will need it
    t = time.perf_counter(); nlp.get_nlp(); t_spacy = time.perf_counter() - t
t = time.perf_counter()
engine = Engine.from_folder(folder, {"index_dir": index_dir, "poll_seconds": 0})
t_build = time.perf_counter() - t
r = engine.corpus.report
print(json.dumps({"import_s": t_import, "spacy_s": t_spacy, "startup_s": t_build,
                  "store_s": r.seconds, "documents": r.documents, "passages": r.passages,
                  "annotated": r.passages_annotated, "reused": r.passages_reused,
                  "files_read": r.files_read, "annotated_counter": nlp.ANNOTATED}))
"""


def run(folder: Path, index_dir: Path, load_spacy: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(index_dir),
                          "1" if load_spacy else "0"],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def squad_corpus(work: Path) -> Path:
    """One .txt per SQuAD v1.1 dev paragraph (made once)."""
    folder = work / "squad-dev-paragraphs"
    if folder.is_dir() and len(list(folder.iterdir())) >= 2067:
        return folder
    data = json.loads(SQUAD.read_text("utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for article in data["data"]:
        for i, para in enumerate(article["paragraphs"]):
            (folder / f"{article['title'][:80]}-{i:03d}.txt").write_text(
                para["context"], encoding="utf-8")
            n += 1
    print(f"made {n} paragraph files in {folder}", file=sys.stderr)
    return folder


def edit_one(folder: Path) -> None:
    path = sorted(p for p in folder.iterdir() if p.is_file())[0]
    path.write_text(path.read_text("utf-8") + f"\n\nEdited at {time.time():.0f}.\n",
                    encoding="utf-8")


def measure(name: str, folder: Path, work: Path, skip_cold: bool) -> list[dict]:
    index_dir = work / f"index-{name}"
    rows = []
    if not skip_cold:
        shutil.rmtree(index_dir, ignore_errors=True)
        rows.append({"corpus": name, "run": "cold", **run(folder, index_dir, True)})
    rows.append({"corpus": name, "run": "warm", **run(folder, index_dir, False)})
    rows.append({"corpus": name, "run": "warm again", **run(folder, index_dir, False)})
    copy = work / f"{name}-edited"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".*"))
    edit_dir = work / f"index-{name}-edited"
    shutil.rmtree(edit_dir, ignore_errors=True)
    shutil.copytree(index_dir, edit_dir)
    # A copied corpus has another path: point the copied manifest at it.
    manifest = json.loads((edit_dir / "manifest.json").read_text())
    manifest["corpus"] = str(copy.resolve())
    (edit_dir / "manifest.json").write_text(json.dumps(manifest))
    run(copy, edit_dir, False)         # settles fingerprints of the copied files
    edit_one(copy)
    rows.append({"corpus": name, "run": "one file edited", **run(copy, edit_dir, True)})
    return rows


def table(rows: list[dict]) -> str:
    head = ("| corpus | run | documents | passages | annotated | files read | "
            "start-up s (no spaCy) | of which store s | spaCy load s | import s |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['corpus']} | {r['run']} | {r['documents']} | {r['passages']} | "
                     f"{r['annotated']} | {r['files_read']} | {r['startup_s']:.2f} | "
                     f"{r['store_s']:.2f} | {r['spacy_s']:.2f} | {r['import_s']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", nargs="+", default=["seed", "squad"],
                    choices=["seed", "squad"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/askfiles-bench/startup"))
    ap.add_argument("--skip-cold", action="store_true",
                    help="reuse the indexes of an earlier run")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.corpora:
        folder = ROOT / "corpus" if name == "seed" else squad_corpus(args.work)
        rows += measure(name, folder, args.work, args.skip_cold)
        print(table(rows[-4:]), file=sys.stderr)
    print(f"\nstart-up through askfiles.store ({os.cpu_count()} CPUs), "
          "each row a fresh process\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
