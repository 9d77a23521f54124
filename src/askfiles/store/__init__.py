"""The saved index: documents, passages and spaCy annotations kept between runs.

A package of a few modules: :mod:`.tables` (passages and annotations as
NumPy columns), :mod:`.files` (the folder, durable writes, the lock),
:mod:`.layout` (signatures, loading and writing a generation), :mod:`.scan`
(the corpus against its fingerprints), :mod:`.derive` (annotations and BM25
terms of new passages) and :mod:`.build` (:func:`open_corpus`).

Layout of the index folder (default ``<corpus>/.askfiles/``; ``ASKFILES_INDEX_DIR``)::

    manifest.json           written last, atomically: versions + the data files
    gen-<id>/documents.json   id, title, meta of every document
    gen-<id>/texts.txt        the documents' texts, UTF-8, one after another
    gen-<id>/text_offsets.npy byte offset of each document's text in texts.txt
    gen-<id>/files.json       fingerprint of every corpus file (size, mtime, sha256)
    gen-<id>/strings.json     the string table (lemmas, POS, deps, entity labels)
    gen-<id>/*.npy            passages, text hashes, columnar annotations (NumPy,
                              ``allow_pickle=False``; memory-mapped on load)
    gen-<id>/terms.npy        every passage's BM25 terms as ids into bm25/vocab.json
    gen-<id>/bm25/            the BM25 index (:class:`askfiles.sparse.SparseBM25`)
    lock                      serialises builders (several server workers)

Only safe formats are used (JSON and plain NumPy arrays, never pickle). A new
generation is written into a fresh ``gen-*`` folder and the manifest is
replaced last (write, fsync, ``os.replace``), so a crash mid-write leaves the
previous index in use. A damaged or incompatible index is logged as a
warning and rebuilt; it never stops start-up.

Reuse works at two levels. A file whose size and modification time match its
fingerprint is not read again (a file modified within :data:`RACY_NS` of the
fingerprint is hashed once more, as the clock may not have moved). Passages
are keyed by a hash of their text, so only passages whose text is new are
annotated by spaCy, whatever changed around them.

Start-up from an unchanged index tokenizes and annotates nothing: the passages
are a NumPy table (:class:`PassageTable`), the annotations memory-mapped
arrays (:class:`AnnotationTable`), and the BM25 index is loaded as saved
(above ``sparse_threshold`` passages; below it rank-bm25 is rebuilt from the
saved term lists). When documents change, only new passages are tokenized and
the BM25 index is rebuilt from the saved terms of the others.
"""

from __future__ import annotations

# Re-exported: the package's names as they were when it was one module.
# ruff: noqa: F401
from .build import BuildReport, Built, open_corpus
from .derive import (ANNOTATE_CHUNK, PARALLEL_MIN, Progress, _annotate_columns, _bm25_of,
                     _n_process)
from .files import (_file_digest, _fsync_dir, _locked, _tag_cache_dir, _write_bytes,
                    _write_json, _write_npy, index_dir)
from .layout import (BM25_FILES, CHECK_ROWS, FORMAT, VERIFY_MAX_BYTES, VERSION, IndexDamaged,
                     Saved, _load_saved, _max_chars, _save, model_version, signatures)
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
