"""Merging segments under a tiered size policy, published by an atomic manifest swap.

Small segments pile up, one per update; each costs a little at every query. Segments
of about the same size (the same power of :data:`FACTOR` live passages) are merged
once there are more than :data:`FACTOR` of them, and a segment more than
:data:`DELETED_SHARE` of whose passages are deleted is rewritten without them.
Segments of :data:`~.derive.SEGMENT_PASSAGES` / 2 live passages or more are not
merged with others (a merge holds its result in memory), only rewritten.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from . import derive
from .layout import publish, write_state
from .segments import Rows, Segment, load_segment, write_segment
from .view import View

log = logging.getLogger("askfiles.store")

FACTOR = 8
DELETED_SHARE = 0.3


def plan(view: View) -> list[list[int]]:
    """Groups of segment numbers to merge (a group of one: rewritten without its deletions)."""
    tiers: dict[int, list[int]] = {}
    groups = []
    for k, seg in enumerate(view.segments):
        n = view.live_rows(k)
        if len(seg) and (len(seg) - n) > DELETED_SHARE * len(seg):
            groups.append([k])
        elif n < derive.SEGMENT_PASSAGES // 2:
            tiers.setdefault(int(math.log(max(n, 1), FACTOR)), []).append(k)
    done = {k for g in groups for k in g}
    for tier in sorted(tiers):
        ks = [k for k in tiers[tier] if k not in done]
        if len(ks) > FACTOR:
            groups.append(ks)
    return groups


def merged(view: View, group: list[int]) -> tuple[list[dict[str, Any]], list[str],
                                                   dict[str, np.ndarray], np.ndarray]:
    """The group's live documents as one segment: (documents, texts, arrays, live positions)."""
    at = np.flatnonzero(np.isin(view.live[:, 0], group))
    docs, texts, seg_of, row_of, rows = [], [], [], [], []
    for j, (k, d) in enumerate(view.live[at].tolist()):
        seg = view.segments[k]
        docs.append(seg.docs[d])
        texts.append(seg.text(d))
        a, b = int(seg.doc_ptr[d]), int(seg.doc_ptr[d + 1])
        seg_of.append(np.full(b - a, k))
        row_of.append(np.arange(a, b))
        p = np.asarray(seg.passages[a:b])
        rows.append(np.stack([np.full(b - a, j), p[:, 1], p[:, 2]], axis=1))
    seg_of, row_of = np.concatenate(seg_of), np.concatenate(row_of)
    got = Rows(len(seg_of))
    got.copy(view.segments, seg_of, row_of)
    hashes = np.zeros((len(seg_of), 16), dtype=np.uint8)
    for k in group:
        m = seg_of == k
        hashes[m] = np.asarray(view.segments[k].hashes)[row_of[m]]
    arrays = got.arrays(np.concatenate(rows).astype(np.int64), hashes)
    return docs, texts, arrays, at


def merge(directory: Path, sig: dict[str, Any], root: Path, view: View,
          entries: list[dict[str, Any]], state: dict[str, Any], version: str) -> View | None:
    """Merge what :func:`plan` says and publish the result; None when nothing is merged."""
    groups = plan(view)
    if not groups:
        return None
    live = view.live.copy()
    gone = {k for g in groups for k in g}
    segments: list[Segment] = [s for k, s in enumerate(view.segments) if k not in gone]
    new_entries = [e for k, e in enumerate(entries) if k not in gone]
    remap = np.full(len(view.segments), -1, dtype=np.int64)
    remap[[k for k in range(len(view.segments)) if k not in gone]] = np.arange(len(segments))
    new_seg = live[:, 0].copy()
    new_doc = live[:, 1].copy()
    for group in groups:
        docs, texts, arrays, at = merged(view, group)
        entry = write_segment(directory, docs, texts, arrays)
        del arrays, texts
        new_entries.append(entry)
        segments.append(load_segment(directory, entry, verify=False))
        new_seg[at] = len(segments) - 1
        new_doc[at] = np.arange(len(at))
    keep = ~np.isin(live[:, 0], list(gone))
    new_seg[keep] = remap[live[keep, 0]]
    live = np.stack([new_seg, new_doc], axis=1)
    log.info("merged segments %s into %d", groups, len(groups))
    state = write_state(directory, state, {}, live, [], [],
                        {"files": True, "strings": True, "vocab": True})
    new_view = View(segments, live, view.strings, view.vocab)
    publish(directory, sig, root, new_entries, state,
            {"documents": len(new_view.documents), "passages": len(new_view.passages)},
            version)
    return new_view
