"""The batcher that lets request threads share one spaCy pipeline (pure: no spaCy)."""

import threading

import pytest

from askfiles.batching import Batcher


def test_a_lone_call_runs_at_once_as_a_batch_of_one():
    seen = []
    b = Batcher(lambda items: seen.append(list(items)) or [x * 2 for x in items])
    assert b.call(21) == 42
    assert seen == [[21]] and b.batches == 1


def test_calls_arriving_during_a_batch_go_together_in_the_next_and_each_gets_its_own_result():
    started, release = threading.Event(), threading.Event()
    batches = []

    def run(items):
        batches.append(list(items))
        if len(batches) == 1:          # hold the first batch until the others queue up
            started.set()
            release.wait(5)
        return [f"<{x}>" for x in items]

    b = Batcher(run, max_batch=3)
    results = {}

    def ask(x):
        results[x] = b.call(x)

    first = threading.Thread(target=ask, args=("a",))
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=ask, args=(x,)) for x in "bcdef"]
    for t in others:
        t.start()
    while len(b._waiting) < 5:        # all five queued behind the running batch
        threading.Event().wait(0.001)
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert results == {x: f"<{x}>" for x in "abcdef"}
    assert batches[0] == ["a"]
    assert sorted(batches[1] + batches[2]) == list("bcdef")
    assert max(len(x) for x in batches) == 3 and b.batches == 3


def test_an_error_reaches_every_call_of_its_batch_and_the_next_batch_still_runs():
    def run(items):
        if "bad" in items:
            raise ValueError("cannot parse")
        return [x.upper() for x in items]

    b = Batcher(run)
    with pytest.raises(ValueError, match="cannot parse"):
        b.call("bad")
    assert b.call("fine") == "FINE"


def test_a_run_that_returns_too_few_results_is_an_error_not_a_mix_up():
    b = Batcher(lambda items: [])
    with pytest.raises(RuntimeError, match="a batch of 1 gave 0 results"):
        b.call("x")


def test_many_threads_each_get_their_own_answer():
    b = Batcher(lambda items: [x + 1 for x in items], max_batch=4)
    out = [None] * 200

    def ask(i):
        out[i] = b.call(i)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert out == [i + 1 for i in range(200)]
    assert b.batches <= 200


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        Batcher(lambda items: items, max_batch=0)
