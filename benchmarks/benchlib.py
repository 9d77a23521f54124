"""Helpers shared by the in-process ``Engine.ask`` benchmarks
(``ask_latency.py``, ``ask_scale.py``, ``store_scale.py``).

The HTTP benchmarks share theirs through ``load.py`` (``soak.py`` loads it).
"""

from __future__ import annotations

import time


def time_asks(engine, questions, top_k: int = 3
              ) -> tuple[list[float], list[float], list[float], list[float]]:
    """Ask each question once; per call, in ms: (ask wall, ask thread CPU, question
    analysis, BM25 retrieval). The last two are measured separately after each ask."""
    ask, cpu, analyse, retrieve = [], [], [], []
    for q in questions:
        c, t = time.thread_time_ns(), time.perf_counter_ns()
        engine.ask(q, top_k)
        ask.append((time.perf_counter_ns() - t) / 1e6)
        cpu.append((time.thread_time_ns() - c) / 1e6)
        t = time.perf_counter_ns()
        parsed = engine.analyse(q)
        analyse.append((time.perf_counter_ns() - t) / 1e6)
        t = time.perf_counter_ns()
        engine.index.search(parsed.terms, engine.config["retrieve_depth"])
        retrieve.append((time.perf_counter_ns() - t) / 1e6)
    return ask, cpu, analyse, retrieve
