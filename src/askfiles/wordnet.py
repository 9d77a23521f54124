"""WordNet 3.0 look-ups: words of the same meaning, and what kind of thing a noun names.

The table (``model/wordnet.npz``, NumPy arrays built by
:mod:`askfiles.learn.wordnet_table`) is derived from Princeton WordNet 3.0;
its license is ``model/WORDNET-LICENSE``. It is read once, on first use (about
0.07 s and 23 MB a process, most of it the word -> id dict).
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
_ids: dict[str, int] = {}
_views: dict[str, memoryview] = {}


def _table() -> dict[str, np.ndarray]:
    global _arrays
    if _arrays is None:
        with _lock:
            if _arrays is None:
                with np.load(TABLE, allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
                # word -> id as a dict (20 ms, 8 MB): a span's head is looked up for
                # every candidate, most of them words no question met before
                _ids.update((w.decode(), i) for i, w in enumerate(arrays["words"].tolist()))
                # memoryviews: one element or a short slice without NumPy's per-call cost
                _views.update((k, memoryview(v)) for k, v in arrays.items() if k != "words")
                _arrays = arrays
    return _arrays


def _id(word: str) -> int:
    """The table's id of a single word, -1 when WordNet does not have it."""
    _table()
    return _ids.get(word, -1)


def _row(name: str, i: int, ptr: str = "") -> list[int]:
    """Row ``i`` of one of the table's lists (``member``, ``der``, ``hyp``, ...), whose
    row starts are ``ptr`` (by default ``name + "_ptr"``); [] for ``i`` < 0."""
    if i < 0:
        return []
    _table()
    starts = _views[ptr or name + "_ptr"]
    return _views[name][starts[i]:starts[i + 1]].tolist()


def _words(ids) -> set[str]:
    words = _table()["words"]
    return {words[i].decode() for i in ids}


def _senses(word: str) -> list[int]:
    """The word's meanings: its first SENSES of each part of speech."""
    return _row("senses", _id(word), "sense_ptr")


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


def _above(word: str) -> list[int]:
    """Every meaning the noun ``word``'s first senses are kinds of, up to the top."""
    return _row("above", _id(word))


def kinds(word: str) -> frozenset[str]:
    """Nouns naming a kind the noun ``word`` is of: "guitar" -> "instrument", "device", ..."""
    ids: set[int] = set()
    for s in _above(word):
        ids.update(_row("member", s))
    return frozenset(_words(ids) - {word})


@lru_cache(maxsize=4096)
def _meanings(word: str) -> frozenset[int]:
    """Every meaning ``word`` is a member of (not only its first senses)."""
    i = _id(word)
    if i < 0:
        return frozenset()
    t = _table()
    at = np.flatnonzero(t["member"] == i)
    return frozenset((np.searchsorted(t["member_ptr"], at, side="right") - 1).tolist())


@lru_cache(maxsize=200_000)
def _above_set(word: str) -> frozenset[int]:
    """:func:`_above` as a set, kept: the same heads recur across questions."""
    return frozenset(_above(word))


def is_kind(word: str, kind: str) -> bool:
    """``kind in kinds(word)``, without spelling out every kind: asked for each
    candidate span (160 a question), at a million passages often of words no
    question met before."""
    return word != kind and not _meanings(kind).isdisjoint(_above_set(word))
