"""The saved index: documents, passages and spaCy annotations kept between runs.

A package of small modules: :mod:`.tables` (passages and annotations as NumPy
columns), :mod:`.files` (the folder, durable writes, the lock), :mod:`.segments`
(one segment's files), :mod:`.view` (the live documents of all segments as one
corpus), :mod:`.search` (BM25 over the segments' postings), :mod:`.layout`
(signatures, the manifest and state files, publishing), :mod:`.scan` (the
corpus against its fingerprints), :mod:`.derive` (new segments: annotation,
terms, postings), :mod:`.merge` (the merge policy) and :mod:`.build`
(:func:`open_corpus`).

Layout of the index folder (default ``<corpus>/.askfiles/``; ``ASKFILES_INDEX_DIR``)::

    manifest.json             written last, atomically: versions, the segments, the state files
    gen-<id>/                 a segment (see :mod:`.segments`): documents.json, texts.txt,
                              passages, text hashes, columnar annotations, BM25 terms
                              and postings (term frequencies); written once, never changed
    gen-<id>-state/files.json   fingerprint of every corpus file (size, mtime, sha256)
    gen-<id>-state/live.npy     the live documents, in corpus order: (segment, local document)
    gen-<id>-state/strings.json the string table (lemmas, POS, deps, entity labels), append-only
    gen-<id>-state/vocab.json   the BM25 vocabulary, append-only
    lock                      serialises builders (several server workers)

Only safe formats are used (JSON and plain NumPy arrays, ``allow_pickle=False``,
never pickle). An update writes one new segment for the added and changed
documents (none when only documents were removed), the state files that
changed into a new folder, and the manifest last (write, fsync,
``os.replace``), so a crash mid-write leaves the previous version in use;
folders the manifest no longer names are removed afterwards. Documents of
older segments that were changed or removed are deleted by leaving them out of
the live list. A damaged or incompatible index is logged as a warning and
rebuilt; it never stops start-up.

A first build writes a segment per :data:`~.derive.SEGMENT_PASSAGES` new
passages and turns annotations into columns :data:`~.derive.ANNOTATE_CHUNK` at a
time, so its memory is bounded by the batch, not by the corpus. After an
update, :mod:`.merge` merges segments of similar size when there are more than
8 and rewrites a segment more than 30% of whose passages are deleted (one more
manifest swap).

BM25 scores come from each segment's postings (term frequencies) and the
statistics of the live passages (their number, each term's document frequency
among them, their average length), worked out at query time in the same
operations as a fresh build's, so they are those of a fresh build of the same
corpus, as are passage numbers (documents in corpus order).

Reuse works at two levels. A file whose size and modification time match its
fingerprint is not read again (a file modified within :data:`RACY_NS` of the
fingerprint is hashed once more, as the clock may not have moved). Passages
are keyed by a hash of their text, so only passages whose text is new are
annotated by spaCy, whatever changed around them. The manifest names the corpus
folder the index was built for; opened for another folder (the corpus moved or
copied with its index), the fingerprints' sizes and times vouch for nothing, so
every file is read and compared by its SHA-256, and the unchanged ones are kept.

Start-up from an unchanged index tokenizes, annotates and hashes nothing: the
arrays are memory-mapped, the documents' texts read from the mapped
``texts.txt`` when a passage is used, and a reader that loads a new version
maps only the segments it does not have yet.
"""

from __future__ import annotations

# Re-exported: the package's names as they were when it was one module.
# ruff: noqa: F401
from .build import BuildReport, Built, open_corpus
from .derive import (ANNOTATE_CHUNK, PARALLEL_MIN, SEGMENT_PASSAGES, Progress,
                     SegmentWriter, _annotate_columns, _n_process)
from .files import (_file_digest, _fsync_dir, _locked, _tag_cache_dir, _write_bytes,
                    _write_json, _write_npy, index_dir)
from .layout import (CHECK_ROWS, FORMAT, VERIFY_MAX_BYTES, VERSION, IndexDamaged, Saved,
                     _load_saved, _max_chars, model_version, publish, signatures)
from .segments import Segment, StoredDocument
from .view import View
from .scan import RACY_NS, _id_of, _sha256_of, corpus_changed, file_changed
from .tables import (RAGGED, AnnotationTable, PassageTable, _compact_strings, _concat,
                     _empty_arrays, _gather, _gather_flat, columns_of, text_hash)

__all__ = ["AnnotationTable", "BuildReport", "Built", "IndexDamaged", "PassageTable",
           "corpus_changed", "file_changed", "index_dir", "model_version", "open_corpus",
           "signatures", "text_hash"]


def __getattr__(name: str):
    # A counter kept by the module that tokenizes (read as store.TOKENIZED).
    if name == "TOKENIZED":
        from . import derive

        return derive.TOKENIZED
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
