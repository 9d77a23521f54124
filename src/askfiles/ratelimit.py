"""Optional per-client rate limit: ``ASKFILES_RATE_LIMIT`` requests per minute.

It covers every request under ``/api/`` and every question asked through the
page (``/?q=...``, which does the same work as ``/api/ask``).

A token bucket per client address (``REMOTE_ADDR``; ``X-Forwarded-For`` is not
trusted): it holds up to ``rate`` requests and refills at ``rate`` per minute,
so a client may burst up to the limit and then goes at the steady rate. A
request finding the bucket empty gets ``429`` in the JSON error shape with a
``Retry-After`` header (whole seconds until a request is allowed again).

The buckets live in each server process: under gunicorn with N workers a
client may get up to N times the limit in the worst case (connections are
spread across workers). Memory is bounded: at most :data:`MAX_CLIENTS`
buckets, the idlest dropped first. ``0`` (the default) turns it off.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

MAX_CLIENTS = 10_000


class RateLimiter:
    """Token buckets of ``rate`` requests per minute, one per client key."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic):
        self.rate = float(rate)
        self.per_second = self.rate / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}   # key -> (tokens, time)
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """0 when ``key`` may go ahead (and takes a token), else seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.rate, now))
            tokens = min(self.rate, tokens + (now - then) * self.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)       # most recent last
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.per_second
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.pop(next(iter(self._buckets)))  # the least recently seen
            return wait

    def __len__(self) -> int:
        return len(self._buckets)


def limited(path: str, args) -> bool:
    """Whether a request costs a question (or is API work): ``/api/...`` or ``/?q=``."""
    return path.startswith("/api/") or (path == "/" and bool(args.get("q", "").strip()))


def install(app) -> None:
    """Limit ``/api/`` requests and questions of ``app`` when ``rate_limit`` is above 0."""
    from flask import request

    from .errors import error_page, error_response, is_api_path

    rate = int((app.config.get("ASKFILES") or {}).get("rate_limit") or 0)
    if rate <= 0:
        return
    limiter = RateLimiter(rate)
    app.extensions["askfiles.ratelimit"] = limiter

    @app.before_request
    def _rate_limit():
        # A CORS preflight (OPTIONS) asks nothing; limited, the browser would report a
        # CORS failure in place of the readable 429 of the request that follows.
        if request.method == "OPTIONS" or not limited(request.path, request.args):
            return None
        wait = limiter.check(request.remote_addr or "-")
        if wait <= 0:
            return None
        retry = max(1, math.ceil(wait))
        message = (f"Too many requests: the limit is {rate} per minute per client; "
                   f"try again in {retry} s.")
        headers = [("Retry-After", str(retry))]
        if is_api_path(request.path):
            return error_response(429, "too_many_requests", message, headers)
        return error_page(429, "Too Many Requests", message, headers)
