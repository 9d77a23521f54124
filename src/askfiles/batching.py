"""Calls from many threads served in batches: one thread runs a batch while the others queue.

spaCy's fixed cost per call is most of a short question's parse (one question
about 3.8 ms, four at once about 2.0 ms each, the same parses), and the
server's threads used to take turns on one pipeline anyway. Nothing waits for
a batch to fill: a lone call runs at once, and calls that arrive while a batch
runs go together in the next one.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    """One call: its input, and its result or error once its batch has run."""

    __slots__ = ("item", "result", "error", "done", "lead", "ready")

    def __init__(self, item: T):
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False
        self.lead = False       # set when this call is to run the next batch
        self.ready = threading.Event()


class Batcher(Generic[T, R]):
    """``call(item)`` from any thread; ``run(items)`` sees up to ``max_batch`` items at once.

    ``run`` must return one result per item, in order. Batches run one at a
    time, each on the thread of one of its own calls (no extra thread); when
    it is done, the oldest waiting call runs the next batch.
    """

    def __init__(self, run: Callable[[Sequence[T]], Sequence[R]], max_batch: int = 16):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Slot] = []
        self._busy = False
        self.batches = 0         # batches run so far (for tests and metrics)

    def call(self, item: T) -> R:
        slot: _Slot = _Slot(item)
        with self._lock:
            self._waiting.append(slot)
            lead = not self._busy
            self._busy = True
        if not lead:
            slot.ready.wait()
            if not slot.lead:
                return self._outcome(slot)
        self._run_next()
        return self._outcome(slot)

    def _run_next(self) -> None:
        """Run the oldest waiting calls as one batch, then hand over to the next waiting one."""
        with self._lock:
            batch = self._waiting[:self.max_batch]
            del self._waiting[:self.max_batch]
        try:
            results = list(self._run([s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
            for s, r in zip(batch, results):
                s.result = r
        except BaseException as exc:  # every call of the batch sees the error
            for s in batch:
                s.error = exc
        finally:
            with self._lock:
                self.batches += 1
                nxt = self._waiting[0] if self._waiting else None
                if nxt is None:
                    self._busy = False
            for s in batch:
                s.done = True
                s.ready.set()
            if nxt is not None:
                nxt.lead = True
                nxt.ready.set()

    @staticmethod
    def _outcome(slot: _Slot) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]
