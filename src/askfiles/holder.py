"""The engine currently serving; swapped whole when the corpus changes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .engine import Engine


class EngineHolder:
    """Holds the live :class:`Engine`.

    A request reads ``holder.engine`` once and keeps using that object, so a
    swap never changes the engine under a request in flight.
    """

    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._lock = threading.Lock()
        self.listeners: list[Callable[["Engine", "Engine"], None]] = []  # called (old, new)

    @property
    def engine(self) -> "Engine":
        return self._engine

    def swap(self, engine: "Engine") -> "Engine":
        """Replace the live engine; returns the old one."""
        with self._lock:
            old, self._engine = self._engine, engine
        for listener in list(self.listeners):
            listener(old, engine)
        return old
