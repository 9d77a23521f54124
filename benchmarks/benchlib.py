"""Helpers shared by the in-process ``Engine.ask`` benchmarks
(``ask_latency.py``, ``ask_scale.py``, ``store_scale.py``).

The HTTP benchmarks share theirs through ``load.py`` (``soak.py`` loads it).
"""

from __future__ import annotations

import time


def time_asks(engine, questions, top_k: int = 3
              ) -> tuple[list[float], list[float], list[float], list[float]]:
    """Ask each question once; per call, in ms: (ask wall, ask thread CPU, question
    analysis, BM25 retrieval), the last two timed inside the ask itself.

    Retrieval inside the ask is its first use of the question's terms: at 1M
    passages working out a term's weights the first time a question uses it is
    most of its cost, which a second search of the same terms would not show.
    """
    ask, cpu, analyse, retrieve = [], [], [], []
    spent = {"analyse": 0, "search": 0}

    def timed(name, f):
        def call(*args, **kwargs):
            t = time.perf_counter_ns()
            try:
                return f(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter_ns() - t
        return call

    engine.analyse = timed("analyse", engine.analyse)
    engine.index.search = timed("search", engine.index.search)
    try:
        for q in questions:
            spent.update(analyse=0, search=0)
            c, t = time.thread_time_ns(), time.perf_counter_ns()
            engine.ask(q, top_k)
            ask.append((time.perf_counter_ns() - t) / 1e6)
            cpu.append((time.thread_time_ns() - c) / 1e6)
            analyse.append(spent["analyse"] / 1e6)
            retrieve.append(spent["search"] / 1e6)
    finally:
        del engine.analyse, engine.index.search
    return ask, cpu, analyse, retrieve
