"""WordNet 3.0 look-ups: words of the same meaning, and what kind of thing a noun names.

The table (``model/wordnet.npz``, NumPy arrays built by
:mod:`askfiles.learn.wordnet_table`) is derived from Princeton WordNet 3.0;
its license is ``model/WORDNET-LICENSE``. It is read once, on first use (a
few milliseconds: nothing is unpacked into Python objects up front).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

TABLE = Path(__file__).parent / "model" / "wordnet.npz"
POS_CODES = "nvar"    # noun, verb, adjective, adverb: the table's part-of-speech codes
SENSES = 3            # a word's first senses only: rare senses make everything related
_lock = threading.Lock()
_arrays: dict[str, np.ndarray] | None = None


def _table() -> dict[str, np.ndarray]:
    global _arrays
    if _arrays is None:
        with _lock:
            if _arrays is None:
                with np.load(TABLE, allow_pickle=False) as z:
                    _arrays = {k: z[k] for k in z.files}
    return _arrays


def _id(word: str) -> int:
    """The table's id of a single word, -1 when WordNet does not have it."""
    t = _table()["words"]
    key = word.encode("utf-8", "replace")
    if not key or len(key) > t.dtype.itemsize:
        return -1
    i = int(np.searchsorted(t, key))
    return i if i < len(t) and t[i] == key else -1


def _row(name: str, i: int) -> list[int]:
    t = _table()
    ptr = t[name + "_ptr"]
    return t[name][ptr[i]:ptr[i + 1]].tolist()


def _words(ids) -> set[str]:
    words = _table()["words"]
    return {words[i].decode() for i in ids}


def _senses(word: str, pos: str | None = None) -> list[int]:
    i = _id(word)
    if i < 0:
        return []
    t = _table()
    out = t["senses"][t["sense_ptr"][i]:t["sense_ptr"][i + 1]].tolist()
    if pos is not None:
        code = POS_CODES.index(pos)
        out = [s for s in out if t["pos"][s] == code]
    return out


@lru_cache(maxsize=50_000)
def related(word: str) -> frozenset[str]:
    """Words sharing a meaning with ``word`` or derived from it: "buy" -> "purchase",
    "buyer"; "invent" -> "invention"."""
    # A verb's more general meanings ("buy" -> "acquire") and opposites were tried as
    # well: cross-validated F1 0.502 / 0.376 (SQuAD pool / NewsQA, mean of 3 seeds)
    # against 0.504 / 0.380 without them.
    ids: set[int] = set()
    for s in _senses(word):
        ids.update(_row("member", s))
        for d in _row("der", s):
            ids.update(_row("member", d))
    return frozenset(_words(ids) - {word})


@lru_cache(maxsize=200_000)
def _above(s: int) -> frozenset[int]:
    """Every meaning a meaning is a kind of, up to the top."""
    out: set[int] = set()
    for h in _row("hyp", s):
        out.add(h)
        out |= _above(h)
    return frozenset(out)


@lru_cache(maxsize=200_000)
def kinds(word: str) -> frozenset[str]:
    """Nouns naming a kind the noun ``word`` is of: "guitar" -> "instrument", "device", ..."""
    ids: set[int] = set()
    for s in _senses(word, "n"):
        for h in _above(s):
            ids.update(_row("member", h))
    return frozenset(_words(ids) - {word})
