"""Candidate answer spans inside the best sentences, with the evidence for each.

Works on stored :class:`Annotation` records only: no spaCy here, so nothing
is parsed at question time except the question itself.
"""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Iterator

from .index import STOPWORDS, stem
from . import wordnet
from .places import place_kind
from .records import Annotation, Question

MAX_SPAN_TOKENS = 10
CONTENT_POS = frozenset(("NOUN", "PROPN", "NUM", "ADJ", "VERB", "ADV", "X", "SYM"))
SPAN_ROOT_POS = frozenset(("NOUN", "PROPN", "NUM", "ADJ"))
EDGE_SKIP_POS = frozenset(("PUNCT", "CCONJ", "ADP", "PART", "SPACE"))
DETERMINERS = frozenset(("the", "a", "an"))


@dataclass(frozen=True)
class SentenceMatch:
    """One sentence and how well it matches the question's terms."""

    passage: int
    sent: tuple[int, int]
    match: float          # idf-weighted share of the question's terms found
    matched: tuple[int, ...]  # token positions whose term is in the question


def token_terms(ann: Annotation, text: str) -> list[str]:
    """The index term of every token ('' for stopwords and punctuation)."""
    return [_term_of(text[s:e].lower()) for s, e in zip(ann.starts, ann.ends)]


@lru_cache(maxsize=200_000)
def _term_of(word: str) -> str:
    """One lower-cased token's index term: cached, since at a million passages nearly
    every question reads passages none read before, and words repeat."""
    return "" if word in STOPWORDS or not any(c.isalnum() for c in word) else stem(word)


def match_sentences(q: Question, passage: int, ann: Annotation, toks: list[str],
                    idf: dict[str, float]) -> Iterator[SentenceMatch]:
    """Every sentence of a passage, scored by the question terms it holds."""
    total = sum(idf.values()) or 1.0
    for a, b in ann.sents:
        matched = tuple(i for i in range(a, b) if toks[i] in idf)
        found = {toks[i] for i in matched}
        # fsum: a set's order follows the interpreter's string hashing, and a plain
        # sum of three or more floats depends on it (two sentences holding the same
        # terms would then rank by chance, differently in each process).
        yield SentenceMatch(passage, (a, b), math.fsum([idf[t] for t in found]) / total,
                            matched)


def tree_distances(ann: Annotation, sent: tuple[int, int], sources: tuple[int, ...],
                   cap: int = 6, kids: dict[int, tuple[int, ...]] | None = None
                   ) -> dict[int, int]:
    """Edges in the parse tree from each token of the sentence to the nearest source token.

    ``kids``: the sentence's :func:`children`, when already worked out.
    """
    a, b = sent
    if kids is None:
        kids = children(ann, sent)
    dist = {i: 0 for i in sources if a <= i < b}
    frontier = list(dist)
    for d in range(1, cap + 1):
        nxt = []
        for i in frontier:
            h = ann.heads[i]
            up = (h,) if h != i and a <= h < b else ()
            for j in up + kids.get(i, ()):
                if j not in dist:
                    dist[j] = d
                    nxt.append(j)
        frontier = nxt
    return dist


def children(ann: Annotation, sent: tuple[int, int]) -> dict[int, tuple[int, ...]]:
    """Each token's dependents inside the sentence."""
    a, b = sent
    out: dict[int, list[int]] = {}
    for i in range(a, b):
        h = ann.heads[i]
        if h != i and a <= h < b:
            out.setdefault(h, []).append(i)
    return {h: tuple(v) for h, v in out.items()}


def _subtree_bounds(ann: Annotation, a: int, b: int) -> tuple[list[int], list[int]]:
    """Left and right edge of the subtree of each token of the sentence [a, b): token
    ``i``'s at ``[i - a]``."""
    heads = ann.heads
    left = list(range(a, b))
    right = list(range(a, b))
    # Walk each token up to the sentence root, widening its ancestors' bounds.
    for i in range(a, b):
        j, steps = i, 0
        h = heads[j]
        while h != j and a <= h < b and steps < 50:
            j = h
            if i < left[j - a]:
                left[j - a] = i
            if i > right[j - a]:
                right[j - a] = i
            steps += 1
            h = heads[j]
    return left, right


def _trim(ann: Annotation, a: int, b: int) -> tuple[int, int]:
    """Drop punctuation, conjunctions and prepositions from the span's edges."""
    while a < b and ann.pos[a] in EDGE_SKIP_POS:
        a += 1
    while b > a and ann.pos[b - 1] in EDGE_SKIP_POS:
        b -= 1
    return a, b


def span_root(ann: Annotation, a: int, b: int) -> int:
    """The token of [a, b) whose head lies outside it (the span's syntactic head)."""
    for i in range(a, b):
        h = ann.heads[i]
        if h == i or not a <= h < b:
            return i
    return a


# Not frozen: a frozen dataclass sets each of its 17 fields through object.__setattr__,
# and at a million passages a question builds ~140 new spans (candidate spans 0.90 ->
# 0.74 ms a question, the same spans). Shared through the engine's cache: never changed
# once made.
@dataclass(slots=True)
class Span:
    """A candidate span and what is known of it before any question is asked."""

    span: tuple[int, int]
    source: str            # "ent", "chunk" or "word"
    label: str             # entity label, or ""
    lab: str               # entity label, or "NP:" + the POS of its head
    root: int              # the span's syntactic head
    gov: int               # the word the span hangs on
    dep: str
    content: tuple[int, ...]  # positions of its content words
    surface: str           # lower-cased text
    length: str            # length bucket
    has_num: bool
    prep: str              # the preposition it is the object of, or ""
    gpe_region: bool       # "Cleveland, Ohio": a place followed by its region
    the_gpe: bool          # "the Soviet Union", "the US": countries take "the", towns rarely
    unit: bool = False     # a number with the unit it counts: "3700 kB", "15 years"
    place: str = ""        # "country" or "region" (state, province) by name, else ""
    # Its features that no question changes (see fixed_features), worked out once
    # with the span and copied into every question's feature dict.
    fixed: dict = field(default_factory=dict, compare=False, repr=False)


CLAUSE_DEPS = frozenset(("advcl", "ccomp", "xcomp", "relcl", "pcomp", "acl", "conj", "pobj"))
MAX_CLAUSE_TOKENS = 24


def candidate_spans(ann: Annotation, text: str, sent: tuple[int, int]) -> list[Span]:
    """Spans worth considering in a sentence (question-independent, so cacheable)."""
    a, b = sent
    pos, heads, lemmas, deps = ann.pos, ann.heads, ann.lemmas, ann.deps
    starts, ends = ann.starts, ann.ends
    found: dict[tuple[int, int], tuple[str, str]] = {}
    for s, e, label in ann.ents:
        if a <= s and e <= b:
            found[(s, e)] = ("ent", label)
    left, right = _subtree_bounds(ann, a, b)
    roots = [i for i in range(a, b) if pos[i] in SPAN_ROOT_POS]
    spans = [(s, e) for s, e in ann.chunks if a <= s and e <= b]
    spans += [(left[i - a], right[i - a] + 1) for i in roots]
    spans += [(i, i + 1) for i in roots]
    for s, e in spans:
        s, e = _trim(ann, s, e)
        if 0 < e - s <= MAX_SPAN_TOKENS and (s, e) not in found:
            found[(s, e)] = ("chunk" if e - s > 1 else "word", "")
        if e - s > 1 and text[starts[s]:ends[s]].lower() in DETERMINERS:
            if (s + 1, e) not in found:
                found[(s + 1, e)] = ("chunk", "")
    units: set[tuple[int, int]] = set()
    for i in range(a, b - 1):
        # "3700 kB", "15 years": a number and the noun it counts, kept together.
        if pos[i] == "NUM" and heads[i] == i + 1 and pos[i + 1] in ("NOUN", "PROPN"):
            s = i
            while s - 1 >= a and pos[s - 1] in ("NUM", "SYM") or (
                    s - 1 >= a and lemmas[s - 1] in ("about", "around", "approximately",
                                                     "nearly", "over", "some", "almost")):
                s -= 1
            units.add((s, i + 2))
            if (s, i + 2) not in found:
                found[(s, i + 2)] = ("unit", "")
    for i in range(a, b):
        # Clauses answer why / how / what-happened questions: "because he was ...".
        if pos[i] in ("VERB", "AUX") and deps[i] in CLAUSE_DEPS:
            s, e = _trim(ann, left[i - a], right[i - a] + 1)
            if lemmas[s] in ("because", "since", "as", "so", "to", "by") and e - s > 2:
                s_inner = s + 1 if lemmas[s] != "to" else s
                if (s_inner, e) not in found and e - s_inner <= MAX_CLAUSE_TOKENS:
                    found[(s_inner, e)] = ("clause", "")
            if MAX_SPAN_TOKENS < e - s <= MAX_CLAUSE_TOKENS and (s, e) not in found:
                found[(s, e)] = ("clause", "")
        if lemmas[i] in ("because", "since") and deps[i] in ("mark", "prep"):
            h = heads[i]
            if a <= h < b:
                s, e = _trim(ann, i + 1, right[h - a] + 1)
                if 0 < e - s <= MAX_CLAUSE_TOKENS and (s, e) not in found:
                    found[(s, e)] = ("clause", "")
    ent_starts = {s: label for s, _, label in ann.ents}
    ent_spans = {(s, e): label for s, e, label in ann.ents}
    content_of = [i if pos[i] in CONTENT_POS else -1 for i in range(a, b)]
    out = []
    for (s, e), (source, label) in found.items():
        if not label and _place_with_region(ann, text, ent_spans, s, e):
            label = "GPE"  # "Cleveland, Ohio" is a place as much as "Cleveland" is
        content = tuple([i for i in content_of[s - a:e - a] if i >= 0])
        if not content:
            continue
        root = span_root(ann, s, e)
        gov = heads[root]
        surface = text[starts[s]:ends[e - 1]].lower()
        out.append(with_fixed(ann, sent, Span(
            span=(s, e), source=source, label=label,
            lab=label or ("NP:" + pos[root]), root=root, gov=gov, dep=deps[root],
            content=content, surface=surface,
            length=_len_bucket(e - s),
            has_num="NUM" in pos[s:e],
            prep=lemmas[gov] if gov != root and pos[gov] == "ADP" else "",
            gpe_region=(label == "GPE" and e + 1 < b and text[starts[e]:ends[e]] == ","
                        and ent_starts.get(e + 1) == "GPE"),
            the_gpe=(label == "GPE" and any(
                a <= i < e and text[starts[i]:ends[i]].lower() == "the"
                for i in (s - 1, s))),
            unit=(s, e) in units,
            place=place_kind(surface) if e - s <= 5 else "",
        )))
    return out


def with_fixed(ann: Annotation, sent: tuple[int, int], c: Span) -> Span:
    """``c`` with its question-independent features (:attr:`Span.fixed`) filled in."""
    (s, e), (a, b), root, gov = c.span, sent, c.root, c.gov
    f: dict[str, float | str] = {
        "lab": c.lab, "dep": c.dep, "src": c.source, "prep": c.prep or "-",
        "gov_pos": ann.pos[gov] if gov != root else "-",
        "n_tokens": float(e - s), "sent_len": float(b - a), "rel_pos": (s - a) / max(b - a, 1),
        "first_pos": ann.pos[s], "last_pos": ann.pos[e - 1],
    }
    if c.gpe_region:
        f["gpe_region"] = 1.0
    if c.the_gpe:
        f["the_gpe"] = 1.0
    if c.has_num:
        f["has_num"] = 1.0
    caps = ann.pos[s:e].count("PROPN")
    if caps:
        f["propn_share"] = caps / (e - s)
    if c.unit:
        f["unit"] = 1.0
    if c.place:
        f["is_" + c.place] = 1.0
    c.fixed.update(f)
    return c


def _place_with_region(ann: Annotation, text: str, ent_spans: dict, s: int, e: int) -> bool:
    """True for a span that is exactly "<place>, <place>" ("Cleveland, Ohio")."""
    for k in range(s + 1, e - 1):
        if text[ann.starts[k]:ann.ends[k]] == ",":
            return ent_spans.get((s, k)) == "GPE" and ent_spans.get((k + 1, e)) == "GPE"
    return False


def _len_bucket(n: int) -> str:
    return str(n) if n <= 4 else ("5-7" if n <= 7 else "8+")


@lru_cache(maxsize=4096)
def head_class(head: str) -> str:
    """The kind of answer a head noun names ("year" -> "DATE"), else "other"."""
    from .question import _HEAD_INDEX

    if not head:
        return "none"
    types = _HEAD_INDEX.get(head)
    return types[0] if types else "other"


CLAUSE_WH = frozenset(("why", "how", "what", "none"))


def span_features(q: Question, ann: Annotation, toks: list[str], sm: SentenceMatch,
                  c: Span, q_lemmas: frozenset[str], q_ents: frozenset[str],
                  tdist: dict[int, int] | None = None,
                  idf: dict[str, float] | None = None,
                  kids: dict[int, tuple[int, ...]] | None = None
                  ) -> dict[str, float | str] | None:
    """Evidence that a span answers the question; None when it only repeats the question.

    Numbers are numeric features; strings (``lab``, ``dep``, ...) are
    categorical (see :mod:`askfiles.features`). The question's own (``wh``,
    ``head``, ...) are in :func:`question_features`, shared by every span.
    """
    s, e = c.span
    wh = q.wh or "none"
    if c.source == "clause" and wh not in CLAUSE_WH:
        return None
    terms = idf if idf is not None else q.terms  # idf's keys: the question's terms
    in_q = 0
    for i in c.content:
        if toks[i] and (toks[i] in terms or ann.lemmas[i] in q_lemmas):
            in_q += 1
    if in_q == len(c.content):
        return None
    root, gov = c.root, c.gov
    dist = None
    for i in sm.matched:
        if i < s:
            d = s - i
        elif i >= e:
            d = i - e + 1
        else:
            continue
        if dist is None or d < dist:
            dist = d
    a, b = sm.sent
    f: dict[str, float | str] = dict(c.fixed)
    f["q_overlap"] = in_q / len(c.content)
    f["sent_match"] = sm.match
    f["dist"] = math.log1p(dist) if dist is not None else -1.0
    if tdist is not None:
        # Parse-tree distance: "confessed on 16 February 1964 in Cleveland" is five
        # words but two edges (Cleveland <- in <- confessed) from the question's verb.
        d = tdist.get(root)
        f["tree_dist"] = float(d) if d is not None else 7.0
    if q.expected:
        if c.label in q.expected:
            f["type_match"] = 1.0
            f["type_rank"] = float(q.expected.index(c.label))
        elif c.label:
            f["type_match"] = -1.0
    if q.head and any(ann.lemmas[i] == q.head for i in range(s, e)):
        f["head_in_span"] = 1.0
    elif q.head and wordnet.is_kind(ann.lemmas[root], q.head):
        # "What instrument ...?" of "a guitar": WordNet says a guitar is an instrument.
        f["head_kind"] = 1.0
    if q.head and (ann.lemmas[gov] == q.head or (
            ann.heads[gov] != gov and ann.lemmas[ann.heads[gov]] == q.head)):
        f["head_is_gov"] = 1.0
    if c.surface in q_ents:
        f["is_q_entity"] = 1.0
    if s > a and toks[s - 1] and toks[s - 1] in terms:
        f["left_in_q"] = 1.0
    if e < b and toks[e] and toks[e] in terms:
        f["right_in_q"] = 1.0
    if gov != root and (toks[gov] in terms or ann.lemmas[gov] in q_lemmas):
        f["gov_in_q"] = 1.0
    if c.prep:
        # "work as [a translator]", "confessed in [Cleveland]": the preposition and
        # the word it hangs on, echoed by the question, point at the answer.
        if c.prep == q.gap_prep:
            f["prep_is_gap"] = 1.0
        if c.prep in q_lemmas:
            f["prep_in_q"] = 1.0
            up = ann.heads[gov]
            if up != gov and (toks[up] in terms or ann.lemmas[up] in q_lemmas):
                f["prep_and_head_in_q"] = 1.0
    anchor = ann.heads[gov] if c.prep else gov
    if q.root and anchor != root and ann.lemmas[anchor] == q.root:
        # The span hangs (maybe through a preposition) on the question's own verb.
        f["anchor_is_q_root"] = 1.0
    if q.wh_dep and c.dep == q.wh_dep:
        f["dep_agrees"] = 1.0
    if idf:
        _window_features(f, sm, toks, s, e, idf)
    f["up_path"] = _up_path(ann, toks, terms, q_lemmas, root, a, b)
    if kids:
        # "James Klugmann, who later recruited him": the question's words modify the span.
        for j in kids.get(root, ()):
            if not s <= j < e and toks[j] and (toks[j] in terms or ann.lemmas[j] in q_lemmas):
                f["child_in_q"] = f.get("child_in_q", 0.0) + 1.0
                if ann.deps[j] in ("relcl", "acl", "appos"):
                    f["clause_child_in_q"] = 1.0
    # Naming ("a man called X"), appositive and definition ("X is a ...") cues were
    # tried as features and dropped: cross-validated F1 was 0.4 (SQuAD) and 0.9
    # (NewsQA) points higher without them.
    return f


def question_features(q: Question) -> dict[str, str]:
    """The question's categorical features, the same for each of its spans."""
    return {"wh": q.wh or "none", "head_class": head_class(q.head), "head": q.head or "-",
            "wh_dep": q.wh_dep or "-"}


def _window_features(f: dict, sm: SentenceMatch, toks: list[str], s: int, e: int,
                     idf: dict[str, float]) -> None:
    """Idf-weighted share of the question's terms close left and right of the span.

    The SQuAD paper's strongest lexical evidence: the answer sits beside the
    words the question repeats ("confessed [in 1964]"). Windows of 3 and 8
    tokens; each distinct term counts once (summed with fsum, in no order).
    """
    total = sum(idf.values()) or 1.0
    l3: set = set()
    l8: set = set()
    r3: set = set()
    r8: set = set()
    n_left = n_right = 0
    for i in sm.matched:
        if i < s:
            n_left += 1
            d = s - i
            if d <= 8:
                l8.add(toks[i])
                if d <= 3:
                    l3.add(toks[i])
        elif i >= e:
            n_right += 1
            d = i - e
            if d < 8:
                r8.add(toks[i])
                if d < 3:
                    r3.add(toks[i])
    f["win_l3"] = math.fsum([idf[t] for t in l3]) / total if l3 else 0.0
    f["win_r3"] = math.fsum([idf[t] for t in r3]) / total if r3 else 0.0
    f["win_l8"] = math.fsum([idf[t] for t in l8]) / total if l8 else 0.0
    f["win_r8"] = math.fsum([idf[t] for t in r8]) / total if r8 else 0.0
    f["match_left"] = float(n_left)
    f["match_right"] = float(n_right)


def _up_path(ann: Annotation, toks: list[str], terms, q_lemmas, root: int, a: int,
             b: int, steps: int = 3) -> str:
    """Dependency labels from the span's head up to the first word the question shares.

    "confessed in [Cleveland]" -> "pobj/prep": how the answer hangs on the
    question's words, in the parse's own terms; "-" when none is near.
    """
    j, path = root, []
    for _ in range(steps):
        h = ann.heads[j]
        if h == j or not a <= h < b:
            break
        path.append(ann.deps[j])
        j = h
        if toks[j] and (toks[j] in terms or ann.lemmas[j] in q_lemmas):
            return "/".join(path)
    return "-"


PRONOUNS = frozenset(("he", "she", "him", "her", "his", "hers", "they", "them", "their",
                      "it", "its"))
NAME_LABELS = frozenset(("PERSON", "ORG", "NORP", "GPE"))
DASHES = frozenset(("--", "—", "–", "-"))


def resolved_entities(ann: Annotation, text: str, sent: tuple[int, int]) -> list[str]:
    """Names the sentence's pronouns most likely stand for: the last ones named before them.

    "Cairncross was recruited in 1937. He confessed in 1964." -> the second
    sentence's "He" stands for "cairncross". Lower-cased; [] without pronouns.
    """
    a, b = sent
    first = next((i for i in range(a, b)
                  if ann.pos[i] == "PRON" and text[ann.starts[i]:ann.ends[i]].lower() in PRONOUNS),
                 None)
    if first is None:
        return []
    out = []
    for s, e, label in reversed(ann.ents):
        if e <= first and label in NAME_LABELS:
            out.append(text[ann.starts[s]:ann.ends[e - 1]].lower())
            if len(out) >= 2:
                break
    return out


def dateline_end(ann: Annotation, text: str, max_tokens: int = 12) -> int:
    """End token of a news dateline or source tag at the very start of a text, else 0.

    "WASHINGTON (CNN) -- There are ...", "LONDON, England (Reuters) —": place
    and source, then a dash. Such words answer questions about the document
    (where it was filed, who published it), not about what it reports.
    """
    n = min(len(ann), max_tokens)
    for i in range(n):
        word = text[ann.starts[i]:ann.ends[i]]
        if word in DASHES and i > 0:
            head = text[:ann.starts[i]]
            if "\n" in head.strip():
                return 0
            caps = [w for w in head.replace("(", " ").replace(")", " ").replace(",", " ").split()
                    if len(w) > 1 and w.isupper()]
            return i + 1 if caps else 0
    return 0
