"""Named features of candidate spans and of whole answers, as matrices for the learned models.

Pure: no spaCy, no LightGBM. A feature dict maps names to numbers, or, for the
names in :data:`CATEGORICAL`, to strings; a missing number is 0.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

# Span features (see extract.span_features and Engine.candidates).
CATEGORICAL = ("wh", "head_class", "head", "lab", "dep", "src", "prep", "gov_pos",
               "first_pos", "last_pos", "up_path", "wh_dep")
NUMERIC = (
    "n_tokens", "q_overlap", "sent_match", "sent_len", "rel_pos", "dist", "tree_dist",
    "type_match", "type_rank", "head_in_span", "head_is_gov", "is_q_entity", "left_in_q",
    "right_in_q", "gov_in_q", "prep_is_gap", "prep_in_q", "prep_and_head_in_q",
    "anchor_is_q_root", "gpe_region", "the_gpe", "has_num", "unit", "propn_share",
    # sentence and passage evidence, added by the engine
    "p_score", "p_bm25", "p_top", "p_rank", "p_qents", "p_years", "sent_rank", "sent_top",
    "q_ents_sent", "q_ents_resolved", "neighbour", "in_dateline", "doc_header",
    "doc_header_line", "about_doc", "n_expected_in_sent", "q_terms", "q_ents",
    "q_root_in_sent", "bigrams", "p_n", "sent_idx", "missing_idf", "missing_terms",
    "prev_match", "next_match", "unseen", "unseen_ents", "unseen_words",
    # windows around the span (extract._window_features)
    "win_l3", "win_r3", "win_l8", "win_r8", "match_left", "match_right",
    "repeats", "dep_agrees", "missing_idf2", "missing_idf_p", "neg_mismatch", "q_nums_sent",
    "is_country", "is_region", "child_in_q", "clause_child_in_q",
    # WordNet: question words found as relatives; the span names a kind of the head
    "syn_match", "missing_idf_syn", "head_kind",
)
# The sentence model's view of each span's sentence (see sentence_matrix), filled in
# after the span rows are built: its score against the best sentence's, its softmax
# share over the question's sentences, its rank.
STACKED = ("sent_model", "sent_share", "sent_model_rank")
NUMERIC = NUMERIC + STACKED
SPAN_FEATURES = CATEGORICAL + NUMERIC

# Sentence features: the wh-word, the sentence evidence every span of a sentence
# carries, and for some span features their best value and how many spans have it.
SENTENCE_CONTEXT = (
    "sent_match", "sent_len", "p_score", "p_bm25", "p_top", "p_rank", "p_qents", "p_years",
    "sent_rank", "q_ents_sent", "q_ents_resolved", "neighbour", "n_expected_in_sent",
    "q_terms", "q_ents", "q_root_in_sent", "bigrams", "p_n", "sent_idx", "missing_idf",
    "missing_terms", "prev_match", "next_match", "missing_idf2", "missing_idf_p",
    "neg_mismatch", "q_nums_sent", "in_dateline", "doc_header", "syn_match",
    "missing_idf_syn")
SENTENCE_SPANS = ("type_match", "win_l3", "win_r3", "win_l8", "win_r8", "dep_agrees",
                  "anchor_is_q_root", "prep_is_gap", "head_is_gov", "clause_child_in_q",
                  "child_in_q", "head_kind")
SENTENCE_FEATURES = (("wh",) + SENTENCE_CONTEXT
                     + tuple(f"{k}_{n}" for n in SENTENCE_SPANS for k in ("max", "n"))
                     + ("n_spans", "n_q_entities"))
SENTENCE_CATEGORICAL = ("wh",)

# The features a candidate takes from its sentence (and the question): worked out
# once per sentence and shared by its spans (see SpanRows), never set per span.
SENTENCE_KEYS = frozenset((
    "wh", "head_class", "head", "wh_dep", "q_terms", "q_ents", "unseen", "unseen_ents",
    "unseen_words", "about_doc", "q_ents_sent", "q_ents_resolved", "q_root_in_sent",
    "bigrams", "missing_idf", "missing_terms", "missing_idf2", "missing_idf_p",
    "neg_mismatch", "q_nums_sent", "next_match", "prev_match", "p_n", "sent_idx",
    "n_expected_in_sent", "neighbour", "doc_header", "p_score", "p_bm25", "p_rank", "p_top",
    "p_qents", "p_years", "sent_rank", "sent_top", "syn_match", "missing_idf_syn"))

# Answer-level features for the confidence model (see Engine._answers).
ANSWER_CATEGORICAL = ("wh", "head_class", "lab")
ANSWER_NUMERIC = (
    "score", "gap", "share", "n_candidates", "sent_match", "type_match", "unseen",
    "q_ents_sent", "q_ents_resolved", "p_qents", "bm25_raw", "q_terms", "q_ents",
    "n_tokens", "p_bm25", "second_share", "missing_idf", "missing_terms", "bigrams",
    "q_root_in_sent", "type_share", "rank", "unseen_ents",
    "missing_idf2", "missing_idf_p", "neg_mismatch", "q_nums_sent", "repeats",
    "win_l3", "win_r3", "sent_model", "sent_share", "syn_match", "missing_idf_syn",
)
ANSWER_FEATURES = ANSWER_CATEGORICAL + ANSWER_NUMERIC


class SpanRows(Sequence):
    """Candidate spans' features: each span's own dict and its sentence's, shared.

    Row ``i`` is ``spans[i]`` merged with ``sentences[sentence_of[i]]`` (whose
    keys are :data:`SENTENCE_KEYS`, which span dicts never hold) and, once the
    sentence model has run, its :data:`STACKED` values. Kept apart because a
    question has about 160 spans in 11 sentences: copying the sentence's 30-odd
    values into every span, and encoding them again per span, cost more than
    the models.
    """

    def __init__(self, spans: list[dict], sentences: list[dict], sentence_of: list[int]):
        self.spans = spans
        self.sentences = sentences
        self.sentence_of = sentence_of
        self.stacked: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        row = {**self.spans[i], **self.sentences[self.sentence_of[i]]}
        if self.stacked is not None:
            row.update(zip(STACKED, self.stacked[i].tolist()))
        return row

    def get(self, i: int, name: str, default=0.0):
        """One value of row ``i`` (without building the row)."""
        if name in SENTENCE_KEYS:
            return self.sentences[self.sentence_of[i]].get(name, default)
        if self.stacked is not None and name in STACKED:
            return float(self.stacked[i, STACKED.index(name)])
        return self.spans[i].get(name, default)

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, float | str]]) -> "SpanRows":
        """Rows built whole (tests, one-off callers), each split into its two parts."""
        own = [{k: v for k, v in r.items() if k not in SENTENCE_KEYS} for r in rows]
        shared = [{k: v for k, v in r.items() if k in SENTENCE_KEYS} for r in rows]
        return cls(own, shared, list(range(len(rows))))


class Encoder:
    """Feature dicts -> a float matrix in a fixed column order (built once per model)."""

    def __init__(self, names: Sequence[str], vocab: Mapping[str, Sequence[str]]):
        self.names = list(names)
        self.vocab = vocab
        self._split: tuple | None = None
        self.col = {n: j for j, n in enumerate(self.names)}
        self.codes = {n: {v: float(i) for i, v in enumerate(vocab.get(n, ()))} for n in vocab}
        # Every column at 0.0, in column order: a row is this updated with its features.
        self._zeros = dict.fromkeys(self.names, 0.0)
        self._coded = [(j, self.codes[n]) for j, n in enumerate(self.names) if n in self.codes]

    def matrix(self, rows: Sequence[Mapping[str, float | str]]) -> np.ndarray:
        """Rows as a matrix; a categorical value becomes its index in the vocabulary
        (NaN when unseen in training, which LightGBM treats as missing)."""
        width = len(self.names)
        if not rows:
            return np.zeros((0, width), dtype=np.float64)
        zeros, coded, nan = self._zeros, self._coded, np.nan
        values = []
        for f in rows:
            # The named columns keep their place; keys that are not columns go last.
            v = list({**zeros, **f}.values())
            if len(v) > width:
                del v[width:]
            for j, table in coded:
                x = v[j]
                if x.__class__ is str:
                    v[j] = table.get(x, nan)
            values.append(v)
        out = np.array(values)
        if out.dtype.kind not in "biuf":
            # A string left in a column without a vocabulary (or an odd value): the
            # general way, where such a string is NaN.
            return self._matrix(rows)
        return out.astype(np.float64, copy=False)

    def rows_matrix(self, rows: SpanRows) -> np.ndarray:
        """:meth:`matrix` of ``rows``' merged rows, each sentence's part encoded once."""
        if self._split is None:
            own = [j for j, n in enumerate(self.names) if n not in SENTENCE_KEYS]
            shared = [j for j, n in enumerate(self.names) if n in SENTENCE_KEYS]
            self._split = (own, Encoder([self.names[j] for j in own], self.vocab),
                           shared, Encoder([self.names[j] for j in shared], self.vocab))
        own, own_enc, shared, shared_enc = self._split
        out = np.empty((len(rows), len(self.names)), dtype=np.float64)
        if not len(rows):
            return out
        out[:, own] = own_enc.matrix(rows.spans)
        out[:, shared] = shared_enc.matrix(rows.sentences)[rows.sentence_of]
        if rows.stacked is not None:
            for k, name in enumerate(STACKED):
                j = self.col.get(name)
                if j is not None:
                    out[:, j] = rows.stacked[:, k]
        return out

    def _matrix(self, rows: Sequence[Mapping[str, float | str]]) -> np.ndarray:
        """:meth:`matrix` one cell at a time (any value types)."""
        out = np.zeros((len(rows), len(self.names)), dtype=np.float64)
        col, codes, nan = self.col, self.codes, np.nan
        for r, f in enumerate(rows):
            row = out[r]
            for k, v in f.items():
                j = col.get(k)
                if j is None:
                    continue
                if v.__class__ is str:
                    table = codes.get(k)
                    row[j] = table.get(v, nan) if table is not None else nan
                else:
                    row[j] = v
        return out


def sentence_matrix(x: np.ndarray, col: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each span row's sentence (0..n-1), and one row of :data:`SENTENCE_FEATURES` per sentence.

    ``x`` holds span rows (``col``: name -> column); the spans of one sentence
    share its ``sent_rank``.
    """
    # Sorted by sentence (stable: a sentence's first row stays first), each sentence's
    # rows are one run, reduced at its start.
    order = np.argsort(x[:, col["sent_rank"]], kind="stable")
    xs = x[order]
    _, starts = np.unique(xs[:, col["sent_rank"]], return_index=True)
    sizes = np.diff(np.append(starts, len(x)))
    sid = np.empty(len(x), dtype=np.intp)
    sid[order] = np.repeat(np.arange(len(starts)), sizes)
    head = xs[starts]
    spans = xs[:, [col[c] for c in SENTENCE_SPANS]]
    paired = np.empty((len(starts), 2 * len(SENTENCE_SPANS)))
    paired[:, 0::2] = np.maximum.reduceat(spans, starts, axis=0)
    paired[:, 1::2] = np.add.reduceat((spans > 0).astype(np.float64), starts, axis=0)
    extra = np.column_stack([sizes, np.add.reduceat(xs[:, col["is_q_entity"]], starts)])
    out = np.hstack([head[:, [col["wh"]]], head[:, [col[c] for c in SENTENCE_CONTEXT]],
                     paired, extra])
    return sid, out


def fill_stacked(x: np.ndarray, col: Mapping[str, int], sid: np.ndarray,
                 scores: np.ndarray) -> None:
    """Write the sentence model's ``scores`` (one per sentence) into the span rows' STACKED columns."""
    top = scores.max()
    e = np.exp(scores - top)
    rank = np.argsort(np.argsort(-scores, kind="stable"), kind="stable")
    x[:, col["sent_model"]] = (scores - top)[sid]
    x[:, col["sent_share"]] = (e / e.sum())[sid]
    x[:, col["sent_model_rank"]] = rank[sid]


def ranked_rows(x: np.ndarray, col: Mapping[str, int], k: int | None) -> np.ndarray:
    """Which span rows the span ranker scores: those of the sentence model's best ``k``
    sentences, and a document's opening lines (all rows when ``k`` is None).

    The sentence columns (:func:`fill_stacked`) must be filled in already.
    """
    if k is None:
        return np.arange(len(x))
    keep = (x[:, col["sent_model_rank"]] < k) | (x[:, col["doc_header"]] > 0)
    return np.flatnonzero(keep)


def ranked_part(x: np.ndarray, col: Mapping[str, int], k: int | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ranked_rows` and those rows of ``x`` (``x`` itself, no copy, when all are ranked)."""
    keep = ranked_rows(x, col, k)
    return keep, (x if len(keep) == len(x) else x[keep])


def spread_scores(x: np.ndarray, col: Mapping[str, int], rows: np.ndarray,
                  scores: np.ndarray) -> np.ndarray:
    """Ranker ``scores`` of ``rows`` as a score for every row of ``x``.

    A row the ranker did not score comes after every scored one, its
    sentence's place in the sentence model's order deciding among them.
    """
    if len(rows) == len(x):
        return np.asarray(scores, dtype=np.float64)
    floor = float(np.min(scores)) if len(scores) else 0.0
    out = floor - 1.0 - x[:, col["sent_model_rank"]].astype(np.float64)
    out[rows] = scores
    return out


def cascade_scores(predict, x: np.ndarray, first: int, rows: int) -> np.ndarray:
    """Scores of an additive tree model over ``x``: every row by its first ``first`` trees,
    the ``rows`` best of those by all of them.

    ``predict(x, start, count)`` sums trees ``start .. start + count`` (``count``
    None: to the last). The rows the rest of the trees never see get their
    partial score plus the lowest remainder any full row got, which puts none
    of them above a fully scored row, so the best of the fully scored rows is
    the best overall. With ``first`` 0 or no more than ``rows`` rows, every
    row is scored in full.
    """
    if first <= 0 or len(x) <= rows:
        return np.asarray(predict(x, 0, None), dtype=np.float64)
    part = np.asarray(predict(x, 0, first), dtype=np.float64)
    top = np.sort(np.argsort(-part, kind="stable")[:rows])
    rest = np.asarray(predict(x[top], first, None), dtype=np.float64)
    out = part + rest.min()
    out[top] = part[top] + rest
    return out


def matrix(rows: Sequence[Mapping[str, float | str]], names: Sequence[str],
           vocab: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Rows of feature dicts as a float matrix in ``names`` order (see :class:`Encoder`)."""
    return Encoder(names, vocab).matrix(rows)
