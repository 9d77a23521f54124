"""Each serving process warms its live engine's index once, and each engine swapped in."""

from __future__ import annotations

import os
import threading

from askfiles import warmup
from askfiles.holder import EngineHolder


class FakeEngine:
    """Records warm-ups and retirement; the real work is tested in test_segments."""

    def __init__(self, name: str):
        self.name = name
        self.warmed = 0
        self.retired = False

    def warm_up(self) -> threading.Thread:
        self.warmed += 1
        t = threading.Thread(target=lambda: None)
        t.start()
        return t

    def retire(self) -> None:
        self.retired = True


def test_a_process_warms_its_engine_once():
    holder = EngineHolder(FakeEngine("v1"))
    assert isinstance(warmup.ensure_warm(holder), threading.Thread)
    assert warmup.ensure_warm(holder) is None        # the second call in this process
    assert holder.engine.warmed == 1


def test_a_swapped_in_engine_is_warmed_and_the_old_one_stops():
    old, new = FakeEngine("v1"), FakeEngine("v2")
    holder = EngineHolder(old)
    warmup.ensure_warm(holder)
    holder.swap(new)
    assert old.retired and not new.retired
    assert (old.warmed, new.warmed) == (1, 1)
    assert holder.listeners.count(warmup._swapped) == 1


def test_a_forked_process_warms_again(monkeypatch):
    holder = EngineHolder(FakeEngine("v1"))
    warmup.ensure_warm(holder)
    monkeypatch.setattr(os, "getpid", lambda: -12345)  # as seen from a forked worker
    assert warmup.ensure_warm(holder) is not None
    assert holder.engine.warmed == 2
    assert holder.listeners.count(warmup._swapped) == 1  # still one listener


def test_the_first_request_warms_the_serving_process(seed_engine):
    from askfiles import create_app

    app = create_app({"engine": seed_engine, "TESTING": True, "poll_seconds": 0})
    holder = app.extensions["askfiles"]
    assert getattr(holder, "_warm_pid", None) is None   # not in a process that may fork
    assert app.test_client().get("/healthz").status_code == 200
    assert holder._warm_pid == os.getpid()
